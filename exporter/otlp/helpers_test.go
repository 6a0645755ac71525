package otlp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/exporter/send"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var testRes = resource.NewSchemaless(attribute.String("service.name", "unit"))

// spansNamed returns n spans named prefix-0 ... prefix-(n-1).
func spansNamed(prefix string, n int) []sdktrace.ReadOnlySpan {
	out := make([]sdktrace.ReadOnlySpan, n)
	for i := range out {
		var tid trace.TraceID
		var sid trace.SpanID
		binary.BigEndian.PutUint64(tid[8:], uint64(i+1))
		copy(tid[:8], prefix)
		binary.BigEndian.PutUint64(sid[:], uint64(i+1))
		out[i] = tracetest.SpanStub{
			Name: fmt.Sprintf("%s-%d", prefix, i),
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
			}),
			StartTime:            time.Unix(1700000000, 0),
			EndTime:              time.Unix(1700000001, 0),
			Attributes:           []attribute.KeyValue{attribute.String("k", "v"), attribute.Int("i", i)},
			Resource:             testRes,
			InstrumentationScope: instrumentation.Scope{Name: "unit"},
		}.Snapshot()
	}
	return out
}

// names decodes a request and returns its span names in order.
func names(t testing.TB, body []byte) []string {
	t.Helper()
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		t.Errorf("the exporter sent a request proto.Unmarshal refuses: %v", err)
		return nil
	}
	var out []string
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				out = append(out, s.Name)
			}
		}
	}
	return out
}

var errDown = errors.New("unavailable (fake)")

// fakeSender records what it accepted. fn decides each send's outcome; nil
// accepts everything.
type fakeSender struct {
	t  testing.TB
	mu sync.Mutex
	fn func(ctx context.Context, names []string) (send.Result, error)

	calls    int
	accepted []string       // span names, in the order accepted
	requests [][]string     // accepted requests' span names
	count    map[string]int // accepted times per span
	started  chan []string  // when non-nil, each send's names are sent here first
	closed   bool

	unavailable atomic.Bool // what Available says: every breaker open
}

// Available is send.Sender's: false while every breaker is open.
func (f *fakeSender) Available() bool { return !f.unavailable.Load() }

var _ sender = (*fakeSender)(nil)

func newFake(t testing.TB) *fakeSender {
	return &fakeSender{t: t, count: map[string]int{}}
}

func (f *fakeSender) setFn(fn func(ctx context.Context, names []string) (send.Result, error)) {
	f.mu.Lock()
	f.fn = fn
	f.mu.Unlock()
}

func (f *fakeSender) Send(ctx context.Context, body []byte, spans int) (send.Result, error) {
	ns := names(f.t, body)
	if len(ns) != spans {
		f.t.Errorf("Send of %d spans says %d", len(ns), spans)
	}
	f.mu.Lock()
	f.calls++
	fn, started := f.fn, f.started
	f.mu.Unlock()
	if started != nil {
		select {
		case started <- ns:
		case <-ctx.Done():
			return send.Result{}, ctx.Err()
		}
	}
	res, err := send.Result{Endpoint: "fake"}, error(nil)
	if fn != nil {
		res, err = fn(ctx, ns)
	}
	if err == nil {
		f.mu.Lock()
		f.accepted = append(f.accepted, ns...)
		f.requests = append(f.requests, ns)
		for _, n := range ns {
			f.count[n]++
		}
		f.mu.Unlock()
	}
	return res, err
}

func (f *fakeSender) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

func (f *fakeSender) snapshot() (accepted []string, count map[string]int, calls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(map[string]int, len(f.count))
	for k, v := range f.count {
		c[k] = v
	}
	return append([]string(nil), f.accepted...), c, f.calls
}

// down fails every send with a retryable error.
func down(context.Context, []string) (send.Result, error) { return send.Result{}, errDown }

// hang waits for ctx: an endpoint that never answers.
func hang(ctx context.Context, _ []string) (send.Result, error) {
	<-ctx.Done()
	return send.Result{}, ctx.Err()
}

func newTest(t testing.TB, f *fakeSender, opts ...Option) *Exporter {
	t.Helper()
	base := []Option{withSender(f), WithLogger(quiet), withRetryPause(5 * time.Millisecond)}
	e, err := New(context.Background(), append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
	})
	return e
}

func export(t testing.TB, e *Exporter, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	if err := e.ExportSpans(context.Background(), spans); err != nil {
		t.Fatalf("ExportSpans: %v", err)
	}
}

// waitFor polls cond until it holds or a minute passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func flush(t testing.TB, e *Exporter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.ForceFlush(ctx); err != nil {
		t.Fatalf("ForceFlush: %v (stats %+v)", err, e.Stats())
	}
}
