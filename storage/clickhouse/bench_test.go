package clickhouse_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/clickhouse"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// BenchmarkWriteSpans measures WriteSpans of 10,000- and 50,000-span
// batches (50,000: the collector's batch with storage clickhouse) into the
// test server, per span. bench/clickhouse measures the same at scale.
func BenchmarkWriteSpans(b *testing.B) {
	server.Available(b)
	for _, n := range []int{10_000, 50_000} {
		b.Run(fmt.Sprintf("spans=%d", n), func(b *testing.B) { benchmarkWriteSpans(b, n) })
	}
}

func benchmarkWriteSpans(b *testing.B, n int) {
	cfg := clickhouse.NewDefaultConfig()
	cfg.Addr = []string{server.Addr}
	cfg.Database = server.NewDatabase(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := clickhouse.New(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	g := storagetest.NewGenerator(1)
	var spans []storage.Span
	for len(spans) < n {
		spans = append(spans, g.Trace(time.Now().Add(-time.Hour), 5)...)
	}
	b.ReportAllocs()
	cpu0 := processCPU(b)
	b.ResetTimer()
	for b.Loop() {
		if err := s.WriteSpans(ctx, spans); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*len(spans))/b.Elapsed().Seconds(), "spans/s")
	// The client's own CPU (user+system of this process, the server runs
	// apart): what a collector spends per span, unlike the wall time, which
	// includes the server's work and the other load on the machine.
	b.ReportMetric(float64((processCPU(b)-cpu0).Nanoseconds())/float64(b.N*len(spans)), "client-cpu-ns/span")
}

// processCPU returns the CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
