package collector_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync/atomic"
	"syscall"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// BenchmarkExportGRPC measures the hot path end to end in one process:
// OTLP/gRPC request (512 spans, raw bytes) → scan → WAL append with fsync
// (group commit) → acknowledgement, with the pipeline decoding and writing
// to a storage writer that discards, or to the memory store. Concurrent clients share fsyncs.
// Figures: ns/op per request, spans/s, and CPU nanoseconds per span of the
// whole process (getrusage), the gRPC client's share included.
func BenchmarkExportGRPC(b *testing.B) {
	for _, bc := range []struct{ sync, store string }{{"batch", "discard"}, {"interval", "discard"}, {"batch", "memory"}} {
		b.Run("sync="+bc.sync+"/store="+bc.store, func(b *testing.B) {
			cfg := testConfig(b)
			cfg.WAL.Sync = bc.sync
			cfg.WAL.SegmentSize = 64 << 20
			cfg.WAL.MaxBytes = 1 << 30
			cfg.Batch.Size = 8192
			var w storage.Writer = writerFunc(func(context.Context, []storage.Span) error { return nil })
			if bc.store == "memory" {
				store := memory.New(memory.WithMaxSpans(1 << 20))
				defer store.Close()
				w = store
			}
			c, err := collector.New(cfg, w, quietLogger())
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer c.Shutdown(context.Background())

			const perRequest = 512
			var spans []spanSpec
			for i := range perRequest {
				s := validSpan(i)
				s.attrs = map[string]string{"http.method": "GET", "http.route": "/api/v1/items/{id}", "tracer.vc.node": "svc-1"}
				spans = append(spans, s)
			}
			req := request(b, "bench", spans...)
			// Every request gets fresh trace ids (a counter patched into the
			// encoded bytes), so the store keeps growing and evicting as with
			// real traffic instead of rewriting the same spans.
			var idAt []int
			for _, s := range spans {
				at := bytes.Index(req, s.traceID)
				if at < 0 {
					b.Fatal("trace id not found in the encoded request")
				}
				idAt = append(idAt, at)
			}
			var seq atomic.Uint32
			conn, err := grpc.NewClient(c.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()

			b.SetBytes(int64(len(req)))
			b.ReportAllocs()
			b.SetParallelism(4)
			cpu0 := processCPU(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				in := bytes.Clone(req)
				for pb.Next() {
					n := seq.Add(1)
					for _, at := range idAt {
						binary.BigEndian.PutUint32(in[at+2:], n)
					}
					out := []byte(nil)
					if err := conn.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &in, &out, grpc.ForceCodecV2(rawCodec{})); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			// Drain the pipeline so that its decoding and writing are counted.
			if err := c.Shutdown(context.Background()); err != nil {
				b.Fatal(err)
			}
			spansSent := float64(b.N * perRequest)
			b.ReportMetric(spansSent/b.Elapsed().Seconds(), "spans/s")
			// CPU of the whole process (the in-process client included).
			b.ReportMetric(float64(processCPU(b)-cpu0)/spansSent, "cpu-ns/span")
		})
	}
}

// processCPU returns the process's user+system CPU time in nanoseconds.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
