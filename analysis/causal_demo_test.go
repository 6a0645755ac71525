package analysis

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracerdev/tracer/examples/demo"
	"github.com/tracerdev/tracer/exporter/clickhouse"
	"github.com/tracerdev/tracer/storage"
)

// memExporter collects spans; Shutdown keeps them.
type memExporter struct{ *tracetest.InMemoryExporter }

func (memExporter) Shutdown(context.Context) error { return nil }

// runDemo runs service c, b and a (b's clock 2 s behind, so that timestamps
// contradict the causal order) on loopback, sends requests to a, stops the
// services and returns the recorded spans by trace.
func runDemo(t *testing.T) map[storage.TraceID][]storage.Span {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	exp := memExporter{tracetest.NewInMemoryExporter()}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 3)
	serve := func(run func(context.Context, net.Listener) error) string {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { errs <- run(ctx, lis) })
		return lis.Addr().String()
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("service: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	cAddr := serve(func(ctx context.Context, lis net.Listener) error {
		return demo.RunServiceC(ctx, lis, demo.ServiceCConfig{Telemetry: demo.Telemetry{Exporter: exp, InstanceID: "svc-c"}, Logger: quiet})
	})
	bAddr := serve(func(ctx context.Context, lis net.Listener) error {
		return demo.RunServiceB(ctx, lis, demo.ServiceBConfig{Telemetry: demo.Telemetry{Exporter: exp, InstanceID: "svc-b", Skew: -2 * time.Second}, ServiceC: cAddr, Logger: quiet})
	})
	aAddr := serve(func(ctx context.Context, lis net.Listener) error {
		return demo.RunServiceA(ctx, lis, demo.ServiceAConfig{Telemetry: demo.Telemetry{Exporter: exp, InstanceID: "svc-a"}, ServiceB: bAddr, Logger: quiet})
	})
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	for _, path := range []string{"/api/v1/search?q=example", "/api/v1/search?q=pay*", "/api/v1/process?data=order-1%3Dpaid"} {
		var resp *http.Response
		var err error
		for range 50 { // the listener is open; the server may still be starting
			if resp, err = client.Get("http://" + aAddr + path); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
	}
	client.CloseIdleConnections()
	stop()
	byTrace := map[storage.TraceID][]storage.Span{}
	for _, s := range clickhouse.Convert(nil, exp.GetSpans().Snapshots()) {
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	return byTrace
}

// The example services' call structure comes out ordered: every parent's
// start before its children's, every synchronous call's end before its
// caller's, every cross-process step decided by the clocks, and the causal
// order puts parents first although service b's timestamps are 2 s early.
func TestRelationDemo(t *testing.T) {
	traces := runDemo(t)
	if len(traces) != 3 {
		t.Fatalf("got %d traces, want 3", len(traces))
	}
	for id, spans := range traces {
		t.Run(id.String(), func(t *testing.T) {
			tr := NewTrace(spans)
			c := NewCausal(tr)
			services := map[string]bool{}
			for i := range tr.Len() {
				services[tr.Spans[i].Service] = true
				if !tr.ClockOK[i] {
					t.Errorf("span %q of %s has no clock", tr.Spans[i].Name, tr.Spans[i].Service)
				}
				p := int(tr.Parent[i])
				if p < 0 {
					continue
				}
				got := c.Relation(StartOf(p), StartOf(i))
				if got.Order != Before {
					t.Errorf("parent %q start vs child %q start: %v/%v, want before", tr.Spans[p].Name, tr.Spans[i].Name, got.Order, got.Reason)
				}
				if tr.Spans[p].Service != tr.Spans[i].Service && got.Reason != ReasonClock {
					t.Errorf("cross-process %q -> %q decided by %v, want the clock", tr.Spans[p].Name, tr.Spans[i].Name, got.Reason)
				}
				// A server span ends after it sent the answer: before the
				// client's end when the answer's clock shows the server's
				// end counter (nothing started on the server in between),
				// else possibly after it (the clock may even show that: the
				// server learnt of the client's later work before its span
				// ended).
				if tr.Spans[i].Kind == storage.KindServer && tr.Spans[p].Kind == storage.KindClient {
					got := c.Relation(EndOf(i), EndOf(p))
					seen := tr.Clocks[p].End.Get(tr.Clocks[i].Node) >= max(tr.Clocks[i].End.Get(tr.Clocks[i].Node), tr.Clocks[i].Tick)
					if seen && got.Order != Before {
						t.Errorf("server %q end vs client %q end: %v/%v (answer saw the server's end: %v)", tr.Spans[i].Name, tr.Spans[p].Name, got.Order, got.Reason, seen)
					}
				}
			}
			for _, want := range []string{"service-a", "service-b", "service-c"} {
				if !services[want] {
					t.Errorf("no span of %s", want)
				}
			}
			pos := make([]int, tr.Len())
			order := c.CausalOrder()
			if len(order) != tr.Len() {
				t.Fatalf("CausalOrder has %d spans, want %d", len(order), tr.Len())
			}
			for k, i := range order {
				pos[i] = k
			}
			skewed := false
			for i := range tr.Len() {
				if p := tr.Parent[i]; p >= 0 {
					if pos[p] > pos[i] {
						t.Errorf("CausalOrder puts %q after its child %q", tr.Spans[p].Name, tr.Spans[i].Name)
					}
					skewed = skewed || tr.Spans[p].StartTime > tr.Spans[i].StartTime
				}
			}
			if !skewed {
				t.Error("no child starts before its parent by the timestamps: the skew did not show")
			}
			// A search is synchronous: no span ends after the root's
			// answer, and service-a's own spans end before it. (A remote
			// server span ends after it sent its answer, so its end, and
			// the ends within it that no later tick follows, may be
			// unordered with the root's.)
			root := int(tr.Roots[0])
			if len(tr.Roots) != 1 || tr.Spans[root].Name != "GET /api/v1/search" {
				return
			}
			for i := range tr.Len() {
				if i == root {
					continue
				}
				got := c.Relation(EndOf(i), EndOf(root))
				if got.Order == After || tr.Instance[i] == tr.Instance[root] && got.Order != Before {
					t.Errorf("%q end vs the root's end: %v/%v", tr.Spans[i].Name, got.Order, got.Reason)
				}
			}
		})
	}
}
