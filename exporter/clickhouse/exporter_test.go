package clickhouse_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/exporter/clickhouse"
	"github.com/tracerdev/tracer/storage"
	chstore "github.com/tracerdev/tracer/storage/clickhouse"
	"github.com/tracerdev/tracer/storage/storagetest"
)

func config(t *testing.T) chstore.Config { return server.Config(t) }

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestExportThroughSDK sends spans from a real OTel TracerProvider through
// the exporter to ClickHouse and reads them back with the Store.
func TestExportThroughSDK(t *testing.T) {
	cfg := config(t)
	ctx := ctxFor(t)
	exp, err := clickhouse.New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.Int("host.cpus", 8))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	tr := tp.Tracer("shop/checkout", trace.WithInstrumentationVersion("v1.2.3"))

	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xab, 1}, SpanID: trace.SpanID{0xcd, 2}, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	linked := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{0xee, 3}, SpanID: trace.SpanID{0xff, 4}})
	pctx := trace.ContextWithRemoteSpanContext(context.Background(), remote)
	start := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	pctx, root := tr.Start(pctx, "POST /checkout", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start),
		trace.WithLinks(trace.Link{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.String("why", "retry")}}))
	root.SetAttributes(
		attribute.String("user.id", "u'1\\"),
		attribute.Int64("items", 3),
		attribute.Float64("total", 12.5),
		attribute.Bool("vip", true),
		attribute.StringSlice("tags", []string{"a", "b"}),
		attribute.ByteSlice("raw", []byte{0, 0xff}),
	)
	_, child := tr.Start(pctx, "charge card", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start.Add(time.Millisecond)))
	child.AddEvent("retry", trace.WithTimestamp(start.Add(2*time.Millisecond)), trace.WithAttributes(attribute.Int("attempt", 2)))
	child.SetStatus(codes.Error, "card declined")
	child.End(trace.WithTimestamp(start.Add(5 * time.Millisecond)))
	root.End(trace.WithTimestamp(start.Add(10 * time.Millisecond)))
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("TracerProvider.Shutdown: %v", err)
	}

	store, err := chstore.New(ctx, cfg)
	if err != nil {
		t.Fatalf("chstore.New: %v", err)
	}
	defer store.Close()
	got, err := store.Trace(ctx, storage.TraceID(remote.TraceID()))
	if err != nil {
		t.Fatalf("Trace: %v", err)
	}
	rootSC, childSC := root.SpanContext(), child.SpanContext()
	resAttrs := []storage.Attribute{
		{Key: "host.cpus", Type: storage.TypeInt, Value: "8"},
		{Key: "service.name", Type: storage.TypeString, Value: "checkout"},
	}
	want := []storage.Span{
		{
			TraceID: storage.TraceID(remote.TraceID()), SpanID: storage.SpanID(rootSC.SpanID()),
			ParentSpanID: storage.SpanID(remote.SpanID()), Flags: 0x301, Name: "POST /checkout", Kind: storage.KindServer,
			StartTime: start.UnixNano(), EndTime: start.Add(10 * time.Millisecond).UnixNano(),
			Service: "checkout", Resource: resAttrs, ScopeName: "shop/checkout", ScopeVersion: "v1.2.3",
			Attributes: []storage.Attribute{
				{Key: "user.id", Type: storage.TypeString, Value: "u'1\\"},
				{Key: "items", Type: storage.TypeInt, Value: "3"},
				{Key: "total", Type: storage.TypeDouble, Value: "12.5"},
				{Key: "vip", Type: storage.TypeBool, Value: "true"},
				{Key: "tags", Type: storage.TypeArray, Value: `["a","b"]`},
				{Key: "raw", Type: storage.TypeBytes, Value: "\x00\xff"},
			},
			Links: []storage.Link{{TraceID: storage.TraceID(linked.TraceID()), SpanID: storage.SpanID(linked.SpanID()),
				Attributes: []storage.Attribute{{Key: "why", Type: storage.TypeString, Value: "retry"}}}},
		},
		{
			TraceID: storage.TraceID(remote.TraceID()), SpanID: storage.SpanID(childSC.SpanID()),
			ParentSpanID: storage.SpanID(rootSC.SpanID()), Flags: 0x101, Name: "charge card", Kind: storage.KindClient,
			StartTime: start.Add(time.Millisecond).UnixNano(), EndTime: start.Add(5 * time.Millisecond).UnixNano(),
			StatusCode: storage.StatusError, StatusMessage: "card declined",
			Service: "checkout", Resource: resAttrs, ScopeName: "shop/checkout", ScopeVersion: "v1.2.3",
			Events: []storage.Event{{Time: start.Add(2 * time.Millisecond).UnixNano(), Name: "retry",
				Attributes: []storage.Attribute{{Key: "attempt", Type: storage.TypeInt, Value: "2"}}}},
		},
	}
	if d := storagetest.DiffSpans(got.Spans, want); d != "" {
		t.Errorf("stored spans differ:\n%s", d)
	}
	found, err := store.FindTraces(ctx, storage.Query{Service: "checkout", Attributes: map[string]string{"items": "3"}})
	if err != nil {
		t.Fatalf("FindTraces: %v", err)
	}
	if len(found) != 1 {
		t.Errorf("FindTraces(items=3) = %d traces, want 1", len(found))
	}
}

