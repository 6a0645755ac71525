package collector_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/storage"
)

// BenchmarkExportGRPC measures the hot path end to end in one process:
// OTLP/gRPC request (512 spans, raw bytes) → scan → WAL append with fsync
// (group commit) → acknowledgement, with the pipeline decoding and writing
// to a storage writer that discards. Concurrent clients share fsyncs.
// Figures: ns/op per request, spans/s.
func BenchmarkExportGRPC(b *testing.B) {
	for _, sync := range []string{"batch", "interval"} {
		b.Run("sync="+sync, func(b *testing.B) {
			cfg := testConfig(b)
			cfg.WAL.Sync = sync
			cfg.WAL.SegmentSize = 64 << 20
			cfg.WAL.MaxBytes = 1 << 30
			cfg.Batch.Size = 8192
			discard := writerFunc(func(context.Context, []storage.Span) error { return nil })
			c, err := collector.New(cfg, discard, quietLogger())
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
			conn, err := grpc.NewClient(c.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()

			b.SetBytes(int64(len(req)))
			b.ReportAllocs()
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					in, out := req, []byte(nil)
					if err := conn.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &in, &out, grpc.ForceCodecV2(rawCodec{})); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N*perRequest)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}
