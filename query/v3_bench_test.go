package query

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tracerdev/tracer/storage"
)

// discardWriter is a ResponseWriter that drops the body.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(b []byte) (int, error) { return io.Discard.Write(b) }

// BenchmarkV3Trace serves a 10,000-span trace from the memory store; the
// "store" sub-benchmark is the StreamTrace call alone, so the difference is
// the API's own cost (parsing, OTLP/JSON, writing).
func BenchmarkV3Trace(b *testing.B) {
	const n = 10_000
	spans := make([]storage.Span, n)
	for i := range spans {
		spans[i] = genSpan(i)
	}
	store := newStore(b, spans)
	ctx := context.Background()
	b.Run("store", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := store.StreamTrace(ctx, testTraceID(1), func([]storage.Span) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
	})
	b.Run("api", func(b *testing.B) {
		a, err := New(store, DefaultConfig(), nil)
		if err != nil {
			b.Fatal(err)
		}
		h := a.Handler()
		req := httptest.NewRequest(http.MethodGet, "/api/v3/traces/"+testTraceID(1).String(), nil)
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(&discardWriter{h: http.Header{}}, req)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
	})
}
