package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/tracerdev/tracer/collector/otlp"
	"github.com/tracerdev/tracer/wal"
	"github.com/tracerdev/tracer/storage"
)

// Collector receives OTLP traces, keeps them in a WAL and writes them to a
// storage.Writer. Build it with New, then Start and Shutdown it.
type Collector struct {
	cfg    Config
	lim    otlp.Limits
	writer storage.Writer
	log    *slog.Logger
	m      *metrics

	inflight atomic.Int64 // bytes of requests not yet in the WAL
	closing  atomic.Bool  // intake stopped

	mu      sync.Mutex // guards the fields below, set by Start
	started bool
	wal     *wal.WAL
	grpcSrv *grpc.Server
	httpSrv *http.Server
	telSrv  *http.Server
	addrs   [3]string // grpc, http, telemetry listen addresses

	serveWG  sync.WaitGroup // Serve goroutines
	stopRead context.CancelFunc
	stopPipe context.CancelFunc
	draining atomic.Bool
	pipeDone chan struct{}
	shutOnce sync.Once
	shutErr  error
}

// New returns a Collector for a valid cfg that writes to w. It does no I/O;
// Start opens the WAL and binds the listeners. A nil logger means
// slog.Default().
func New(cfg Config, w storage.Writer, logger *slog.Logger) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	if w == nil {
		return nil, errors.New("nil storage writer")
	}
	if logger == nil {
		logger = slog.Default()
	}
	c := &Collector{
		cfg:    cfg,
		writer: w,
		log:    logger,
		lim: otlp.Limits{
			MaxSpans:             cfg.Limits.MaxSpansPerRequest,
			MaxAttributes:        cfg.Limits.MaxAttributes,
			MaxAttributeValueLen: cfg.Limits.MaxAttributeValueLen,
			MaxNameLen:           cfg.Limits.MaxNameLen,
		},
	}
	m, err := newMetrics(c.walStats, c.walCommitted)
	if err != nil {
		return nil, err
	}
	c.m = m
	return c, nil
}

func (c *Collector) currentWAL() *wal.WAL {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wal
}

func (c *Collector) walStats() wal.Stats {
	if w := c.currentWAL(); w != nil {
		return w.Stats()
	}
	return wal.Stats{}
}

func (c *Collector) walCommitted() wal.Offset {
	if w := c.currentWAL(); w != nil {
		return w.Committed()
	}
	return 0
}

// Start opens the WAL, binds the receivers and the telemetry endpoint, and
// starts the pipeline, which first replays what the WAL holds beyond its last
// commit. On error, whatever it opened is closed again.
func (c *Collector) Start(ctx context.Context) (err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("collector already started")
	}
	if c.closing.Load() {
		return errors.New("collector shut down")
	}

	sync := wal.SyncBatch
	if c.cfg.WAL.Sync == "interval" {
		sync = wal.SyncInterval
	}
	w, err := wal.Open(c.cfg.WAL.Dir, wal.Options{
		SegmentSize:  c.cfg.WAL.SegmentSize,
		MaxBytes:     c.cfg.WAL.MaxBytes,
		Sync:         sync,
		SyncInterval: c.cfg.WAL.SyncInterval,
		Logger:       c.log.With("component", "wal"),
	})
	if err != nil {
		return fmt.Errorf("open wal: %w", err)
	}
	var lns []net.Listener
	defer func() {
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
			w.Close()
		}
	}()
	var lc net.ListenConfig
	listen := func(name, ep string) (net.Listener, error) {
		if ep == "" {
			return nil, nil
		}
		ln, err := lc.Listen(ctx, "tcp", ep)
		if err != nil {
			return nil, fmt.Errorf("listen %s on %s: %w", name, ep, err)
		}
		lns = append(lns, ln)
		return ln, nil
	}
	grpcLn, err := listen("otlp grpc", c.cfg.Receivers.GRPC.Endpoint)
	if err != nil {
		return err
	}
	httpLn, err := listen("otlp http", c.cfg.Receivers.HTTP.Endpoint)
	if err != nil {
		return err
	}
	telLn, err := listen("telemetry", c.cfg.Telemetry.Endpoint)
	if err != nil {
		return err
	}

	c.wal = w
	c.started = true
	if grpcLn != nil {
		c.grpcSrv = c.newGRPCServer()
		c.addrs[0] = grpcLn.Addr().String()
		c.serve("otlp grpc", grpcLn, func(ln net.Listener) error { return c.grpcSrv.Serve(ln) })
	}
	if httpLn != nil {
		c.httpSrv = c.newHTTPServer()
		c.addrs[1] = httpLn.Addr().String()
		c.serve("otlp http", httpLn, c.httpSrv.Serve)
	}
	if telLn != nil {
		c.telSrv = c.newTelemetryServer()
		c.addrs[2] = telLn.Addr().String()
		c.serve("telemetry", telLn, c.telSrv.Serve)
	}

	pipeCtx, stopPipe := context.WithCancel(context.WithoutCancel(ctx))
	readCtx, stopRead := context.WithCancel(pipeCtx)
	c.stopPipe, c.stopRead = stopPipe, stopRead
	c.pipeDone = make(chan struct{})
	go func() {
		defer close(c.pipeDone)
		c.runPipeline(pipeCtx, readCtx, w)
	}()
	c.log.Info("collector started",
		"grpc", c.addrs[0], "http", c.addrs[1], "telemetry", c.addrs[2],
		"wal_dir", c.cfg.WAL.Dir, "wal_committed", w.Committed())
	return nil
}

