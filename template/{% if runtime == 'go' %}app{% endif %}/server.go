package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// probePaths are logged at debug level (and get no trace span): orchestrators call them every few
// seconds.
var probePaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// newHandler routes the service's endpoints and wraps them with request metrics and logs.
func newHandler(cfg Config, logger *slog.Logger, m *metrics, clients []client) http.Handler {
	mux := http.NewServeMux()
	// Any path no route matches: a 404 problem (the route label "unmatched").
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"service": cfg.ServiceName, "version": cfg.Version})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /readyz", readyHandler(cfg.ReadyTimeout, clients, m, logger))
	mux.Handle("GET /metrics", m.handler())
	for _, c := range clients {
		for pattern, handler := range c.routes {
			method, path, _ := strings.Cut(pattern, " ")
			mux.Handle(method+" /api/"+c.name+path, handler)
		}
	}
	return instrument(mux, m, logger)
}

// readyResponse is the /readyz body: "ok" or "unavailable" per data service (why goes to the log:
// a driver's error names hosts and ports).
type readyResponse struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// readyHandler probes every data service at once, each bounded by timeout; 503 if any fails.
func readyHandler(timeout time.Duration, clients []client, m *metrics, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		results := make(map[string]string, len(clients))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				result := probe(r.Context(), c, timeout)
				mu.Lock()
				results[c.name] = result
				mu.Unlock()
			}()
		}
		wg.Wait()

		body := readyResponse{Status: "ok", Checks: make(map[string]string, len(results))}
		failed := make(map[string]string)
		for name, result := range results {
			up := 1.0
			body.Checks[name] = "ok"
			if result != "ok" {
				up = 0
				body.Status = "unavailable"
				body.Checks[name] = "unavailable"
				failed[name] = result
			}
			m.dependencyUp.WithLabelValues(name).Set(up)
		}
		if body.Status != "ok" {
			logger.WarnContext(r.Context(), "not ready", "checks", failed)
			writeJSON(w, http.StatusServiceUnavailable, body)
			return
		}
		writeJSON(w, http.StatusOK, body)
	})
}

// probe runs one readiness check and returns "ok" or the reason it failed.
func probe(parent context.Context, c client, timeout time.Duration) string {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	// in waitFor: a client call that ignores its context still ends the probe within the timeout
	err := waitFor(ctx, func() error { return c.probe(ctx) })
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("timeout after %s", timeout)
	default:
		return err.Error()
	}
}

// problem is an RFC 9457 problem details body: the answer to every failed request.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// writeProblem answers status with a problem; detail never carries a driver's error.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// instrument counts and times every request by route pattern (never by raw path: bounded
// label values), and logs it.
func instrument(next *http.ServeMux, m *metrics, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		serveRecovering(next, rec, r, logger)
		elapsed := time.Since(start)

		route := routeLabel(r.Pattern) // set by the ServeMux once it has matched a route
		m.requests.WithLabelValues(r.Method, route, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(r.Method, route).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if probePaths[route] {
			level = slog.LevelDebug
		}
		logger.Log(r.Context(), level, "request",
			slog.Group("http",
				slog.Group("request", "method", r.Method),
				slog.Group("response", "status_code", rec.status)),
			slog.Group("url", "path", r.URL.Path),
			slog.Group("event", "duration", elapsed.Nanoseconds())) // ECS: nanoseconds
	})
}

// serveRecovering runs the handler. A panic is an unexpected error: logged with its stack,
// answered with a 500 problem, and counted like any other request.
func serveRecovering(next http.Handler, w *statusRecorder, r *http.Request, logger *slog.Logger) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if p == http.ErrAbortHandler { // net/http's own way to abort a response: let it through
			panic(p)
		}
		logger.ErrorContext(r.Context(), "unhandled error",
			slog.Group("error", "message", fmt.Sprint(p), "stack_trace", string(debug.Stack())))
		writeProblem(w, http.StatusInternalServerError, "")
	}()
	next.ServeHTTP(w, r)
}

// routeLabel turns a ServeMux pattern ("GET /healthz") into a metric label ("/healthz").
func routeLabel(pattern string) string {
	if pattern == "" || pattern == "/" {
		return "unmatched"
	}
	if _, path, found := strings.Cut(pattern, " "); found {
		pattern = path
	}
	return strings.TrimSuffix(pattern, "{$}")
}
