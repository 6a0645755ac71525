package badger

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/storagetest"
)

func BenchmarkWriteSpans(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "sync"
		if !sync {
			name = "nosync"
		}
		b.Run(name+"/1000spans", func(b *testing.B) {
			s := open(b, b.TempDir(), WithSyncWrites(sync))
			g := storagetest.NewGenerator(1)
			start := time.Now().Add(-time.Hour)
			batches := make([][]storage.Span, 16)
			for i := range batches {
				for range 100 {
					batches[i] = append(batches[i], g.Trace(start.Add(time.Duration(i)*time.Second), 10)...)
				}
			}
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := s.WriteSpans(ctx, batches[i%len(batches)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
		})
	}
}

// BenchmarkWriteFresh writes batches of 1000 spans never written before
// (100 traces of 10 spans), the collector's steady state; BenchmarkWriteSpans
// writes the same 16 batches again and again, the path of a retried batch.
func BenchmarkWriteFresh(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "sync"
		if !sync {
			name = "nosync"
		}
		b.Run(name+"/1000spans", func(b *testing.B) {
			s := open(b, b.TempDir(), WithSyncWrites(sync))
			g := storagetest.NewGenerator(1)
			start := time.Now().Add(-time.Hour)
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				var batch []storage.Span
				for range 100 {
					batch = append(batch, g.Trace(start.Add(time.Duration(i)*time.Second), 10)...)
				}
				b.StartTimer()
				if err := s.WriteSpans(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
		})
	}
}

// BenchmarkRead reads a store of 100,000 spans (10,000 traces of 10 spans
// over an hour).
func BenchmarkRead(b *testing.B) {
	const traces, perTrace = 10_000, 10
	s := open(b, b.TempDir(), WithSyncWrites(false))
	g := storagetest.NewGenerator(2)
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	var ids []storage.TraceID
	var batch []storage.Span
	for i := range traces {
		tr := g.Trace(start.Add(time.Duration(i)*time.Hour/traces), perTrace)
		ids = append(ids, tr[0].TraceID)
		batch = append(batch, tr...)
		if len(batch) >= 1000 {
			if err := s.WriteSpans(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	svc, op := g.Services()[0], g.Operations()[0]
	b.Run("Trace", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			tr, err := s.Trace(ctx, ids[(i*7919)%len(ids)])
			if err != nil || len(tr.Spans) != perTrace {
				b.Fatalf("Trace: %d spans, %v", len(tr.Spans), err)
			}
		}
	})
	queries := []struct {
		name string
		q    storage.Query
	}{
		{"service", storage.Query{Service: svc}},
		{"service+operation", storage.Query{Service: svc, Operation: op}},
		{"service+kind", storage.Query{Service: svc, Kind: storage.KindClient}},
		{"attribute", storage.Query{Attributes: map[string]string{"http.status_code": "500"}}},
		{"rare attribute", storage.Query{Attributes: map[string]string{"user.id": "42"}}},
		{"service+duration", storage.Query{Service: svc, DurationMin: 150 * time.Millisecond}},
		{"time window", storage.Query{StartMin: start.Add(10 * time.Minute), StartMax: start.Add(20 * time.Minute)}},
		{"no match", storage.Query{Service: svc, Operation: "nope"}},
	}
	for _, q := range queries {
		b.Run("FindTraces/"+q.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got, err := s.FindTraces(ctx, q.q)
				if err != nil {
					b.Fatal(err)
				}
				if want := storage.DefaultLimit; q.name == "no match" && len(got) != 0 || q.name == "rare attribute" && len(got) == 0 || q.name != "no match" && q.name != "rare attribute" && len(got) != want {
					b.Fatalf("FindTraces(%s) = %d traces", q.name, len(got))
				}
			}
		})
	}
	b.Run("Dependencies/1h", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Dependencies(ctx, time.Now(), time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Services", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Services(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPurge measures deleting 10,000 spans (1,000 traces) with their
// index entries, out of a store of 20,000.
func BenchmarkPurge(b *testing.B) {
	ctx := context.Background()
	g := storagetest.NewGenerator(3)
	now := time.Now()
	old, recent := now.Add(-48*time.Hour), now.Add(-time.Hour)
	var oldSpans, newSpans []storage.Span
	for range 1000 {
		oldSpans = append(oldSpans, g.Trace(old, 10)...)
		newSpans = append(newSpans, g.Trace(recent, 10)...)
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s, err := Open(b.TempDir(), WithSyncWrites(false), WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range [][]storage.Span{oldSpans, newSpans} {
			if err := s.WriteSpans(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := s.Purge(ctx, now.Add(-24*time.Hour)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(oldSpans)), "ns/span")
}