func (c *Collector) serve(name string, ln net.Listener, serve func(net.Listener) error) {
	c.serveWG.Add(1)
	go func() {
		defer c.serveWG.Done()
		if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
			c.log.Error("server stopped", "server", name, "err", err)
		}
	}()
}

// GRPCAddr returns the address the OTLP/gRPC receiver listens on, or "".
func (c *Collector) GRPCAddr() string { return c.addr(0) }

// HTTPAddr returns the address the OTLP/HTTP receiver listens on, or "".
func (c *Collector) HTTPAddr() string { return c.addr(1) }

// TelemetryAddr returns the address of /health and /metrics, or "".
func (c *Collector) TelemetryAddr() string { return c.addr(2) }

func (c *Collector) addr(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addrs[i]
}

// Shutdown stops intake (new requests get a retryable error, requests in
// flight finish), writes what the WAL holds until ctx's deadline, then
// closes the WAL: what was not written stays there for the next start.
// It is idempotent and safe without Start; later calls return the first
// call's result.
func (c *Collector) Shutdown(ctx context.Context) error {
	c.shutOnce.Do(func() { c.shutErr = c.shutdown(ctx) })
	return c.shutErr
}

func (c *Collector) shutdown(ctx context.Context) error {
	c.closing.Store(true)
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		return nil
	}
	var errs []error

	// 1. Stop intake and wait for the requests in flight.
	if c.grpcSrv != nil {
		done := make(chan struct{})
		go func() { c.grpcSrv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			c.grpcSrv.Stop()
			<-done
		}
	}
	if c.httpSrv != nil {
		if err := c.httpSrv.Shutdown(ctx); err != nil {
			c.httpSrv.Close()
			errs = append(errs, fmt.Errorf("shutdown http receiver: %w", err))
		}
	}

	// 2. Drain the WAL into storage until ctx is done.
	c.draining.Store(true)
	c.stopRead()
	select {
	case <-c.pipeDone:
	case <-ctx.Done():
		c.stopPipe()
		<-c.pipeDone
		errs = append(errs, fmt.Errorf("drain: %w (the rest stays in the wal)", ctx.Err()))
	}
	c.stopPipe()

	// 3. Close the WAL, then the telemetry endpoint.
	if err := c.wal.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close wal: %w", err))
	}
	if c.telSrv != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		if err := c.telSrv.Shutdown(sctx); err != nil {
			c.telSrv.Close()
		}
		cancel()
	}
	c.serveWG.Wait()
	c.log.Info("collector stopped", "wal_committed", c.wal.Committed())
	return errors.Join(errs...)
}

