package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/tracerdev/tracer/collector/otlp"
)

// OTLPReceiver is the OTLP receiver: OTLP/gRPC (TraceService/Export) and
// OTLP/HTTP (POST /v1/traces) on their own listeners, one in-flight memory
// budget for both. It validates each request with otlp.Scan and hands the
// valid spans to an Intake; it acknowledges once the Intake has taken them.
// Like the OpenTelemetry Collector's otlpreceiver it is one component for
// both protocols.
//
// It reports "receiver/grpc" and "receiver/http" to Health: a server that
// stops other than by Shutdown fails its component (Health.Fail).
type OTLPReceiver struct {
	cfg     ReceiversConfig
	lim     LimitsConfig
	scanLim otlp.Limits
	scanFn  func([]byte, otlp.Limits) (otlp.ScanResult, error) // otlp.Scan; tests make it panic
	in      Intake
	log     *slog.Logger
	m       *Metrics
	health  *Health

	inflight  atomic.Int64 // bytes of requests not yet taken by the intake
	closing   atomic.Bool  // intake stopped
	panicOnce sync.Once

	mu      sync.Mutex // guards the fields below
	started bool
	grpcSrv *grpc.Server
	httpSrv *http.Server
	addrs   [2]string       // grpc, http
	lns     [2]net.Listener // grpc, http

	serveWG  sync.WaitGroup
	shutOnce sync.Once
	shutErr  error
}

var _ Component = (*OTLPReceiver)(nil)

// NewOTLPReceiver returns a receiver for cfg (an empty endpoint disables
// that protocol) with limits lim, handing requests to in. It does no I/O.
func NewOTLPReceiver(cfg ReceiversConfig, lim LimitsConfig, in Intake, set Settings) *OTLPReceiver {
	set = set.withDefaults()
	return &OTLPReceiver{cfg: cfg, lim: lim, scanLim: lim.otlp(), scanFn: otlp.Scan, in: in, log: set.Logger, m: set.Metrics, health: set.Health}
}

// Start binds the listeners and serves. On error it closes what it opened.
func (o *OTLPReceiver) Start(ctx context.Context) (err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.started {
		return errors.New("otlp receiver already started")
	}
	if o.closing.Load() {
		return errors.New("otlp receiver shut down")
	}
	var lc net.ListenConfig
	var lns []net.Listener
	defer func() {
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
		}
	}()
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
	grpcLn, err := listen("otlp grpc", o.cfg.GRPC.Endpoint)
	if err != nil {
		return err
	}
	httpLn, err := listen("otlp http", o.cfg.HTTP.Endpoint)
	if err != nil {
		return err
	}
	o.started = true
	if grpcLn != nil {
		o.grpcSrv = o.newGRPCServer()
		o.addrs[0], o.lns[0] = grpcLn.Addr().String(), grpcLn
		o.serve("receiver/grpc", grpcLn, o.grpcSrv.Serve)
	}
	if httpLn != nil {
		o.httpSrv = o.newHTTPServer()
		o.addrs[1], o.lns[1] = httpLn.Addr().String(), httpLn
		o.serve("receiver/http", httpLn, o.httpSrv.Serve)
	}
	return nil
}

func (o *OTLPReceiver) serve(name string, ln net.Listener, serve func(net.Listener) error) {
	o.health.Set(name, StatusOK, nil)
	o.serveWG.Add(1)
	go func() {
		defer o.serveWG.Done()
		err := serve(ln)
		if o.closing.Load() || errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) {
			return
		}
		if err == nil {
			err = errors.New("server returned")
		}
		o.log.Error("receiver stopped", "receiver", name, "err", err)
		o.health.Fail(name, fmt.Errorf("%s stopped: %w", name, err))
	}()
}

// GRPCAddr returns the address the OTLP/gRPC receiver listens on, or "".
func (o *OTLPReceiver) GRPCAddr() string { return o.addr(0) }

// HTTPAddr returns the address the OTLP/HTTP receiver listens on, or "".
func (o *OTLPReceiver) HTTPAddr() string { return o.addr(1) }

func (o *OTLPReceiver) addr(i int) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.addrs[i]
}

// Shutdown stops intake: new requests get a retryable error, requests in
// flight finish until ctx is done, then are cut. It is idempotent and safe
// without Start; later calls return the first call's result.
func (o *OTLPReceiver) Shutdown(ctx context.Context) error {
	o.shutOnce.Do(func() { o.shutErr = o.shutdown(ctx) })
	return o.shutErr
}