// TestExportHostile writes hostile keys and values through the exporter
// and reads them back exactly.
func TestExportHostile(t *testing.T) {
	cfg := config(t)
	ctx := ctxFor(t)
	store, err := chstore.New(ctx, cfg)
	if err != nil {
		t.Fatalf("chstore.New: %v", err)
	}
	defer store.Close()
	exp := clickhouse.NewWithWriter(store)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "hostile"))),
		sdktrace.WithRawSpanLimits(sdktrace.SpanLimits{AttributeValueLengthLimit: -1, AttributeCountLimit: 1000,
			EventCountLimit: 10, LinkCountLimit: 10, AttributePerEventCountLimit: 10, AttributePerLinkCountLimit: 10}))
	tr := tp.Tracer("t")
	var ids []trace.SpanContext
	for _, h := range storagetest.HostileStrings {
		_, sp := tr.Start(context.Background(), h, trace.WithAttributes(attribute.String(h, h), attribute.String("hostile", h)))
		sp.End()
		ids = append(ids, sp.SpanContext())
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for i, h := range storagetest.HostileStrings {
		got, err := store.Trace(ctx, storage.TraceID(ids[i].TraceID()))
		if err != nil {
			t.Fatalf("Trace(%q): %v", h, err)
		}
		sp := got.Spans[0]
		if sp.Name != h {
			t.Errorf("name = %q, want %q", sp.Name, h)
		}
		if a, ok := sp.Attribute(h); !ok || a.Value != h {
			t.Errorf("attribute %q = %+q, %v; want the value back", h, a, ok)
		}
		found, err := store.FindTraces(ctx, storage.Query{Attributes: map[string]string{"hostile": h}})
		if err != nil {
			t.Fatalf("FindTraces(%q): %v", h, err)
		}
		if want := []storage.TraceID{storage.TraceID(ids[i].TraceID())}; !slices.Equal(storagetest.TraceIDs(found), want) {
			t.Errorf("FindTraces(hostile=%q) = %v, want %v", h, storagetest.TraceIDs(found), want)
		}
	}
}

// fakeWriter is a function-field storage.Writer for unit tests.
type fakeWriter struct {
	write func(ctx context.Context, spans []storage.Span) error
}

func (f fakeWriter) WriteSpans(ctx context.Context, spans []storage.Span) error {
	return f.write(ctx, spans)
}

func TestShutdown(t *testing.T) {
	calls := 0
	exp := clickhouse.NewWithWriter(fakeWriter{write: func(context.Context, []storage.Span) error { calls++; return nil }})
	stub := sdktraceStub(t)
	if err := exp.ExportSpans(context.Background(), stub); err != nil {
		t.Fatalf("ExportSpans: %v", err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := exp.ExportSpans(context.Background(), stub); !errors.Is(err, clickhouse.ErrShutdown) {
		t.Errorf("ExportSpans after Shutdown = %v, want ErrShutdown", err)
	}
	if calls != 1 {
		t.Errorf("writer called %d times, want 1", calls)
	}
}

func TestExportErrorIsReturned(t *testing.T) {
	boom := errors.New("boom")
	exp := clickhouse.NewWithWriter(fakeWriter{write: func(context.Context, []storage.Span) error { return boom }})
	if err := exp.ExportSpans(context.Background(), sdktraceStub(t)); !errors.Is(err, boom) {
		t.Errorf("ExportSpans = %v, want the writer's error", err)
	}
}

func sdktraceStub(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}})
	stub := tracetest.SpanStub{Name: "op", SpanContext: sc, StartTime: time.Now(), EndTime: time.Now(),
		InstrumentationScope: instrumentation.Scope{Name: "test"}}
	return []sdktrace.ReadOnlySpan{stub.Snapshot()}
}
