package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/query"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/backend"
	"github.com/tracerdev/tracer/ui"
)

// parts are the servers a command runs in its process.
type parts struct {
	collector bool // OTLP receivers, WAL, pipeline to storage, retention
	query     bool // the query API (and the UI)
	banner    bool // print where to look once everything listens
	demo      bool // then run the example services and traffic (needs collector and query)
}

// serveCollector serves "tracer collector".
func (m *Main) serveCollector(ctx context.Context, cfg config) error {
	return m.serve(ctx, cfg, parts{collector: true})
}

// serve runs the parts of a server command over one store, one metrics
// registry and one Health (served on the telemetry endpoint) until ctx is
// done or a component fails, then shuts them down within
// cfg.ShutdownTimeout; m.Abort (a second signal) cuts that short, leaving
// what the collector has not written in its WAL. A failed component (a
// receiver or the query server that stopped) makes it return an error, so
// the binary exits non-zero.
func (m *Main) serve(ctx context.Context, cfg config, p parts) error {
	log := newLogger(m.Stderr, cfg.Telemetry)
	if p.collector && p.query && cfg.Sink != collector.SinkStorage {
		return fmt.Errorf("sink %q: all-in-one writes to its own storage; --sink kafka is for \"tracer collector\"", cfg.Sink)
	}
	// toKafka: the collector writes to Kafka and the process opens no
	// storage.
	toKafka := p.collector && cfg.Sink == collector.SinkKafka
	// undo closes what started, in reverse, when a later start fails.
	var undo []func() error
	fail := func(err error) error {
		for i := len(undo) - 1; i >= 0; i-- {
			err = errors.Join(err, undo[i]())
		}
		return err
	}
	reg, health, tel, err := startProcessTelemetry(ctx, cfg.Telemetry.Endpoint, log)
	if err != nil {
		return err
	}
	undo = append(undo, tel.stop)
	var store storage.Store
	if !toKafka {
		if store, err = m.openStoreReporting(ctx, cfg.Storage, health, log); err != nil {
			return fail(err)
		}
		attrs := []any{"type", cfg.Storage.Type, "location", storageLocation(cfg.Storage)}
		if p.collector { // the writer's settings
			attrs = append(attrs, "retention", retentionText(cfg.Storage.Retention), "write_timeout", cfg.Storage.WriteTimeout.String())
		}
		log.Info("storage opened", attrs...)
		undo = append(undo, store.Close)
	}

	var c *collector.Collector
	if p.collector {
		opts := []collector.Option{collector.WithRegisterer(reg), collector.WithHealth(health)}
		if toKafka {
			opts = append(opts, collector.WithSink(collector.SinkKafka, func(set collector.Settings) (collector.Sink, error) {
				return collector.NewKafkaSink(cfg.Kafka, set)
			}))
		}
		if c, err = collector.New(cfg.Config, store, log, opts...); err != nil {
			return fail(err)
		}
		// Not ready until Start has the receivers listening: before it no
		// component had reported, and /ready answered 200, so a probe or a
		// client waiting for it could send to a port nobody listened on.
		health.Set("collector", collector.StatusStarting, nil)
	}
	var api *query.API
	if p.query {
		if api, err = query.New(store, cfg.Query.Config, log, query.WithRegisterer(reg), query.WithUI(uiHandler(cfg.Query.BasePath))); err != nil {
			return fail(err)
		}
	}
	// The API listens before the collector starts (and replays its WAL),
	// so that a taken port fails at once.
	var qs *httpServer
	if api != nil {
		qs, err = serveHTTP(ctx, cfg.Query.Endpoint, api.Handler(), func(err error) { health.Fail("query", err) }, log)
		if err != nil {
			return fail(fmt.Errorf("query api: %w", err))
		}
		undo = append(undo, qs.stop)
		health.Set("query", collector.StatusOK, nil)
		log.Info("query api serving", "addr", qs.addr, "base_path", cfg.Query.BasePath)
	}
	if c != nil {
		if err := c.Start(ctx); err != nil {
			return fail(err)
		}
		health.Set("collector", collector.StatusOK, nil)
	}
	var ret *retention
	if c != nil && store != nil {
		ret = startRetention(ctx, store, cfg.Storage.Retention, retentionInterval(cfg.Storage.Retention), log)
	}
	if p.banner {
		printBanner(m.Stdout, cfg, c, qs, tel)
	}
	var failed error
	var demo *demoRun
	if p.demo && c != nil && qs != nil {
		run := defaultDemoRunners
		if m.demo != nil {
			run = *m.demo
		}
		demo, failed = startDemo(ctx, cfg.Demo, run, dialAddr(c.GRPCAddr()), "http://"+dialAddr(qs.addr)+cfg.Query.BasePath, c.Gatherer(), m.Stdout, log)
		if failed != nil {
			log.Error("the demo did not start: shutting down", "err", failed)
		}
	}
	if m.started != nil && failed == nil {
		m.started(c)
	}

	if failed == nil {
		select {
		case <-ctx.Done():
		case <-health.Failed():
			failed = fmt.Errorf("%s failed: %w", p.name(), health.Err())
			log.Error("a component failed: shutting down", "err", health.Err())
		case <-demo.Failed():
			failed = demo.Err()
			log.Error("the demo failed: shutting down", "err", failed)
		}
	}
	if ret != nil {
		ret.stop()
	}
	what, atOnce := "finishing the requests in flight", "second interrupt: stopping at once"
	if c != nil {
		what, atOnce = "draining the wal into "+cfg.Sink, atOnce+"; what is not written stays in the wal"
	}
	sctx, cancel := m.shutdownContext(ctx, cfg.ShutdownTimeout, log, what, atOnce)
	defer cancel()
	// The demo stops first, while the collector still takes the spans its
	// services flush.
	derr := demo.stop(sctx)
	// The query server and the collector stop side by side: a slow search
	// does not eat the collector's time to drain.
	var qerr error
	var wg sync.WaitGroup
	if qs != nil {
		health.Set("query", collector.StatusStopping, nil)
		wg.Go(func() { qerr = qs.stopWithin(sctx) })
	}
	if c != nil {
		health.Set("collector", collector.StatusStopping, nil)
		err = c.Shutdown(sctx)
	}
	wg.Wait()
	if qerr != nil {
		err = errors.Join(err, fmt.Errorf("stop query api: %w", qerr))
	}
	err = errors.Join(derr, err)
	if terr := tel.stop(); terr != nil {
		err = errors.Join(err, terr)
	}
	if store != nil {
		if cerr := store.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close storage: %w", cerr))
		}
	}
	return errors.Join(failed, err)
}