func (o *OTLPReceiver) shutdown(ctx context.Context) error {
	o.closing.Store(true)
	o.mu.Lock()
	started := o.started
	o.mu.Unlock()
	if !started {
		return nil
	}
	var errs []error
	if o.grpcSrv != nil {
		o.health.Set("receiver/grpc", StatusStopping, nil)
		done := make(chan struct{})
		go func() { o.grpcSrv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			o.grpcSrv.Stop()
			<-done
		}
	}
	if o.httpSrv != nil {
		o.health.Set("receiver/http", StatusStopping, nil)
		if err := o.httpSrv.Shutdown(ctx); err != nil {
			o.httpSrv.Close()
			errs = append(errs, fmt.Errorf("shutdown http receiver: %w", err))
		}
	}
	o.serveWG.Wait()
	return errors.Join(errs...)
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

func (o *OTLPReceiver) reject(transport string, kind errKind, reason, msg string) *intakeError {
	o.m.requestsRejected.WithLabelValues(transport, reason).Inc()
	if reason == reasonBackpressure {
		o.m.backpressure.WithLabelValues(transport).Inc()
	}
	return &intakeError{kind: kind, reason: reason, msg: msg}
}

// acquire reserves n bytes of the in-flight budget, or reports that it is
// exhausted.
func (o *OTLPReceiver) acquire(n int64) bool {
	if o.inflight.Add(n) > o.lim.MaxInflightBytes {
		o.inflight.Add(-n)
		return false
	}
	o.m.inflightBytes.Add(float64(n))
	return true
}

func (o *OTLPReceiver) release(n int64) {
	o.inflight.Add(-n)
	o.m.inflightBytes.Sub(float64(n))
}

// ingest validates an ExportTraceServiceRequest in protobuf wire form and
// hands its valid spans to the intake. It returns the scan result for the
// partial-success response, or an *intakeError. req is not kept.
func (o *OTLPReceiver) ingest(ctx context.Context, transport string, req []byte) (otlp.ScanResult, error) {
	if o.closing.Load() {
		return otlp.ScanResult{}, o.reject(transport, kindRetryable, reasonShuttingDown, "collector is shutting down")
	}
	res, panicked, err := o.scan(req)
	switch {
	case panicked:
		return res, o.reject(transport, kindMalformed, reasonScannerPanic, "request could not be validated: "+err.Error())
	case errors.Is(err, otlp.ErrTooManySpans):
		return res, o.reject(transport, kindTooLarge, reasonTooLarge, "request too large: "+err.Error())
	case err != nil:
		return res, o.reject(transport, kindMalformed, reasonMalformed, "malformed request: "+err.Error())
	}
	if res.Rejected > 0 {
		for r, n := range res.Rejections {
			if n > 0 {
				o.m.spansRejected.WithLabelValues(transport, otlp.RejectReason(r).String()).Add(float64(n))
			}
		}
	}
	if res.Accepted == 0 {
		return res, nil
	}
	if err := o.in.Consume(ctx, res.Body, res.Accepted); err != nil {
		switch {
		case errors.Is(err, ErrFull):
			return res, o.reject(transport, kindRetryable, reasonBackpressure, "collector buffer is full, retry later")
		case errors.Is(err, ErrTooLarge):
			return res, o.reject(transport, kindTooLarge, reasonTooLarge, "request too large for the collector's buffer")
		case errors.Is(err, ErrStopped):
			return res, o.reject(transport, kindRetryable, reasonShuttingDown, "collector is shutting down")
		default:
			// The intake logs its own failures, once per episode.
			return res, o.reject(transport, kindRetryable, reasonInternalError, "collector could not store the request, retry later")
		}
	}
	o.m.spansReceived.WithLabelValues(transport).Add(float64(res.Accepted))
	return res, nil
}

// scan is otlp.Scan that turns a panic (a scanner bug hit by some input)
// into an error: bad input never crashes the collector. The first panic is
// logged with its stack, every one is counted.
func (o *OTLPReceiver) scan(req []byte) (res otlp.ScanResult, panicked bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			o.m.scannerPanics.Inc()
			o.panicOnce.Do(func() {
				o.log.Error("otlp scanner panicked (a bug): request refused; later panics are only counted in scanner_panics_total",
					"panic", fmt.Sprint(r), "request_bytes", len(req), "stack", string(debug.Stack()))
			})
			res, panicked, err = otlp.ScanResult{}, true, fmt.Errorf("scanner panic: %v", r)
		}
	}()
	res, err = o.scanFn(req, o.scanLim)
	return res, false, err
}
