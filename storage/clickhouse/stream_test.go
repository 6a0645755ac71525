package clickhouse_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// A trace whose spans have more distinct resources than the streamer
// keeps between batches streams whole, each span with its own resource,
// in batches of at most storage.MaxStreamBatch.
func TestStreamTraceManyResources(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 2500
	id := storage.TraceID{0x5e, 1}
	start := time.Now().Add(-time.Minute)
	spans := make([]storage.Span, n)
	for i := range spans {
		sp := edgeSpan(1, 1, 0, "svc", start.Add(time.Duration(i)*time.Microsecond), storage.StatusUnset)
		sp.TraceID = id
		sp.SpanID = storage.SpanID{0x5e, byte(i >> 8), byte(i), 1}
		sp.Resource = []storage.Attribute{{Key: "instance", Type: storage.TypeString, Value: strconv.Itoa(i)}}
		spans[i] = sp
	}
	if err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	seen := make(map[storage.SpanID]bool)
	truncated, err := s.StreamTrace(ctx, id, func(batch []storage.Span) error {
		if len(batch) == 0 || len(batch) > storage.MaxStreamBatch {
			t.Errorf("batch of %d spans", len(batch))
		}
		for _, sp := range batch {
			i := int(sp.SpanID[1])<<8 | int(sp.SpanID[2])
			if seen[sp.SpanID] {
				t.Errorf("span %d streamed twice", i)
			}
			seen[sp.SpanID] = true
			if len(sp.Resource) != 1 || sp.Resource[0].Value != strconv.Itoa(i) {
				t.Errorf("span %d: resource %v, want instance=%d", i, sp.Resource, i)
			}
		}
		return nil
	})
	if err != nil || truncated {
		t.Fatalf("StreamTrace = %v, %v", truncated, err)
	}
	if len(seen) != n {
		t.Errorf("streamed %d spans, want %d", len(seen), n)
	}
}
