package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/wal"
)

// Collector is the collector assembled from its parts: an OTLPReceiver
// handing requests to a WALIntake, and a Pipeline from the WAL to a
// StorageSink over a storage.Writer. Build it with New, then Start and
// Shutdown it.
type Collector struct {
	cfg    Config
	writer storage.Writer
	set    Settings
	gath   prometheus.Gatherer

	sinkName string
	newSink  func(Settings) (Sink, error)

	mu       sync.Mutex // guards the fields below, set by Start
	started  bool
	closing  bool
	wal      *wal.WAL
	receiver *OTLPReceiver
	pipeline *Pipeline
	sink     Component // the sink, when it is a Component
	shutOnce sync.Once
	shutErr  error
}

// Option configures New.
type Option interface{ apply(*options) }

type options struct {
	reg      prometheus.Registerer
	health   *Health
	sinkName string
	newSink  func(Settings) (Sink, error)
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithRegisterer registers the collector's metrics on reg (the process's
// one registry) instead of a registry of the collector's own. A nil reg is
// ignored.
func WithRegisterer(reg prometheus.Registerer) Option {
	return optionFunc(func(o *options) {
		if reg != nil {
			o.reg = reg
		}
	})
}

// WithHealth makes the collector's components report to h (the process's
// one Health, served before the collector exists: while the storage opens,
// say) instead of a Health of the collector's own. A nil h is ignored.
func WithHealth(h *Health) Option {
	return optionFunc(func(o *options) {
		if h != nil {
			o.health = h
		}
	})
}

// WithSink makes the collector's pipeline write to the Sink that newSink
// returns (called by Start, with the collector's Settings) instead of a
// StorageSink over New's writer, which may then be nil: the Kafka sink and
// the agent's forwarding sink are such sinks. name is the component the
// pipeline reports to Health ("kafka", "forward"). When the sink is also a
// Component, Start starts it before the pipeline and Shutdown shuts it down
// after the pipeline has drained.
func WithSink(name string, newSink func(Settings) (Sink, error)) Option {
	return optionFunc(func(o *options) { o.sinkName, o.newSink = name, newSink })
}

// New returns a Collector for a valid cfg that writes to w. It does no I/O;
// Start opens the WAL and binds the listeners. A nil logger means
// slog.Default().
func New(cfg Config, w storage.Writer, logger *slog.Logger, opts ...Option) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	var o options
	for _, opt := range opts {
		opt.apply(&o)
	}
	if w == nil && o.newSink == nil {
		return nil, errors.New("nil storage writer")
	}
	if logger == nil {
		logger = slog.Default()
	}
	c := &Collector{cfg: cfg, writer: w, sinkName: o.sinkName, newSink: o.newSink}
	if o.reg == nil {
		reg := newRegistry()
		o.reg, c.gath = reg, reg
	} else if g, ok := o.reg.(prometheus.Gatherer); ok {
		c.gath = g
	}
	m, err := NewMetrics(o.reg)
	if err != nil {
		return nil, err
	}
	if o.health == nil {
		o.health = NewHealth()
	}
	c.set = Settings{Logger: logger, Metrics: m, Health: o.health}
	return c, nil
}

// Health returns what the collector's components report: serve its
// LiveHandler and ReadyHandler (cmd/tracer serves them on /health and
// /ready), and stop the process when Failed is closed.
func (c *Collector) Health() *Health { return c.set.Health }

// Gatherer returns the registry the collector's metrics are on: its own, or
// the one given to WithRegisterer when that is a prometheus.Gatherer (else
// nil).
func (c *Collector) Gatherer() prometheus.Gatherer { return c.gath }

