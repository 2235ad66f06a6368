// Command app is the service's HTTP server: /healthz, /readyz, /metrics and JSON logs on stdout.
//
// Configuration comes only from environment variables (see config.go). Run with -healthcheck to
// probe a running instance, as the container image's HEALTHCHECK does.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// shutdownTimeout bounds how long in-flight requests may finish once SIGTERM arrives.
const shutdownTimeout = 10 * time.Second

func main() {
	healthcheck := flag.Bool("healthcheck", false, "GET /healthz on the local server; exit 0 when it answers 200")
	flag.Parse()
	if *healthcheck {
		if err := checkHealth(os.Getenv); err != nil {
			fmt.Fprintln(os.Stderr, "healthcheck:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		slog.New(slog.NewJSONHandler(os.Stdout, nil)).Error("exit", "error", err.Error())
		stop()
		os.Exit(1)
	}
}

// run serves until ctx is cancelled (SIGTERM), then drains in-flight requests and closes clients.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(stdout, cfg)
	slog.SetDefault(logger)

	clients, err := openDependencies(cfg)
	if err != nil {
		return err
	}
	defer closeAll(logger, clients)

	listener, err := net.Listen("tcp", fmt.Sprintf(":%d", cfg.Port))
	if err != nil {
		return err
	}
	server := &http.Server{
		Handler:           newHandler(cfg, logger, newMetrics(), clients),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()
	logger.Info("started", "port", cfg.Port, "checks", checkNames(clients), "description", description)

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", shutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// checkHealth asks the server on this machine for /healthz (a distroless image has no curl).
func checkHealth(getenv func(string) string) error {
	port, err := portFromEnv(getenv)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /healthz: %s", resp.Status)
	}
	return nil
}