func (c *Collector) newTelemetryServer() *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if c.closing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"shutting down"}` + "\n"))
			return
		}
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}

// intakeError is a request refused as a whole; transports map kind to their
// status codes.
type intakeError struct {
	kind   errKind
	reason string // metrics label
	msg    string
}

type errKind int

const (
	kindMalformed errKind = iota + 1 // InvalidArgument, 400
	kindTooLarge                     // ResourceExhausted without retry info, 413
	kindMediaType                    // 415
	kindRetryable                    // Unavailable with RetryInfo, 503 with Retry-After
)

func (e *intakeError) Error() string { return e.msg }

func (c *Collector) reject(transport string, kind errKind, reason, msg string) *intakeError {
	c.m.requestsRejected.WithLabelValues(transport, reason).Inc()
	if reason == reasonBackpressure {
		c.m.backpressure.WithLabelValues(transport).Inc()
	}
	return &intakeError{kind: kind, reason: reason, msg: msg}
}

// acquire reserves n bytes of the in-flight budget, or reports that it is
// exhausted.
func (c *Collector) acquire(n int64) bool {
	if c.inflight.Add(n) > c.cfg.Limits.MaxInflightBytes {
		c.inflight.Add(-n)
		return false
	}
	c.m.inflightBytes.Add(float64(n))
	return true
}

func (c *Collector) release(n int64) {
	c.inflight.Add(-n)
	c.m.inflightBytes.Sub(float64(n))
}

// ingest validates an ExportTraceServiceRequest in protobuf wire form and
// appends its valid spans to the WAL. It returns the scan result for the
// partial-success response, or an *intakeError. req is not kept.
func (c *Collector) ingest(ctx context.Context, transport string, req []byte) (otlp.ScanResult, error) {
	if c.closing.Load() {
		return otlp.ScanResult{}, c.reject(transport, kindRetryable, reasonShuttingDown, "collector is shutting down")
	}
	res, err := safeScan(req, c.lim)
	if err != nil {
		return res, c.reject(transport, kindMalformed, reasonMalformed, "malformed request: "+err.Error())
	}
	if res.Rejected > 0 {
		c.m.spansRejected.WithLabelValues(transport, reasonInvalidSpan).Add(float64(res.Rejected))
	}
	if res.Accepted == 0 {
		return res, nil
	}
	if _, err := c.wal.Append(ctx, res.Body); err != nil {
		switch {
		case errors.Is(err, wal.ErrFull):
			return res, c.reject(transport, kindRetryable, reasonBackpressure, "collector buffer is full, retry later")
		case errors.Is(err, wal.ErrTooLarge):
			return res, c.reject(transport, kindTooLarge, reasonTooLarge, "request too large for the collector's buffer")
		case errors.Is(err, wal.ErrClosed):
			return res, c.reject(transport, kindRetryable, reasonShuttingDown, "collector is shutting down")
		case ctx.Err() != nil:
			return res, c.reject(transport, kindRetryable, reasonInternalError, "request cancelled: "+ctx.Err().Error())
		default:
			c.log.Error("wal append failed", "err", err)
			return res, c.reject(transport, kindRetryable, reasonInternalError, "collector could not store the request, retry later")
		}
	}
	c.m.spansReceived.WithLabelValues(transport).Add(float64(res.Accepted))
	return res, nil
}

// Gatherer returns the collector's own metrics registry (served on
// /metrics), for a process that embeds the collector and serves metrics
// itself.
func (c *Collector) Gatherer() prometheus.Gatherer { return c.m.reg }

// safeScan is otlp.Scan that turns a panic (a scanner bug hit by some input)
// into a malformed-request error: bad input never crashes the collector.
func safeScan(req []byte, lim otlp.Limits) (res otlp.ScanResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = otlp.ScanResult{}, fmt.Errorf("scanner panic: %v", r)
		}
	}()
	return otlp.Scan(req, lim)
}
