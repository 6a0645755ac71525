package demo

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tracerdev/tracer/examples/demo/demopb"
	"github.com/tracerdev/tracer/vclock"
)

const (
	bizSearch  = "tracer.examples.demo.v1.Business/Search"
	bizProcess = "tracer.examples.demo.v1.Business/Process"
	sendJob    = "send followups"
	processJob = "process followups"
)

// startBC runs service-c and service-b in front of it, both sending their
// spans to rec. stop stops b (draining its worker), then c.
func startBC(t *testing.T, rec recorder, c ServiceCConfig, b ServiceBConfig) (demopb.BusinessClient, func()) {
	t.Helper()
	c.Exporter, b.Exporter = rec, rec
	c.Logger, b.Logger = quiet, quiet
	cAddr, stopC := start(t, func(ctx context.Context, lis net.Listener) error { return RunServiceC(ctx, lis, c) })
	b.ServiceC = cAddr
	bAddr, stopB := start(t, func(ctx context.Context, lis net.Listener) error { return RunServiceB(ctx, lis, b) })
	return demopb.NewBusinessClient(dial(t, bAddr)), func() { stopB(); stopC() }
}

// barrier is a Rand for service-c that holds each of the first n database
// queries until all n are in flight at once (or a while has passed: then
// the test fails), so that a test can tell parallel calls from sequential
// ones without timing them. A query's first draw is its first call, and
// no query makes a second before the first n have arrived.
func barrier(t *testing.T, n int) func() float64 {
	var (
		mu      sync.Mutex
		arrived int
		all     = make(chan struct{})
	)
	return func() float64 {
		mu.Lock()
		arrived++
		mine := arrived
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		if mine <= n {
			select {
			case <-all:
			case <-time.After(10 * time.Second):
				t.Errorf("only %d of %d database queries were in flight at once", arrived, n)
			}
		}
		return 0.5
	}
}

// happenedBefore checks that x's start happened before y's by their clocks.
func happenedBefore(t *testing.T, x, y tracetest.SpanStub) {
	t.Helper()
	if got := vclock.CompareStarts(clock(t, x), clock(t, y)); got != vclock.Before {
		t.Errorf("clock: %s (%s) vs %s (%s) = %v, want before", x.Name, service(x), y.Name, service(y), got)
	}
}

// callsToC checks the shape under each of b's client spans for method:
// c's server span is its child, and started after it by the clock.
func callsToC(t *testing.T, spans tracetest.SpanStubs, calls []tracetest.SpanStub, method string) []tracetest.SpanStub {
	t.Helper()
	var servers []tracetest.SpanStub
	for _, call := range calls {
		if call.SpanKind != trace.SpanKindClient || service(call) != "service-b" {
			t.Errorf("%s: kind %v of %s, want a client span of service-b", call.Name, call.SpanKind, service(call))
		}
		srv := childrenNamed(spans, call, method)
		if len(srv) != 1 || service(srv[0]) != "service-c" || srv[0].SpanKind != trace.SpanKindServer {
			t.Errorf("%d server spans under service-b's %s, want one of service-c", len(srv), call.Name)
			continue
		}
		happenedBefore(t, call, srv[0])
		servers = append(servers, srv[0])
	}
	return servers
}

