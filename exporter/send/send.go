package send

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Protocol is an endpoint's OTLP transport.
type Protocol string

// The OTLP transports, named as OTEL_EXPORTER_OTLP_PROTOCOL names them.
const (
	GRPC         Protocol = "grpc"
	HTTPProtobuf Protocol = "http/protobuf"
)

// Endpoint is one OTLP destination.
type Endpoint struct {
	// Address is host:port for GRPC (4317), or the URL of the traces
	// route for HTTPProtobuf ("http://host:4318/v1/traces"; a URL without a
	// path gets /v1/traces, a host:port without a scheme gets http:// when
	// Insecure and https:// otherwise).
	Address  string
	Protocol Protocol
	// Insecure uses plain text (gRPC) instead of TLS; an http:// URL is
	// plain text anyway.
	Insecure bool
	// TLS is the client TLS configuration; nil means the system's roots.
	TLS *tls.Config
	// Headers are sent with every request (gRPC metadata or HTTP headers).
	Headers map[string]string
	// Compression is "gzip" or "" (none).
	Compression string
}

// RetryConfig is the backoff between attempts of one Send.
type RetryConfig struct {
	InitialInterval time.Duration // default 100ms
	MaxInterval     time.Duration // default 5s
	Multiplier      float64       // default 2
	// MaxElapsed bounds one Send's attempts; 0 means until its ctx is
	// done.
	MaxElapsed time.Duration
}

// BreakerConfig configures each endpoint's circuit breaker.
type BreakerConfig struct {
	// Failures is how many consecutive retryable failures open it;
	// default 3.
	Failures int
	// OpenFor is how long it stays open before a half-open probe;
	// default 5s.
	OpenFor time.Duration
}

