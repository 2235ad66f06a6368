package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func testConfig(t *testing.T) Config {
	t.Helper()
	cfg, err := loadConfig(getenvFrom(serviceEnv("127.0.0.1:1")))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ReadyTimeout = 100 * time.Millisecond
	return cfg
}

func newTestServer(t *testing.T, clients ...client) *httptest.Server {
	t.Helper()
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	srv := httptest.NewServer(newHandler(testConfig(t), logger, newMetrics(), clients))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func fakeClient(name string, probe func(ctx context.Context) error) client {
	return client{name: name, probe: probe, close: func() error { return nil }}
}

func TestHealthz(t *testing.T) {
	srv := newTestServer(t, fakeClient("down", func(context.Context) error { return errors.New("down") }))
	status, body := get(t, srv.URL+"/healthz")
	if status != http.StatusOK || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Fatalf("GET /healthz = %d %s", status, body)
	}
}

func TestIndex(t *testing.T) {
	srv := newTestServer(t)
	status, body := get(t, srv.URL+"/")
	if status != http.StatusOK || !strings.Contains(body, `"service":"`+defaultServiceName+`"`) {
		t.Fatalf("GET / = %d %s", status, body)
	}
	if status, _ := get(t, srv.URL+"/no-such-page"); status != http.StatusNotFound {
		t.Fatalf("GET /no-such-page = %d, want 404", status)
	}
}

func TestReadyz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	refused := func(context.Context) error { return errors.New("connection refused") }
	hangs := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	tests := []struct {
		name    string
		clients []client
		status  int
		checks  map[string]string
	}{
		{"no services", nil, 200, map[string]string{}},
		{"all up", []client{fakeClient("a", ok), fakeClient("b", ok)}, 200, map[string]string{"a": "ok", "b": "ok"}},
		{"one down", []client{fakeClient("a", ok), fakeClient("b", refused)}, 503,
			map[string]string{"a": "ok", "b": "unavailable"}},
		{"timeout", []client{fakeClient("a", hangs)}, 503, map[string]string{"a": "unavailable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, tt.clients...)
			status, body := get(t, srv.URL+"/readyz")
			var got readyResponse
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			wantStatus := map[int]string{200: "ok", 503: "unavailable"}[tt.status]
			if status != tt.status || got.Status != wantStatus || fmt.Sprint(got.Checks) != fmt.Sprint(tt.checks) {
				t.Fatalf("GET /readyz = %d %s", status, body)
			}
			if strings.Contains(body, "refused") || strings.Contains(body, "timeout") {
				t.Fatalf("the reason is for the log, not the body: %s", body)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	srv := newTestServer(t,
		fakeClient("up", func(context.Context) error { return nil }),
		fakeClient("down", func(context.Context) error { return errors.New("down") }))
	get(t, srv.URL+"/healthz")
	get(t, srv.URL+"/readyz")
	get(t, srv.URL+"/missing")
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	body := string(raw)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want the Prometheus text format", ct)
	}
	for _, want := range []string{
		`http_requests_total{method="GET",route="/healthz",status="200"} 1`,
		`http_requests_total{method="GET",route="/readyz",status="503"} 1`,
		`http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`http_request_duration_seconds_bucket{method="GET",route="/healthz",le="+Inf"} 1`,
		`app_dependency_up{service="up"} 1`,
		`app_dependency_up{service="down"} 0`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestRunAndShutdown starts the real server, probes it with -healthcheck's code, then stops it
// the way SIGTERM does.
func TestRunAndShutdown(t *testing.T) {
	port := freePort(t)
	env := serviceEnv("127.0.0.1:1")
	env["PORT"] = fmt.Sprint(port)
	getenv := getenvFrom(env)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, getenv, io.Discard) }()

	deadline := time.Now().Add(5 * time.Second)
	for checkHealth(getenv, "/healthz") != nil {
		if time.Now().After(deadline) {
			t.Fatal("server did not become healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(shutdownTimeout + time.Second):
		t.Fatal("run did not return after shutdown")
	}
	if checkHealth(getenv, "/healthz") == nil {
		t.Fatal("healthcheck passed against a stopped server")
	}
}

// TestConfigErrorsExitWith2: a malformed setting stops start-up with exit status 2 and one JSON
// ECS line, message "invalid configuration", naming the variable; other failures exit 1.
func TestConfigErrorsExitWith2(t *testing.T) {
	env := serviceEnv("127.0.0.1:1")
	env["PORT"] = "http"
	err := run(context.Background(), getenvFrom(env), io.Discard)
	var out strings.Builder
	if code := exitCode(newLogger(&out, Config{ServiceName: "test"}), err); code != 2 {
		t.Fatalf("run with PORT=http: exit %d (error %v), want 2", code, err)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(out.String()), &line); err != nil ||
		field(line, "message") != "invalid configuration" || !strings.Contains(fmt.Sprint(field(line, "error.message")), "PORT") {
		t.Fatalf("logged %q, want one JSON line naming PORT", out.String())
	}
	if code := exitCode(slog.New(slog.NewJSONHandler(io.Discard, nil)), errors.New("listen: in use")); code != 1 {
		t.Fatalf("a runtime failure exits %d, want 1", code)
	}
}

// TestLogsAreECS: one JSON object per line in the Elastic Common Schema, the level in lower case.
func TestLogsAreECS(t *testing.T) {
	var out bytes.Buffer
	logger := newLogger(&out, Config{ServiceName: "svc", Version: "1.2.3", LogLevel: slog.LevelInfo})
	logger.Warn("hello", errorAttr(errors.New("boom")))
	logger.Debug("below the level")
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("logged %q: %v", out.String(), err)
	}
	stamp, _ := line["@timestamp"].(string)
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", stamp); err != nil {
		t.Fatalf("@timestamp %q is not UTC with milliseconds", stamp)
	}
	delete(line, "@timestamp")
	want := map[string]any{
		"log.level":   "warn",
		"message":     "hello",
		"ecs.version": ecsVersion,
		"service":     map[string]any{"name": "svc", "version": "1.2.3"},
		"error":       map[string]any{"message": "boom"},
	}
	if !reflect.DeepEqual(line, want) {
		t.Fatalf("logged %v, want %v", line, want)
	}
}

// field reads an ECS field by its dotted name from a decoded log line, dotted or nested.
func field(line map[string]any, name string) any {
	if value, found := line[name]; found {
		return value
	}
	prefix, rest, found := strings.Cut(name, ".")
	if inner, ok := line[prefix].(map[string]any); ok && found {
		return field(inner, rest)
	}
	return nil
}