func TestServiceBSearchParallel(t *testing.T) {
	rec := newRecorder()
	keys := []string{"alpha:0", "alpha:1", "alpha:2", "beta:0", "beta:1", "beta:2"}
	b, stop := startBC(t, rec, ServiceCConfig{Rand: barrier(t, len(keys))}, ServiceBConfig{})
	resp, err := b.Search(context.Background(), &demopb.SearchRequest{Query: "alpha beta"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range resp.GetResults() {
		got = append(got, r.GetKey())
	}
	if !slices.Equal(got, keys) {
		t.Errorf("Search(alpha beta) = %v, want %v", got, keys)
	}
	stop()

	spans := rec.GetSpans()
	roots := named(spans, "service-b", bizSearch)
	if len(roots) != 1 {
		t.Fatalf("%d Search server spans, want 1", len(roots))
	}
	root := roots[0]
	calls := childrenNamed(spans, root, dataGet)
	if len(calls) != len(keys) {
		t.Fatalf("%d Get calls under Search, want %d", len(calls), len(keys))
	}
	servers := callsToC(t, spans, calls, dataGet)
	for _, srv := range servers {
		if len(childrenNamed(spans, srv, dbSelect)) != 1 {
			t.Errorf("service-c's Get %s: no database span under it", srv.SpanContext.SpanID())
		}
		// What b did after the calls (its span's end) knows c's work.
		if got := vclock.Compare(clock(t, srv).Start, clock(t, root).End); got != vclock.Before {
			t.Errorf("clock: c's Get vs the end of b's Search = %v, want before", got)
		}
	}
	// Every query was in flight at once, so the sibling calls overlap.
	for i, x := range calls {
		for _, y := range calls[i+1:] {
			if !x.StartTime.Before(y.EndTime) || !y.StartTime.Before(x.EndTime) {
				t.Errorf("sibling calls do not overlap: [%v, %v] and [%v, %v]", x.StartTime, x.EndTime, y.StartTime, y.EndTime)
			}
		}
	}
}

func TestServiceBSearchScan(t *testing.T) {
	rec := newRecorder()
	b, stop := startBC(t, rec, ServiceCConfig{}, ServiceBConfig{})
	resp, err := b.Search(context.Background(), &demopb.SearchRequest{Query: "gamma*", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.GetResults()); n != 5 {
		t.Errorf("Search(gamma*) found %d records, want 5", n)
	}
	empty, err := b.Search(context.Background(), &demopb.SearchRequest{Query: "nosuch*"})
	if err != nil || len(empty.GetResults()) != 0 {
		t.Errorf("Search(nosuch*) = %v, %v; want nothing", empty.GetResults(), err)
	}
	stop()

	spans := rec.GetSpans()
	roots := named(spans, "service-b", bizSearch)
	if len(roots) != 2 {
		t.Fatalf("%d Search server spans, want 2", len(roots))
	}
	calls := childrenNamed(spans, roots[0], dataScan)
	if len(calls) != 1 {
		t.Fatalf("%d Scan calls under Search, want 1", len(calls))
	}
	servers := callsToC(t, spans, calls, dataScan)
	if len(servers) == 1 {
		if n := len(childrenNamed(spans, servers[0], dbSelect)); n != 2 {
			t.Errorf("%d database pages under the Scan of 5 records, want 2", n)
		}
	}
}

func TestServiceBSearchErrors(t *testing.T) {
	rec := newRecorder()
	b, _ := startBC(t, rec, ServiceCConfig{ErrorRate: 1}, ServiceBConfig{})
	tests := []struct {
		name string
		req  *demopb.SearchRequest
		want codes.Code
	}{
		{"no query", &demopb.SearchRequest{Query: "  "}, codes.InvalidArgument},
		{"negative limit", &demopb.SearchRequest{Query: "alpha", Limit: -1}, codes.InvalidArgument},
		{"c unavailable for a Get", &demopb.SearchRequest{Query: "alpha beta"}, codes.Unavailable},
		{"c unavailable for a Scan", &demopb.SearchRequest{Query: "alpha*"}, codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.Search(context.Background(), tt.req)
			if got := status.Code(err); got != tt.want {
				t.Errorf("Search: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestServiceBProcess(t *testing.T) {
	rec := newRecorder()
	// The first query (the first Put) fails, every other succeeds.
	b, stop := startBC(t, rec, ServiceCConfig{ErrorRate: 0.5, Rand: script(0.9, 0)}, ServiceBConfig{})
	resp, err := b.Process(context.Background(), &demopb.ProcessRequest{Data: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetAttempts() != 2 || resp.GetJobId() == "" {
		t.Errorf("Process = %v, want 2 attempts and a job", resp)
	}
	stop() // drains the worker: its spans are flushed too

	spans := rec.GetSpans()
	roots := named(spans, "service-b", bizProcess)
	if len(roots) != 1 {
		t.Fatalf("%d Process server spans, want 1", len(roots))
	}
	root := roots[0]
	wantAttrs(t, root, attribute.Int("demo.put.attempts", 2))
	retries := slices.DeleteFunc(slices.Clone(root.Events), func(e sdktrace.Event) bool { return e.Name != "retry" })
	if len(retries) != 1 {
		t.Fatalf("%d retry events, want 1", len(retries))
	}
	if !slices.Contains(retries[0].Attributes, attribute.Int("retry.attempt", 2)) {
		t.Errorf("retry event %v: no retry.attempt 2", retries[0].Attributes)
	}

	t.Run("two attempts", func(t *testing.T) {
		calls := childrenNamed(spans, root, dataPut)
		if len(calls) != 2 {
			t.Fatalf("%d Put calls, want 2", len(calls))
		}
		for i, call := range calls {
			wantAttrs(t, call, attribute.Int("retry.attempt", i+1))
		}
		if calls[0].Status.Code != otelcodes.Error || calls[1].Status.Code == otelcodes.Error {
			t.Errorf("attempts' status %v, %v; want error, then not", calls[0].Status, calls[1].Status)
		}
		if !calls[0].EndTime.Before(calls[1].StartTime) {
			t.Error("the second attempt started before the first ended")
		}
		servers := callsToC(t, spans, calls, dataPut)
		if len(servers) == 2 {
			if servers[0].Status.Code != otelcodes.Error {
				t.Errorf("c's first Put: status %v, want error", servers[0].Status)
			}
			happenedBefore(t, servers[0], calls[1]) // the retry knows the failure
		}
	})

	t.Run("producer and consumer", func(t *testing.T) {
		producers := childrenNamed(spans, root, sendJob)
		if len(producers) != 1 {
			t.Fatalf("%d %q spans under Process, want 1", len(producers), sendJob)
		}
		p := producers[0]
		if p.SpanKind != trace.SpanKindProducer {
			t.Errorf("%s kind %v, want producer", p.Name, p.SpanKind)
		}
		msg := []attribute.KeyValue{
			attribute.String("messaging.system", "tracer-demo-queue"),
			attribute.String("messaging.destination.name", "followups"),
			attribute.String("messaging.message.id", resp.GetJobId()),
		}
		wantAttrs(t, p, append(msg, attribute.String("messaging.operation.type", "send"))...)
		// The producer comes after the Put that succeeded, by the clock.
		calls := childrenNamed(spans, root, dataPut)
		if servers := callsToC(t, spans, calls[len(calls)-1:], dataPut); len(servers) == 1 {
			happenedBefore(t, servers[0], p)
		}

		consumers := children(spans, p)
		if len(consumers) != 1 || consumers[0].Name != processJob {
			t.Fatalf("children of the producer %v, want one %q", consumers, processJob)
		}
		cs := consumers[0]
		if cs.SpanKind != trace.SpanKindConsumer {
			t.Errorf("%s kind %v, want consumer", cs.Name, cs.SpanKind)
		}
		wantAttrs(t, cs, append(msg, attribute.String("messaging.operation.type", "process"))...)
		if len(cs.Links) != 1 || cs.Links[0].SpanContext.SpanID() != p.SpanContext.SpanID() || cs.Links[0].SpanContext.TraceID() != p.SpanContext.TraceID() {
			t.Errorf("consumer links %v, want one to the producer %v", cs.Links, p.SpanContext)
		}
		if cs.Status.Code == otelcodes.Error {
			t.Errorf("consumer failed: %v", cs.Status)
		}
		happenedBefore(t, p, cs)
		calls = childrenNamed(spans, cs, dataGet)
		if len(calls) != 1 {
			t.Fatalf("%d Get calls under the consumer, want 1", len(calls))
		}
		callsToC(t, spans, calls, dataGet)
	})
}

func TestServiceBProcessErrors(t *testing.T) {
	rec := newRecorder()
	b, stop := startBC(t, rec, ServiceCConfig{ErrorRate: 1}, ServiceBConfig{})
	if _, err := b.Process(context.Background(), &demopb.ProcessRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Process of no data: %v, want InvalidArgument", err)
	}
	if _, err := b.Process(context.Background(), &demopb.ProcessRequest{Data: "x"}); status.Code(err) != codes.Unavailable {
		t.Errorf("Process with c down: %v, want Unavailable", err)
	}
	stop()
	spans := rec.GetSpans()
	roots := named(spans, "service-b", bizProcess)
	if len(roots) != 2 {
		t.Fatalf("%d Process spans, want 2", len(roots))
	}
	root := roots[1]
	if n := len(childrenNamed(spans, root, dataPut)); n != putAttempts {
		t.Errorf("%d Put attempts, want %d", n, putAttempts)
	}
	if n := len(childrenNamed(spans, root, sendJob)); n != 0 {
		t.Errorf("%d jobs queued by a failed Process, want none", n)
	}
	if root.Status.Code != otelcodes.Error {
		t.Errorf("Process span status %v, want error", root.Status)
	}
}

// A full queue drops the job; the request succeeds and its producer span
// says so. No worker runs here, so the queue stays full.
func TestServiceBQueueFull(t *testing.T) {
	data, _ := startC(t, newRecorder(), ServiceCConfig{})
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	b := newBusiness(tp.Tracer("test"), data, 1)
	defer b.jobs.close()
	tests := []struct {
		name    string
		dropped bool
	}{
		{"fits", false},
		{"full", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spans.Reset()
			resp, err := b.Process(context.Background(), &demopb.ProcessRequest{Data: fmt.Sprint("job ", i)})
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.GetJobId() == ""; got != tt.dropped {
				t.Errorf("job id %q, want dropped %v", resp.GetJobId(), tt.dropped)
			}
			producers := named(spans.GetSpans(), "", sendJob)
			if len(producers) != 1 {
				t.Fatalf("%d producer spans, want 1", len(producers))
			}
			p := producers[0]
			if got := p.Status.Code == otelcodes.Error; got != tt.dropped {
				t.Errorf("producer status %v, want error %v", p.Status, tt.dropped)
			}
			if v, _ := attr(p, "messaging.dropped"); v.AsBool() != tt.dropped {
				t.Errorf("messaging.dropped %v, want %v", v.AsBool(), tt.dropped)
			}
		})
	}
	if n := b.jobs.dropped(); n != 1 {
		t.Errorf("dropped %d jobs, want 1", n)
	}
}

func TestServiceBConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  ServiceBConfig
		ok   bool
	}{
		{"minimal", ServiceBConfig{ServiceC: "localhost:8002"}, true},
		{"queue size", ServiceBConfig{ServiceC: "localhost:8002", QueueSize: 1}, true},
		{"no service-c", ServiceBConfig{}, false},
		{"negative queue size", ServiceBConfig{ServiceC: "localhost:8002", QueueSize: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// With service-c gone, service-b answers Unavailable and still stops
// cleanly.
func TestServiceBWithoutC(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := lis.Addr().String()
	_ = lis.Close()
	cfg := ServiceBConfig{Telemetry: Telemetry{Exporter: newRecorder()}, ServiceC: gone, Logger: quiet}
	addr, _ := start(t, func(ctx context.Context, lis net.Listener) error { return RunServiceB(ctx, lis, cfg) })
	b := demopb.NewBusinessClient(dial(t, addr))
	for _, req := range []*demopb.SearchRequest{{Query: "alpha beta"}, {Query: "alpha*"}} {
		if _, err := b.Search(context.Background(), req); status.Code(err) != codes.Unavailable {
			t.Errorf("Search(%q): %v, want Unavailable", req.GetQuery(), err)
		}
	}
	if _, err := b.Process(context.Background(), &demopb.ProcessRequest{Data: "x"}); status.Code(err) != codes.Unavailable {
		t.Errorf("Process: %v, want Unavailable", err)
	}
}
