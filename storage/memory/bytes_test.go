package memory_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// TestResourceHeldOnce writes 300 spans sharing one Resource with a 1 MB
// attribute, as the decoder gives them: the store holds it once, and a read
// returns one copy for all of them, not one per span.
func TestResourceHeldOnce(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	defer s.Close()
	res := []storage.Attribute{{Key: "service.name", Value: "big"}, {Key: "blob", Value: strings.Repeat("x", 1<<20)}}
	spans := storagetest.NewGenerator(8).Trace(time.Now().Add(-time.Minute), 300)
	for i := range spans {
		spans[i].Resource = res
	}
	if err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Bytes; got > 2<<20 {
		t.Errorf("Stats().Bytes = %d after 300 spans sharing a 1 MiB resource, want under 2 MiB", got)
	}
	for _, read := range []string{"Trace", "FindTraces"} {
		t.Run(read, func(t *testing.T) {
			var tr storage.Trace
			if read == "Trace" {
				var err error
				if tr, err = s.Trace(ctx, spans[0].TraceID); err != nil {
					t.Fatal(err)
				}
			} else {
				found, err := s.FindTraces(ctx, storage.Query{Service: spans[0].Service})
				if err != nil || len(found) != 1 {
					t.Fatalf("FindTraces = %d traces, %v", len(found), err)
				}
				tr = found[0]
			}
			if len(tr.Spans) != len(spans) {
				t.Fatalf("%d spans, want %d", len(tr.Spans), len(spans))
			}
			first := &tr.Spans[0].Resource[0]
			for i := range tr.Spans {
				if &tr.Spans[i].Resource[0] != first {
					t.Fatalf("span %d has its own copy of the resource", i)
				}
			}
			if first == &res[0] {
				t.Fatal("the result shares the writer's resource")
			}
		})
	}
}

// TestScopeHeldOnce: spans of one scope, as the decoder gives them (the
// same Service, ScopeName and ScopeVersion strings), hold one copy of them
// per chunk, not one per span; each span still reads back its own values,
// and none is the writer's.
func TestScopeHeldOnce(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	defer s.Close()
	scope := strings.Repeat("s", 4096)
	spans := storagetest.NewGenerator(3).Trace(time.Now().Add(-time.Minute), 300)
	for i := range spans {
		spans[i].ScopeName = scope
		if i%100 == 99 {
			// Equal but not the same string: copied on its own, still right.
			spans[i].ScopeName = strings.Clone(scope)
		}
	}
	if err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Bytes; got > 300*4096/4 {
		t.Errorf("Stats().Bytes = %d after 300 spans of one 4 KiB scope name, want under a quarter of 300 copies", got)
	}
	tr, err := s.Trace(ctx, spans[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	storagetest.SortSpans(spans)
	if diff := storagetest.DiffSpans(tr.Spans, spans); diff != "" {
		t.Fatalf("read back: %s", diff)
	}
	for i := range tr.Spans {
		if unsafe.StringData(tr.Spans[i].ScopeName) == unsafe.StringData(scope) {
			t.Fatalf("span %d holds the writer's scope name", i)
		}
	}
}

// TestMaxBytes: the byte cap bounds what the store holds, evicting the oldest
// traces.
func TestMaxBytes(t *testing.T) {
	ctx := t.Context()
	const maxBytes = 1 << 20
	s := memory.New(memory.WithMaxBytes(maxBytes))
	defer s.Close()
	g := storagetest.NewGenerator(9)
	start := time.Now().Add(-time.Hour)
	var last []storage.Span
	for i := range 100 {
		tr := g.Trace(start.Add(time.Duration(i)*time.Second), 10)
		for j := range tr {
			tr[j].Attributes = append(tr[j].Attributes, storage.Attribute{Key: "payload", Value: strings.Repeat("p", 2<<10)})
		}
		if err := s.WriteSpans(ctx, tr); err != nil {
			t.Fatal(err)
		}
		if got := s.Stats(); got.Bytes > maxBytes || got.Bytes <= 0 {
			t.Fatalf("after write %d: Stats = %+v, want 0 < Bytes <= %d", i, got, maxBytes)
		}
		last = tr
	}
	st := s.Stats()
	if st.EvictedTraces == 0 {
		t.Fatalf("Stats = %+v: 2 MiB written into 1 MiB, nothing evicted", st)
	}
	if _, err := s.Trace(ctx, last[0].TraceID); err != nil {
		t.Fatalf("Trace(last written): %v", err)
	}
	// Purge releases what it deletes.
	if err := s.Purge(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats(); got.Bytes != 0 || got.Spans != 0 {
		t.Fatalf("Stats after purging everything = %+v, want nothing held", got)
	}
}

// TestSpanLargerThanStore: a span that alone exceeds the byte cap is
// rejected by name; its batch-mates are stored.
func TestSpanLargerThanStore(t *testing.T) {
	ctx := t.Context()
	s := memory.New(memory.WithMaxBytes(64 << 10))
	defer s.Close()
	tr := storagetest.NewGenerator(10).Trace(time.Now().Add(-time.Minute), 3)
	tr[1].Attributes = append(tr[1].Attributes, storage.Attribute{Key: "huge", Value: strings.Repeat("h", 128<<10)})
	err := s.WriteSpans(ctx, tr)
	var rej *storage.RejectedError
	if !errors.As(err, &rej) || len(rej.Spans) != 1 || rej.Spans[0].Index != 1 {
		t.Fatalf("WriteSpans: err = %v, want span 1 rejected", err)
	}
	got, err := s.Trace(ctx, tr[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Spans) != 2 {
		t.Fatalf("Trace = %d spans, want the 2 batch-mates", len(got.Spans))
	}
}

// TestKeepsNoCallerBuffer writes spans whose strings point into large
// buffers, as decoded WAL records do, and checks that the store does not
// keep the buffers alive: it copies the strings it keeps.
func TestKeepsNoCallerBuffer(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	defer s.Close()
	g := storagetest.NewGenerator(11)
	const records, recordSize = 64, 1 << 20
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range records {
		record := strings.Repeat("r", recordSize) // a WAL record the span was decoded from
		sp := g.Trace(time.Now().Add(-time.Minute), 1)
		sp[0].Name = record[:10]
		sp[0].Attributes = []storage.Attribute{{Key: record[10:20], Value: record[20:30]}}
		sp[0].Resource = []storage.Attribute{{Key: "service.name", Value: record[30:40]}}
		if err := s.WriteSpans(ctx, sp); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > records*recordSize/4 {
		t.Fatalf("heap grew by %d bytes for %d small spans: the store keeps the %d-byte buffers their strings pointed into", grew, records, recordSize)
	}
	runtime.KeepAlive(s)
}

// TestDependencyLimit: a window holding more spans than MaxDependencySpans
// is refused with ErrInvalidQuery.
func TestDependencyLimit(t *testing.T) {
	ctx := t.Context()
	s := memory.New(memory.WithReaderLimits(storage.ReaderLimits{MaxDependencySpans: 5}))
	defer s.Close()
	if err := s.WriteSpans(ctx, storagetest.NewGenerator(12).Trace(time.Now().Add(-time.Minute), 6)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dependencies(ctx, time.Now(), time.Hour); !errors.Is(err, storage.ErrInvalidQuery) {
		t.Fatalf("Dependencies over 6 spans with MaxDependencySpans 5: err = %v, want ErrInvalidQuery", err)
	}
	if _, err := s.Dependencies(ctx, time.Now(), time.Second); err != nil {
		t.Fatalf("Dependencies over an empty window: %v", err)
	}
}
