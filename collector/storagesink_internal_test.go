package collector

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"unsafe"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/backend"
	"github.com/tracerdev/tracer/storage/memory"
	"github.com/tracerdev/tracer/wal"
)

// ownRecorder records the calls a StorageSink makes.
type ownRecorder struct {
	plain  int              // WriteSpans calls
	spans  []int            // spans per WriteOwned call
	groups [][]memory.Group // per WriteOwned call
}

func (o *ownRecorder) WriteSpans(context.Context, []storage.Span) error {
	o.plain++
	return nil
}

func (o *ownRecorder) WriteOwned(_ context.Context, spans []storage.Span, groups []memory.Group) error {
	o.spans = append(o.spans, len(spans))
	o.groups = append(o.groups, slices.Clone(groups))
	return nil
}

// TestStorageSinkHandsOver: with handOver on and a writer that takes spans
// over, the sink writes each record's spans as a group charged the
// record's bytes, groups cut by the sink's maxSpans in proportion; without
// handOver it copies (WriteSpans) as before.
func TestStorageSinkHandsOver(t *testing.T) {
	body, err := proto.Marshal(splitTestRequest(2, 10)) // 8 spans
	if err != nil {
		t.Fatal(err)
	}
	records := []wal.Record{{Offset: 1, Data: body}, {Offset: 2, Data: []byte{0xff}} /* does not decode */, {Offset: 3, Data: body}}
	lim := NewDefaultConfig().Limits
	for _, hand := range []bool{false, true} {
		w := &ownRecorder{}
		s := NewStorageSink(w, lim, 6, Settings{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if hand {
			s.handOver()
		}
		for _, r := range records {
			s.Add(r)
		}
		if err := s.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if !hand {
			if w.plain != 3 || len(w.spans) != 0 {
				t.Fatalf("without handOver: %d WriteSpans, %d WriteOwned calls; want 3 and 0", w.plain, len(w.spans))
			}
			continue
		}
		b := int64(len(body))
		want := [][]memory.Group{
			{{End: 6, Bytes: b * 6 / 8}},
			{{End: 2, Bytes: b * 2 / 8}, {End: 6, Bytes: b * 4 / 8}},
			{{End: 4, Bytes: b * 4 / 8}},
		}
		if w.plain != 0 || !slices.Equal(w.spans, []int{6, 6, 4}) {
			t.Fatalf("handOver: %d WriteSpans calls, WriteOwned spans %v; want 0 and [6 6 4]", w.plain, w.spans)
		}
		for i := range want {
			if !slices.Equal(w.groups[i], want[i]) {
				t.Errorf("call %d: groups %v, want %v", i, w.groups[i], want[i])
			}
		}
		if len(s.groups) != 0 || len(s.batch) != 0 {
			t.Errorf("after Flush: %d groups, %d spans pending; want none", len(s.groups), len(s.batch))
		}
	}
}

// TestStorageSinkHandsOverToMemory: a sink writing to a memory store
// hands the decoded spans over (they point into the WAL's records, not a
// copy) and they read back as sent.
func TestStorageSinkHandsOverToMemory(t *testing.T) {
	ctx := t.Context()
	store := memory.New()
	defer store.Close()
	sink := NewStorageSink(store, NewDefaultConfig().Limits, 0, Settings{})
	sink.handOver()
	body, err := proto.Marshal(splitTestRequest(2, 10))
	if err != nil {
		t.Fatal(err)
	}
	sink.Add(wal.Record{Offset: 1, Data: body})
	if err := sink.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := store.Stats(); st.Spans != 8 || st.Bytes < int64(len(body)) {
		t.Fatalf("store %+v, want 8 spans charged at least the record's %d bytes", st, len(body))
	}
	tr, err := store.Trace(ctx, storage.TraceID(splitTID(1)))
	if err != nil {
		t.Fatal(err)
	}
	start, end := uintptr(unsafe.Pointer(&body[0])), uintptr(unsafe.Pointer(&body[len(body)-1]))
	for _, sp := range tr.Spans {
		p := uintptr(unsafe.Pointer(unsafe.StringData(sp.Name)))
		if p < start || p > end {
			t.Fatalf("span %s: name %q is a copy, want it in the record", sp.SpanID, sp.Name)
		}
		if sp.Name != "op" || sp.StartTime != 1000 || sp.EndTime != 2000 || sp.Attributes[0].Key != "pad" {
			t.Fatalf("span read back as %+v", sp)
		}
	}
}

// TestCollectorHandsOver: the collector's storage sink (over WAL records)
// hands spans over to a writer that takes them.
func TestCollectorHandsOver(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.Receivers.GRPC.Endpoint, cfg.Receivers.HTTP.Endpoint = "127.0.0.1:0", ""
	cfg.WAL.Dir, cfg.WAL.SegmentSize, cfg.WAL.MaxBytes = t.TempDir(), 1<<20, 64<<20
	cfg.Storage.Type = backend.TypeMemory
	store := memory.New()
	defer store.Close()
	c, err := New(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(context.Background())
	c.mu.Lock()
	sink, _ := c.pipeline.sink.(*StorageSink)
	c.mu.Unlock()
	if sink == nil || sink.own == nil {
		t.Fatalf("the collector's sink (%T) does not hand spans over to the memory store", c.pipeline.sink)
	}
}

// BenchmarkStorageSinkMemory decodes WAL records of 512 spans into a
// memory store of 100,000 spans (full after 200 records: it evicts), the
// store copying the spans or (handover) keeping them.
func BenchmarkStorageSinkMemory(b *testing.B) {
	var bodies [][]byte
	for r := range 64 {
		req := splitTestRequest(128, 0)
		for _, rs := range req.ResourceSpans {
			rs.Resource.Attributes = append(rs.Resource.Attributes, strKV("host.name", "users-7d9f8c-x2x4q"), strKV("service.version", "1.4.2"))
			for _, ss := range rs.ScopeSpans {
				for i, sp := range ss.Spans {
					sp.TraceId = []byte{byte(r), byte(i), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
					sp.Name = "GET /api/users/{id}"
					sp.Attributes = []*commonpb.KeyValue{strKV("http.request.method", "GET"), strKV("http.route", "/api/users/{id}"),
						strKV("url.path", fmt.Sprintf("/api/users/%d", 10000+i)), strKV("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)")}
				}
			}
		}
		body, err := proto.Marshal(req)
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	for _, hand := range []bool{false, true} {
		b.Run(map[bool]string{false: "mode=copy", true: "mode=handover"}[hand], func(b *testing.B) {
			store := memory.New(memory.WithMaxSpans(100_000))
			defer store.Close()
			s := NewStorageSink(store, NewDefaultConfig().Limits, 8192, Settings{})
			if hand {
				s.handOver()
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				// A fresh record each time, as the WAL gives them.
				s.Add(wal.Record{Offset: wal.Offset(i + 1), Data: slices.Clone(bodies[i%len(bodies)])})
				if err := s.Flush(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(store.Stats().Bytes)/float64(store.Stats().Spans), "store-B/span")
		})
	}
}