// Config configures a Sender. Zero fields take defaults.
type Config struct {
	// Endpoints in failover order: the first healthy one gets the traffic,
	// and traffic fails back to an earlier one when its breaker closes.
	Endpoints []Endpoint
	// Spread sends each request to the next healthy endpoint in turn
	// instead of the first healthy one.
	Spread bool
	// Timeout bounds one attempt; default 10s.
	Timeout time.Duration
	Retry   RetryConfig
	Breaker BreakerConfig
	// MeterProvider gets the sender's metrics (see the package doc); nil:
	// the global one.
	MeterProvider metric.MeterProvider
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// The defaults of zero Config fields.
const (
	DefaultTimeout         = 10 * time.Second
	DefaultInitialInterval = 100 * time.Millisecond
	DefaultMaxInterval     = 5 * time.Second
	DefaultMultiplier      = 2
	DefaultFailures        = 3
	DefaultOpenFor         = 5 * time.Second
)

func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Retry.InitialInterval == 0 {
		c.Retry.InitialInterval = DefaultInitialInterval
	}
	if c.Retry.MaxInterval == 0 {
		c.Retry.MaxInterval = max(DefaultMaxInterval, c.Retry.InitialInterval)
	}
	if c.Retry.Multiplier == 0 {
		c.Retry.Multiplier = DefaultMultiplier
	}
	if c.Breaker.Failures == 0 {
		c.Breaker.Failures = DefaultFailures
	}
	if c.Breaker.OpenFor == 0 {
		c.Breaker.OpenFor = DefaultOpenFor
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every problem of c (after defaults) in one error.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if len(c.Endpoints) == 0 {
		errs = append(errs, errors.New("no endpoints: give at least one OTLP endpoint"))
	}
	seen := make(map[string]bool)
	for i, ep := range c.Endpoints {
		if err := ep.validate(); err != nil {
			errs = append(errs, fmt.Errorf("endpoint %d (%q): %w", i, ep.Address, err))
		}
		if seen[ep.Address] {
			errs = append(errs, fmt.Errorf("endpoint %d: %q is listed twice", i, ep.Address))
		}
		seen[ep.Address] = true
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v is negative", c.Timeout))
	}
	if c.Retry.InitialInterval < 0 || c.Retry.MaxInterval < 0 || c.Retry.MaxElapsed < 0 {
		errs = append(errs, errors.New("retry intervals must not be negative"))
	}
	if c.Retry.MaxInterval < c.Retry.InitialInterval {
		errs = append(errs, fmt.Errorf("retry max interval %v is below the initial interval %v", c.Retry.MaxInterval, c.Retry.InitialInterval))
	}
	if c.Retry.Multiplier < 1 {
		errs = append(errs, fmt.Errorf("retry multiplier %v is below 1", c.Retry.Multiplier))
	}
	if c.Breaker.Failures < 1 {
		errs = append(errs, fmt.Errorf("breaker failures %d: must be at least 1", c.Breaker.Failures))
	}
	if c.Breaker.OpenFor < 0 {
		errs = append(errs, fmt.Errorf("breaker open-for %v is negative", c.Breaker.OpenFor))
	}
	return errors.Join(errs...)
}

func (ep Endpoint) validate() error {
	if ep.Address == "" {
		return errors.New("empty address")
	}
	switch ep.Compression {
	case "", "gzip", "none":
	default:
		return fmt.Errorf("compression %q: use \"gzip\" or \"\"", ep.Compression)
	}
	switch ep.Protocol {
	case GRPC:
		if strings.Contains(ep.Address, "://") {
			return errors.New("a gRPC address is host:port, without a scheme")
		}
	case HTTPProtobuf:
		if _, err := ep.traceURL(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("protocol %q: use %q or %q", ep.Protocol, GRPC, HTTPProtobuf)
	}
	return nil
}

// traceURL is the URL an HTTP endpoint's requests are posted to.
func (ep Endpoint) traceURL() (string, error) {
	a := ep.Address
	if !strings.Contains(a, "://") {
		if ep.Insecure {
			a = "http://" + a
		} else {
			a = "https://" + a
		}
	}
	u, err := url.Parse(a)
	if err != nil {
		return "", fmt.Errorf("parse URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("URL scheme %q: use http or https", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("URL without a host")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// Result is what an accepted request's answer said.
type Result struct {
	// Endpoint is the Address that accepted the request.
	Endpoint string
	// Rejected is the partial success's rejected_spans, with its message.
	Rejected int64
	Message  string
	// Attempts is how many attempts the Send made, this one included.
	Attempts int
}

// PermanentError is an answer that retrying cannot change (InvalidArgument,
// HTTP 400...): the request's spans are lost and counted.
type PermanentError struct {
	Endpoint string
	Err      error
}

func (e *PermanentError) Error() string {
	return "permanent export error from " + e.Endpoint + ": " + e.Err.Error()
}
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err (from Send) is a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// maxServerDelay caps a server's retry delay (a Retry-After of years would
// overflow the clock); MaxElapsed or ctx usually ends a Send well before.
const maxServerDelay = 24 * time.Hour

// ErrClosed is Send's error after Close.
var ErrClosed = errors.New("send: sender is closed")

// ErrAllOpen is wrapped in Send's error when it gave up without one attempt
// because every endpoint's breaker stayed open.
var ErrAllOpen = errors.New("every endpoint's circuit breaker is open")

// retryableError is a failed attempt worth retrying; delay is the server's
// retry delay (RetryInfo, Retry-After), 0 when it gave none.
type retryableError struct {
	err   error
	delay time.Duration
}

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// transport sends one attempt. Its errors are *retryableError, or any other
// error for a permanent one; a nil error comes with the partial success.
type transport interface {
	export(ctx context.Context, body []byte, probe bool) (rejected int64, msg string, err error)
	close() error
}

// endpoint is one Endpoint's state.
type endpoint struct {
	cfg     Endpoint
	br      *breaker
	mu      sync.Mutex // guards t
	t       transport
	waitTil atomic.Int64 // unix nanoseconds before which a server asked not to retry
	m       endpointMetrics
}

// clock is time for the sender; tests replace it.
type clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx or done is done (returning false), or
	// until wake is closed.
	Sleep(ctx context.Context, d time.Duration, done, wake <-chan struct{}) bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration, done, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-wake:
		return true
	case <-ctx.Done():
		return false
	case <-done:
		return false
	}
}

// Sender sends requests to its endpoints. It is safe for concurrent use.
type Sender struct {
	cfg   Config
	eps   []*endpoint
	clk   clock
	log   *slog.Logger
	m     *metrics
	rr    atomic.Uint64 // Spread's turn
	newT  func(Endpoint, Config) (transport, error)
	randN func(int64) int64

	notifyMu sync.Mutex
	notify   chan struct{} // closed and replaced when a breaker closes or a probe ends

	closeOnce sync.Once
	done      chan struct{}
	closeErr  error
}

// New returns a Sender for cfg. It does not connect: connections are made
// on first use and remade as needed.
func New(cfg Config) (*Sender, error) {
	return newSender(cfg, realClock{})
}

func newSender(cfg Config, clk clock) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("send: invalid config: %w", err)
	}
	cfg = cfg.withDefaults()
	cfg.Endpoints = append([]Endpoint(nil), cfg.Endpoints...)
	s := &Sender{
		cfg:    cfg,
		clk:    clk,
		log:    cfg.Logger,
		newT:   newTransport,
		randN:  rand.Int64N,
		notify: make(chan struct{}),
		done:   make(chan struct{}),
	}
	for _, e := range cfg.Endpoints {
		e.Headers = copyMap(e.Headers)
		ep := &endpoint{cfg: e}
		ep.br = newBreaker(cfg.Breaker, clk.Now, func(from, to state) { s.transition(ep, from, to) })
		s.eps = append(s.eps, ep)
	}
	m, err := newMetrics(cfg.MeterProvider, s.eps)
	if err != nil {
		return nil, fmt.Errorf("send: metrics: %w", err)
	}
	s.m = m
	return s, nil
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func newTransport(ep Endpoint, cfg Config) (transport, error) {
	if ep.Protocol == GRPC {
		return newGRPCTransport(ep, cfg)
	}
	return newHTTPTransport(ep, cfg)
}

// transition logs a breaker's change of state and wakes the Sends waiting
// for an endpoint.
func (s *Sender) transition(ep *endpoint, from, to state) {
	switch to {
	case stateOpen:
		s.log.Warn("send: endpoint's circuit breaker opened", "endpoint", ep.cfg.Address, "from", from.String(), "open_for", s.cfg.Breaker.OpenFor)
	case stateClosed:
		s.log.Info("send: endpoint's circuit breaker closed", "endpoint", ep.cfg.Address)
	}
	if to == stateClosed || from == stateHalfOpen {
		s.notifyMu.Lock()
		close(s.notify)
		s.notify = make(chan struct{})
		s.notifyMu.Unlock()
	}
}

func (s *Sender) wake() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return s.notify
}

// transport returns ep's transport, making it on first use.
func (s *Sender) transport(ep *endpoint) (transport, error) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.t != nil {
		return ep.t, nil
	}
	select {
	case <-s.done:
		return nil, ErrClosed
	default:
	}
	t, err := s.newT(ep.cfg, s.cfg)
	if err != nil {
		return nil, err
	}
	ep.t = t
	return t, nil
}

