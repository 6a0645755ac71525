package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/tracerdev/tracer/wal"
)

// Intake is where receivers hand requests over: the WAL-backed WALIntake
// makes them durable in the collector; the agent's intake will forward them.
// When Consume returns nil the receiver acknowledges the request.
type Intake interface {
	// Consume takes body, a validated ExportTraceServiceRequest in protobuf
	// wire form holding spans spans; it does not keep body after it
	// returns. Its errors: ErrFull (retryable: the buffer is full),
	// ErrTooLarge (the request can never fit), ErrStopped (retryable: intake
	// is shutting down); any other error is retryable too.
	Consume(ctx context.Context, body []byte, spans int) error
}

// Errors of Intake.Consume that receivers map to their status codes.
var (
	ErrFull     = errors.New("collector buffer is full")
	ErrTooLarge = errors.New("request too large for the collector's buffer")
	ErrStopped  = errors.New("collector is shutting down")
)

// WALIntake is the collector's Intake: it appends each request to a WAL
// (fsynced per the WAL's policy) before acknowledging it.
type WALIntake struct {
	w      *wal.WAL
	log    *slog.Logger
	health *Health

	trouble atomic.Bool // failed is set: the fast path is off
	mu      sync.Mutex  // guards failed
	failed  bool        // an append failed with an unexpected error
}

var _ Intake = (*WALIntake)(nil)

// NewWALIntake returns an Intake that appends to w. It reports "wal" to
// set.Health: failed when w has failed for good.
func NewWALIntake(w *wal.WAL, set Settings) *WALIntake {
	set = set.withDefaults()
	in := &WALIntake{w: w, log: set.Logger, health: set.Health}
	in.health.Set("wal", StatusOK, nil)
	in.health.Probe("wal", w.Err)
	return in
}

// Consume appends body to the WAL.
func (in *WALIntake) Consume(ctx context.Context, body []byte, _ int) error {
	_, err := in.w.Append(ctx, body)
	switch {
	case err == nil:
		if in.trouble.Load() {
			in.episode(false, nil)
		}
		return nil
	case errors.Is(err, wal.ErrFull):
		// The WAL logs the start and the end of a full episode.
		return ErrFull
	case errors.Is(err, wal.ErrFailed):
		// The WAL logged its sticky failure once. Only a restart mends it
		// (see wal.ErrFailed): fail the component, which stops the binary
		// so that a supervisor restarts it; the request is retryable.
		in.health.Fail("wal", err)
		return fmt.Errorf("wal append: %w", err)
	case errors.Is(err, wal.ErrTooLarge):
		return ErrTooLarge
	case errors.Is(err, wal.ErrClosed):
		return ErrStopped
	case ctx.Err() != nil:
		return fmt.Errorf("request cancelled: %w", ctx.Err())
	default:
		in.episode(true, err)
		return fmt.Errorf("wal append: %w", err)
	}
}

// episode logs the first of a run of unexpected append failures, and its
// end, once each rather than once per request.
func (in *WALIntake) episode(failed bool, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case failed && !in.failed:
		in.log.Error("wal append failed; requests are refused (retryable) while it fails", "err", err)
	case !failed && in.failed:
		in.log.Info("wal appends work again")
	}
	in.failed = failed
	in.trouble.Store(failed)
}
