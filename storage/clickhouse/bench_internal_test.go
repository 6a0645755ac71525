package clickhouse

import (
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// BenchmarkColumnsFill measures turning spans into the writer's columns,
// per batch of 1000 typical spans, reusing one columns as writeBatch does
// through Store.spare.
func BenchmarkColumnsFill(b *testing.B) {
	g := storagetest.NewGenerator(1)
	var spans []storage.Span
	for len(spans) < 1000 {
		spans = append(spans, g.Trace(time.Now(), 5)...)
	}
	b.ReportAllocs()
	var c columns
	b.ResetTimer()
	for b.Loop() {
		c.fill(spans, hashResources(spans), 1)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
}
