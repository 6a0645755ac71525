package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerdev/tracer/storage"
	chstore "github.com/tracerdev/tracer/storage/clickhouse"
)

// ErrShutdown is returned by ExportSpans after Shutdown.
var ErrShutdown = errors.New("clickhouse exporter: shut down")

// Exporter is an sdktrace.SpanExporter writing to a storage.Writer,
// normally a storage/clickhouse Store. It is safe for concurrent use.
type Exporter struct {
	w     storage.Writer
	close func() error // closes the Store New opened; nil for NewWithWriter

	mu       sync.RWMutex
	shutdown bool
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// New opens a ClickHouse Store with cfg (applying the schema) and returns
// an Exporter writing to it; Shutdown closes the Store.
func New(ctx context.Context, cfg chstore.Config) (*Exporter, error) {
	s, err := chstore.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Exporter{w: s, close: s.Close}, nil
}

// NewWithWriter returns an Exporter writing to w, which the caller keeps
// owning (Shutdown does not close it).
func NewWithWriter(w storage.Writer) *Exporter { return &Exporter{w: w} }

// ExportSpans converts spans and writes them in one WriteSpans call,
// honouring ctx. Writes are idempotent, so the caller may retry a batch
// that failed.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.shutdown {
		return ErrShutdown
	}
	if len(spans) == 0 {
		return nil
	}
	if err := e.w.WriteSpans(ctx, Convert(make([]storage.Span, 0, len(spans)), spans)); err != nil {
		return fmt.Errorf("clickhouse exporter: %w", err)
	}
	return nil
}

// Shutdown stops the exporter, waiting for exports in flight, and closes
// the Store New opened. It is idempotent.
func (e *Exporter) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.shutdown {
			return
		}
		e.shutdown = true
		if e.close != nil {
			err = e.close()
		}
	}()
	select {
	case <-done:
		return err
	case <-ctx.Done():
		// The goroutine finishes once the exports in flight return; they
		// honour their own contexts.
		return ctx.Err()
	}
}
