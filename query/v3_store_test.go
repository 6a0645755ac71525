package query

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

var (
	base64Std    = base64.StdEncoding
	base64RawURL = base64.RawURLEncoding
)

// interimStore gives the memory store the read methods it lacks until
// helper conf's branch lands (summaries and streaming), from its Trace and
// FindTraces, so that the v3 tests run meanwhile.
type interimStore struct{ *memory.Store }

func (s interimStore) FindTraceSummaries(ctx context.Context, q storage.Query) ([]storage.TraceSummary, error) {
	traces, err := s.FindTraces(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]storage.TraceSummary, len(traces))
	for i, t := range traces {
		out[i] = storage.Summarize(t.ID, t.Spans)
	}
	return out, nil
}

func (s interimStore) StreamTrace(ctx context.Context, id storage.TraceID, fn func([]storage.Span) error) (bool, error) {
	t, err := s.Trace(ctx, id)
	if err != nil {
		return false, err
	}
	for i := 0; i < len(t.Spans); i += storage.MaxStreamBatch {
		if err := fn(t.Spans[i:min(i+storage.MaxStreamBatch, len(t.Spans))]); err != nil {
			return false, err
		}
	}
	return t.Truncated, nil
}

func newStore(t testing.TB, spans []storage.Span, opts ...memory.Option) storage.ReadStore {
	return interimStore{newMemory(t, spans, opts...)}
}
