package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/backend"
)

// serveCollector runs the collector assembled from its parts until ctx is
// done or a component fails, then shuts it down within
// cfg.ShutdownTimeout; m.Abort (a second signal) cuts that short, leaving
// what is not written in the WAL. A failed component (a receiver that
// stopped) makes it return an error, so the binary exits non-zero.
func (m *Main) serveCollector(ctx context.Context, cfg collector.Config) error {
	log := newLogger(m.Stderr, cfg.Telemetry)
	open := m.openStore
	if open == nil {
		open = openStore
	}
	store, err := open(ctx, cfg.Storage, log)
	if err != nil {
		return err
	}
	log.Info("storage opened", "type", cfg.Storage.Type, "location", storageLocation(cfg.Storage),
		"retention", retentionText(cfg.Storage.Retention), "write_timeout", cfg.Storage.WriteTimeout.String())

	// One registry for the process: the collector's metrics and, as the
	// all-in-one grows, the query side's.
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			return errors.Join(fmt.Errorf("register metrics: %w", err), store.Close())
		}
	}
	c, err := collector.New(cfg, store, log, collector.WithRegisterer(reg))
	if err != nil {
		return errors.Join(err, store.Close())
	}
	tel, err := startTelemetry(ctx, cfg.Telemetry.Endpoint, reg, c.Health(), log)
	if err != nil {
		return errors.Join(err, store.Close())
	}
	if err := c.Start(ctx); err != nil {
		return errors.Join(err, tel.stop(), store.Close())
	}
	ret := startRetention(ctx, store, cfg.Storage.Retention, retentionInterval(cfg.Storage.Retention), log)
	if m.started != nil {
		m.started(c)
	}

	var failed error
	select {
	case <-ctx.Done():
	case <-c.Health().Failed():
		failed = fmt.Errorf("collector failed: %w", c.Health().Err())
		log.Error("a component failed: shutting down", "err", c.Health().Err())
	}
	ret.stop()
	log.Info("shutting down: draining the wal into storage; a second interrupt stops at once", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	go func() {
		select {
		case <-m.Abort:
			log.Warn("second interrupt: stopping at once; what is not written stays in the wal")
			cancel()
		case <-sctx.Done():
		}
	}()
	err = c.Shutdown(sctx)
	if terr := tel.stop(); terr != nil {
		err = errors.Join(err, terr)
	}
	if cerr := store.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close storage: %w", cerr))
	}
	return errors.Join(failed, err)
}

// storeOpener opens a storage backend; openStore is the binary's.
type storeOpener func(ctx context.Context, cfg collector.StorageConfig, log *slog.Logger) (storage.Store, error)

// storageLocation says where a backend keeps spans, for the start-up log.
func storageLocation(cfg collector.StorageConfig) string {
	switch cfg.Type {
	case backend.TypeMemory:
		if cfg.Memory.MaxSpans > 0 {
			return "in memory, at most " + strconv.Itoa(cfg.Memory.MaxSpans) + " spans"
		}
		return "in memory (the backend's default cap)"
	case backend.TypeBadger:
		return cfg.Badger.Dir
	case backend.TypeClickHouse:
		return strings.Join(cfg.ClickHouse.Addr, ",") + " database " + cfg.ClickHouse.Database
	}
	return ""
}

func retentionText(d time.Duration) string {
	if d <= 0 {
		return "forever"
	}
	return d.String()
}

// telemetry is the binary's HTTP server for health and metrics:
// GET /health is liveness (503 once a component has failed for good: a
// receiver stopped, the WAL failed), GET /ready is readiness (503 also
// while storage writes are being retried or the collector is shutting
// down), both with a JSON report of every component; GET /metrics is the
// process's one Prometheus registry.
type telemetry struct {
	srv  *http.Server
	done chan struct{}
}

// startTelemetry serves on endpoint; an empty endpoint serves nothing.
func startTelemetry(ctx context.Context, endpoint string, g prometheus.Gatherer, h *collector.Health, log *slog.Logger) (*telemetry, error) {
	t := &telemetry{done: make(chan struct{})}
	if endpoint == "" {
		close(t.done)
		return t, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", endpoint)
	if err != nil {
		return nil, fmt.Errorf("listen telemetry on %s: %w", endpoint, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.Handle("GET /health", h.LiveHandler())
	mux.Handle("GET /ready", h.ReadyHandler())
	t.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(t.done)
		if err := t.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("telemetry server stopped", "err", err)
		}
	}()
	log.Info("telemetry serving /health, /ready and /metrics", "addr", ln.Addr().String())
	return t, nil
}

// stop closes the server within a second and waits for it.
func (t *telemetry) stop() error {
	if t.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := t.srv.Shutdown(ctx)
	if err != nil {
		t.srv.Close()
	}
	<-t.done
	if err != nil {
		return fmt.Errorf("stop telemetry: %w", err)
	}
	return nil
}
