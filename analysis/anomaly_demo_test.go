package analysis_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracerdev/tracer/analysis"
	"github.com/tracerdev/tracer/examples/demo"
	"github.com/tracerdev/tracer/storage"
)

// anomalyRecorder keeps what the demo's services export: the provider's
// Shutdown would otherwise clear the in-memory exporter.
type anomalyRecorder struct{ *tracetest.InMemoryExporter }

func (anomalyRecorder) Shutdown(context.Context) error { return nil }

// anomalyDemo runs service-a over service-b and service-c (whose database
// queries fail at errorRate), sends searches and a process request, stops
// them and returns the traces recorded.
func anomalyDemo(t *testing.T, errorRate float64, searches int) []*analysis.Trace {
	t.Helper()
	rec := anomalyRecorder{tracetest.NewInMemoryExporter()}
	quiet := slog.New(slog.DiscardHandler)
	var stops []func()
	run := func(f func(context.Context, net.Listener) error) string {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx, lis); err != nil {
				t.Errorf("service: %v", err)
			}
		}()
		stops = append(stops, func() { cancel(); wg.Wait() })
		return lis.Addr().String()
	}
	tel := func(id string) demo.Telemetry { return demo.Telemetry{Exporter: rec, InstanceID: id} }
	c := run(func(ctx context.Context, lis net.Listener) error {
		return demo.RunServiceC(ctx, lis, demo.ServiceCConfig{Telemetry: tel("c"), ErrorRate: errorRate, Rand: func() float64 { return 0.5 }, Logger: quiet})
	})
	b := run(func(ctx context.Context, lis net.Listener) error {
		return demo.RunServiceB(ctx, lis, demo.ServiceBConfig{Telemetry: tel("b"), ServiceC: c, Logger: quiet})
	})
	a := run(func(ctx context.Context, lis net.Listener) error {
		return demo.RunServiceA(ctx, lis, demo.ServiceAConfig{Telemetry: tel("a"), ServiceB: b, Logger: quiet})
	})
	client := &http.Client{Transport: &http.Transport{}}
	for i := range searches {
		// A prefix always scans and two words always get keys in parallel
		// (a single word picks at random).
		resp, err := client.Get("http://" + a + "/api/v1/search?q=" + url.QueryEscape([]string{"pay*", "cart order"}[i%2]))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	client.CloseIdleConnections()
	for _, stop := range slices.Backward(stops) {
		stop()
	}
	byTrace := map[storage.TraceID][]storage.Span{}
	var order []storage.TraceID
	for _, s := range rec.GetSpans() {
		sp := anomalySpan(s)
		if byTrace[sp.TraceID] == nil {
			order = append(order, sp.TraceID)
		}
		byTrace[sp.TraceID] = append(byTrace[sp.TraceID], sp)
	}
	out := make([]*analysis.Trace, len(order))
	for i, id := range order {
		out[i] = analysis.NewTrace(byTrace[id])
	}
	return out
}

// anomalySpan keeps of a recorded span what anomaly detection reads.
func anomalySpan(s tracetest.SpanStub) storage.Span {
	sp := storage.Span{
		TraceID:      storage.TraceID(s.SpanContext.TraceID()),
		SpanID:       storage.SpanID(s.SpanContext.SpanID()),
		Name:         s.Name,
		Kind:         storage.SpanKind(s.SpanKind),
		StartTime:    s.StartTime.UnixNano(),
		EndTime:      s.EndTime.UnixNano(),
		Service:      "unknown_service",
		StatusCode:   storage.StatusUnset,
		ParentSpanID: storage.SpanID(s.Parent.SpanID()),
	}
	if !s.Parent.IsValid() {
		sp.ParentSpanID = storage.SpanID{}
	}
	switch s.Status.Code {
	case codes.Error:
		sp.StatusCode = storage.StatusError
	case codes.Ok:
		sp.StatusCode = storage.StatusOK
	}
	if s.Resource != nil {
		for _, kv := range s.Resource.Attributes() {
			if kv.Key == "service.name" {
				sp.Service = kv.Value.AsString()
			}
		}
	}
	return sp
}

// TestDetectStructureRecorded compares traces recorded from the demo's
// services: two healthy runs are alike; a run whose database fails puts
// service-a's search, service-b's and service-c's spans on error paths.
func TestDetectStructureRecorded(t *testing.T) {
	const searches = 20
	healthy := anomalyDemo(t, 0, searches)
	again := anomalyDemo(t, 0, searches)
	failing := anomalyDemo(t, 1, searches)
	if len(healthy) < searches || len(failing) < searches {
		t.Fatalf("recorded %d and %d traces, want at least %d each", len(healthy), len(failing), searches)
	}
	t.Run("healthy twice", func(t *testing.T) {
		if got := analysis.DetectStructure(healthy, again, analysis.AnomalyOptions{}); len(got) != 0 {
			t.Fatalf("got %+v, want none", got)
		}
	})
	t.Run("database failing", func(t *testing.T) {
		// Every query fails, so the whole chain of a search is on an error
		// path: service-a's server and client spans, service-b's server and
		// its clients to service-c (Get for two words, Scan for a prefix),
		// service-c's servers and their query.
		want := []string{
			"error-path service-a GET /api/v1/search",
			"error-path service-a tracer.examples.demo.v1.Business/Search",
			"error-path service-b tracer.examples.demo.v1.Business/Search",
			"error-path service-b tracer.examples.demo.v1.Data/Get",
			"error-path service-b tracer.examples.demo.v1.Data/Scan",
			"error-path service-c SELECT records",
			"error-path service-c tracer.examples.demo.v1.Data/Get",
			"error-path service-c tracer.examples.demo.v1.Data/Scan",
		}
		var found []string
		for _, a := range analysis.DetectStructure(healthy, failing, analysis.AnomalyOptions{}) {
			// service-b's parallel gets stop at the first failure, so it may
			// make fewer calls to service-c: fewer, never more.
			if a.Kind == analysis.AnomalyFanOut {
				if a.Edge != (analysis.CallEdge{ParentService: "service-b", ParentOperation: "tracer.examples.demo.v1.Business/Search", ChildService: "service-b", ChildOperation: "tracer.examples.demo.v1.Data/Get"}) || a.Current >= a.Baseline {
					t.Errorf("fan-out %+v: %v → %v", a.Edge, a.Baseline, a.Current)
				}
				continue
			}
			found = append(found, string(a.Kind)+" "+a.Service+" "+a.Operation)
			// Mostly 1: a get that service-b cancelled may reach service-c
			// and end there without an error.
			if a.Baseline != 0 || a.Current < 0.9 || len(a.Examples) != 5 {
				t.Errorf("%s %s: %v → %v with %d examples, want 0 → about 1 with 5", a.Service, a.Operation, a.Baseline, a.Current, len(a.Examples))
			}
		}
		slices.Sort(found)
		if !slices.Equal(found, want) {
			t.Fatalf("got %q\nwant %q", found, want)
		}
	})
}