// startProcessTelemetry makes the process's one metrics registry and one
// Health and serves them on endpoint (see startTelemetry). It runs before
// the storage opens: opening can take minutes (a ClickHouse schema
// migration), and a liveness probe that found no /health would restart the
// process and the migration with it.
func startProcessTelemetry(ctx context.Context, endpoint string, log *slog.Logger) (*prometheus.Registry, *collector.Health, *httpServer, error) {
	reg, err := newRegistry()
	if err != nil {
		return nil, nil, nil, err
	}
	health := collector.NewHealth()
	tel, err := startTelemetry(ctx, endpoint, reg, health, log)
	if err != nil {
		return nil, nil, nil, err
	}
	return reg, health, tel, nil
}

// openStoreReporting opens the storage cfg names (through m.openStore when
// a test sets it) while health shows "storage" as starting: live, not
// ready. It is ok once the store is open.
func (m *Main) openStoreReporting(ctx context.Context, cfg collector.StorageConfig, health *collector.Health, log *slog.Logger) (storage.Store, error) {
	open := m.openStore
	if open == nil {
		open = openStore
	}
	health.Set("storage", collector.StatusStarting, nil)
	store, err := open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	health.Set("storage", collector.StatusOK, nil)
	return store, nil
}

// name names the process in its failure.
func (p parts) name() string {
	switch {
	case p.collector && p.query:
		return "all-in-one"
	case p.query:
		return "query"
	}
	return "collector"
}

// retentionInterval is how often retention runs: a twelfth of the age,
// between a minute and an hour.
func retentionInterval(age time.Duration) time.Duration {
	return min(max(age/12, time.Minute), time.Hour)
}

func newLogger(w io.Writer, cfg collector.TelemetryConfig) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newRegistry returns the process's one registry, with the Go runtime's and
// the process's metrics: the collector's and the query API's join it.
func newRegistry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return reg, nil
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
	return formatDuration(d)
}

// startTelemetry serves the binary's health and metrics on endpoint (none
// when it is empty): GET /health is liveness (503 once a component has
// failed for good: a receiver or the query server stopped, the WAL
// failed), GET /ready is readiness (503 also while storage writes are being
// retried or the process is shutting down), both with a JSON report of
// every component; GET /metrics is the process's one Prometheus registry.
func startTelemetry(ctx context.Context, endpoint string, g prometheus.Gatherer, h *collector.Health, log *slog.Logger) (*httpServer, error) {
	if endpoint == "" {
		return &httpServer{}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.Handle("GET /health", h.LiveHandler())
	mux.Handle("GET /ready", h.ReadyHandler())
	t, err := serveHTTP(ctx, endpoint, mux, nil, log)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	log.Info("telemetry serving /health, /ready and /metrics", "addr", t.addr)
	return t, nil
}

// httpServer is one of the binary's HTTP servers (telemetry, the query
// API). The zero value serves nothing.
type httpServer struct {
	srv  *http.Server
	addr string // the address it listens on
	done chan struct{}
}

// serveHTTP listens on endpoint and serves h until stopped. If the server
// stops by itself, it logs why and calls failed (when not nil).
func serveHTTP(ctx context.Context, endpoint string, h http.Handler, failed func(error), log *slog.Logger) (*httpServer, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", endpoint)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", endpoint, err)
	}
	s := &httpServer{
		// No write timeout: a large trace streams for as long as it takes,
		// within the handler's own deadline.
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute},
		addr: ln.Addr().String(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "addr", s.addr, "err", err)
			if failed != nil {
				failed(err)
			}
		}
	}()
	return s, nil
}

// stop closes the server gracefully within a second and waits for it.
func (s *httpServer) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return s.stopWithin(ctx)
}

// stopWithin closes the server, letting requests in flight finish until ctx
// is done (then it closes their connections), and waits for it.
func (s *httpServer) stopWithin(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	if err != nil {
		return fmt.Errorf("stop http server on %s: %w", s.addr, err)
	}
	return nil
}

// uiHandler is the embedded web UI, or nil (the query API's placeholder
// page) when the binary was built without a UI build.
func uiHandler(basePath string) http.Handler {
	if h, ok := ui.Handler(basePath); ok {
		return h
	}
	return nil
}

// shutdownContext logs that the process is shutting down while it does
// what, and returns the context its shutdown gets: ctx's values, done
// after timeout, or at once on a second interrupt (m.Abort), which logs
// atOnce. Its cancel also waits for the goroutine watching m.Abort.
func (m *Main) shutdownContext(ctx context.Context, timeout time.Duration, log *slog.Logger, what, atOnce string) (context.Context, context.CancelFunc) {
	log.Info("shutting down: "+what+"; a second interrupt stops at once", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-m.Abort:
			log.Warn(atOnce)
			cancel()
		case <-sctx.Done():
		}
	}()
	return sctx, func() { cancel(); <-done }
}