// Send sends body, an ExportTraceServiceRequest in protobuf wire form
// holding spans spans, as it is. It tries endpoints in order (or spread)
// past open breakers, retrying retryable failures with backoff until one
// accepts it, ctx is done or Retry.MaxElapsed has passed. It returns the
// accepting endpoint's Result, a *PermanentError, or the last retryable
// error. Send does not keep body after it returns.
func (s *Sender) Send(ctx context.Context, body []byte, spans int) (Result, error) {
	spans = max(spans, 0)
	if s.isClosed() {
		return Result{}, ErrClosed
	}
	start := s.clk.Now()
	var (
		lastErr  error
		attempts int
		rounds   int // rounds that made an attempt, for the backoff
	)
	n := len(s.eps)
	for {
		first := 0
		if s.cfg.Spread {
			first = s.spreadFirst()
		}
		tried := false
		for i := range n {
			ep := s.eps[(first+i)%n]
			now := s.clk.Now()
			if ep.waitTil.Load() > now.UnixNano() {
				continue
			}
			probe, ok := ep.br.allow()
			if !ok {
				continue
			}
			if attempts > 0 {
				s.m.retries.Add(ctx, 1, ep.m.addr)
			}
			attempts++
			tried = true
			res, err := s.attempt(ctx, ep, body, spans, probe)
			if err == nil {
				res.Attempts = attempts
				return res, nil
			}
			var re *retryableError
			if !errors.As(err, &re) {
				if errors.Is(err, ErrClosed) {
					return Result{}, ErrClosed
				}
				return Result{}, &PermanentError{Endpoint: ep.cfg.Address, Err: err}
			}
			if s.isClosed() {
				return Result{}, ErrClosed
			}
			lastErr = fmt.Errorf("%s: %w", ep.cfg.Address, err)
			if re.delay > 0 {
				ep.waitTil.Store(s.clk.Now().Add(min(re.delay, maxServerDelay)).UnixNano())
			}
			if ctx.Err() != nil {
				return Result{}, giveUp(fmt.Errorf("%w: %w", context.Cause(ctx), lastErr), attempts)
			}
		}
		// No endpoint accepted it in this round: wait for the backoff and
		// for the first endpoint to become usable.
		var d time.Duration
		if tried {
			d = s.backoff(rounds)
			rounds++
		}
		now := s.clk.Now()
		if at, ok := s.usableAt(now); ok {
			d = max(d, at.Sub(now))
		} else if d == 0 {
			// Every endpoint is half-open with a probe in flight: the
			// probe's end wakes us.
			d = s.cfg.Retry.MaxInterval
		}
		if s.cfg.Retry.MaxElapsed > 0 && now.Add(d).Sub(start) > s.cfg.Retry.MaxElapsed {
			return Result{}, giveUp(fmt.Errorf("retry time (%v) would elapse: %w", s.cfg.Retry.MaxElapsed, orAllOpen(lastErr)), attempts)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return Result{}, giveUp(fmt.Errorf("context deadline comes before the next attempt (in %v): %w", d, orAllOpen(lastErr)), attempts)
		}
		if !s.clk.Sleep(ctx, d, s.done, s.wake()) {
			if s.isClosed() {
				return Result{}, ErrClosed
			}
			return Result{}, giveUp(fmt.Errorf("%w: %w", context.Cause(ctx), orAllOpen(lastErr)), attempts)
		}
	}
}