// Start opens the WAL, starts the pipeline (which first replays what the
// WAL holds beyond its last commit) and binds the receivers. On error,
// whatever it opened is closed again.
func (c *Collector) Start(ctx context.Context) (err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("collector already started")
	}
	if c.closing {
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
		Logger:       c.set.Logger.With("component", "wal"),
	})
	if err != nil {
		return fmt.Errorf("open wal: %w", err)
	}
	c.set.Metrics.wal.Store(w)
	name, sink := "storage", Sink(nil)
	if c.newSink != nil {
		name = c.sinkName
		if sink, err = c.newSink(c.set); err != nil {
			return errors.Join(fmt.Errorf("open %s sink: %w", name, err), w.Close())
		}
	} else {
		ss := NewStorageSink(c.writer, c.cfg.Limits, c.cfg.Batch.Size, c.set)
		ss.handOver() // WAL records
		sink = ss
	}
	sinkComp, _ := sink.(Component)
	if sinkComp != nil {
		if err := sinkComp.Start(ctx); err != nil {
			return errors.Join(fmt.Errorf("start %s sink: %w", name, err), w.Close())
		}
	}
	pipe := NewPipeline(PipelineConfig{
		Name:         name,
		Batch:        c.cfg.Batch,
		Retry:        c.cfg.Retry,
		WriteTimeout: c.cfg.Storage.WriteTimeout,
		// An eighth of the WAL's cap: a small WAL is still freed soon.
		CommitBytes: max(1, min(defaultCommitBytes, c.cfg.WAL.MaxBytes/8)),
	}, w, sink, c.set)
	recv := NewOTLPReceiver(c.cfg.Receivers, c.cfg.Limits, NewWALIntake(w, c.set), c.set)
	if err := recv.Start(ctx); err != nil {
		return errors.Join(err, shutdownSink(ctx, sinkComp), w.Close())
	}
	if err := pipe.Start(ctx); err != nil { // cannot fail: it is new
		return errors.Join(err, recv.Shutdown(ctx), shutdownSink(ctx, sinkComp), w.Close())
	}
	c.wal, c.receiver, c.pipeline, c.sink, c.started = w, recv, pipe, sinkComp, true
	c.set.Logger.Info("collector started",
		"grpc", recv.GRPCAddr(), "http", recv.HTTPAddr(), "wal_dir", c.cfg.WAL.Dir, "wal_committed", w.Committed())
	return nil
}

// GRPCAddr returns the address the OTLP/gRPC receiver listens on, or "".
func (c *Collector) GRPCAddr() string {
	if r := c.recv(); r != nil {
		return r.GRPCAddr()
	}
	return ""
}

// HTTPAddr returns the address the OTLP/HTTP receiver listens on, or "".
func (c *Collector) HTTPAddr() string {
	if r := c.recv(); r != nil {
		return r.HTTPAddr()
	}
	return ""
}

func (c *Collector) recv() *OTLPReceiver {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.receiver
}

// Shutdown stops intake (new requests get a retryable error, requests in
// flight finish), writes what the WAL holds until ctx's deadline (the
// storage write in progress then has its context cancelled), then closes
// the WAL: what was not written stays there for the next start. It is
// idempotent and safe without Start; later calls return the first call's
// result.
func (c *Collector) Shutdown(ctx context.Context) error {
	c.shutOnce.Do(func() { c.shutErr = c.shutdown(ctx) })
	return c.shutErr
}

func (c *Collector) shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.closing = true
	started := c.started
	c.mu.Unlock()
	if !started {
		return nil
	}
	var errs []error
	if err := c.receiver.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := c.pipeline.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := shutdownSink(ctx, c.sink); err != nil {
		errs = append(errs, err)
	}
	st := c.wal.Stats()
	if err := c.wal.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close wal: %w", err))
	}
	c.set.Logger.Info("collector stopped", "wal_committed", c.wal.Committed(), "wal_bytes_left", st.Bytes)
	return errors.Join(errs...)
}

// shutdownSink shuts a sink that is a Component down; nil is none.
func shutdownSink(ctx context.Context, s Component) error {
	if s == nil {
		return nil
	}
	if err := s.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut the sink down: %w", err)
	}
	return nil
}