// spreadFirst is where a Spread round starts: the next of the endpoints
// whose breaker is closed, in turn, so that they share the traffic evenly
// while others are down.
func (s *Sender) spreadFirst() int {
	turn := s.rr.Add(1) - 1
	var closed [16]int
	idx := closed[:0]
	for i, ep := range s.eps {
		if ep.br.state() == stateClosed {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return int(turn % uint64(len(s.eps)))
	}
	return idx[turn%uint64(len(idx))]
}

// Available reports whether a Send would try an endpoint now: one has a
// closed breaker, or a half-open one without its probe in flight, and no
// server asked to wait. A queue in front of the Sender can spill to disk at
// once while it is false.
func (s *Sender) Available() bool {
	now := s.clk.Now()
	at, ok := s.usableAt(now)
	return ok && !at.After(now)
}

func (s *Sender) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func orAllOpen(err error) error {
	if err == nil {
		return ErrAllOpen
	}
	return err
}

func giveUp(err error, attempts int) error {
	return fmt.Errorf("send: gave up after %d attempts: %w", attempts, err)
}

// backoff is the jittered wait after the round-th failed round: uniformly
// random in [0, min(MaxInterval, InitialInterval*Multiplier^round)] ("full
// jitter").
func (s *Sender) backoff(round int) time.Duration {
	r := s.cfg.Retry
	ceil := float64(r.InitialInterval)
	for range round {
		ceil *= r.Multiplier
		if ceil >= float64(r.MaxInterval) {
			break
		}
	}
	c := time.Duration(min(ceil, float64(r.MaxInterval)))
	if c <= 0 {
		return 0
	}
	return time.Duration(s.randN(int64(c) + 1))
}

// usableAt is the earliest time an endpoint takes a request: its breaker
// lets one through and no server asked to wait longer. ok is false when
// every endpoint is half-open with a probe in flight.
func (s *Sender) usableAt(now time.Time) (at time.Time, ok bool) {
	for _, ep := range s.eps {
		t, known := ep.br.readyAt()
		if !known {
			continue
		}
		if w := time.Unix(0, ep.waitTil.Load()); w.After(t) {
			t = w
		}
		if !ok || t.Before(at) {
			at, ok = t, true
		}
	}
	if ok && at.Before(now) {
		at = now
	}
	return at, ok
}

// attempt sends body once to ep and settles ep's breaker.
func (s *Sender) attempt(ctx context.Context, ep *endpoint, body []byte, spans int, probe bool) (Result, error) {
	t, err := s.transport(ep)
	if err != nil {
		ep.br.release(probe)
		if errors.Is(err, ErrClosed) {
			return Result{}, err
		}
		// A transport that cannot be made (bad TLS setup...) will not
		// be made on retry either.
		return Result{}, fmt.Errorf("connect: %w", err)
	}
	actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	began := time.Now()
	rejected, msg, err := t.export(actx, body, probe)
	cancel()
	elapsed := time.Since(began)
	var re *retryableError
	switch {
	case err == nil:
		ep.br.success(probe)
		s.m.sent(ctx, ep, spans, rejected, elapsed)
		return Result{Endpoint: ep.cfg.Address, Rejected: rejected, Message: msg}, nil
	case errors.As(err, &re):
		if ctx.Err() != nil {
			// The caller gave up, which says nothing about the endpoint.
			ep.br.release(probe)
		} else {
			ep.br.failure(probe)
		}
		s.m.failed(ctx, ep, "retryable", 0, elapsed)
		return Result{}, err
	default:
		// An answer: the endpoint works, the request does not.
		ep.br.success(probe)
		s.m.failed(ctx, ep, "permanent", spans, elapsed)
		return Result{}, err
	}
}

// Close closes the connections; Send fails afterwards with ErrClosed, and
// Sends waiting between attempts return ErrClosed at once. An attempt in
// flight over gRPC is cut; one over HTTP ends by its Timeout. Close is
// idempotent.
func (s *Sender) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		var errs []error
		for _, ep := range s.eps {
			ep.mu.Lock()
			if ep.t != nil {
				if err := ep.t.close(); err != nil {
					errs = append(errs, fmt.Errorf("close %s: %w", ep.cfg.Address, err))
				}
			}
			ep.mu.Unlock()
		}
		if err := s.m.close(); err != nil {
			errs = append(errs, err)
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
