package analysis

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracerdev/tracer/examples/demo"
	"github.com/tracerdev/tracer/exporter/clickhouse"
	"github.com/tracerdev/tracer/storage"
)

// skewRecorder keeps the spans a service flushed when it stopped
// (tracetest's exporter forgets them on Shutdown).
type skewRecorder struct{ *tracetest.InMemoryExporter }

func (skewRecorder) Shutdown(context.Context) error { return nil }

// skewRunService runs a service of examples/demo on a loopback listener until the
// returned stop is called.
func skewRunService(t *testing.T, run func(context.Context, net.Listener) error) (string, func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, lis) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return lis.Addr().String(), stop
}

// skewDemoTraces runs service-a → service-b → service-c of examples/demo, with
// service-b's clock off by skew (demo.Telemetry.Skew), sends searches and
// a process request, and returns the recorded traces in storage form.
func skewDemoTraces(t *testing.T, skew time.Duration) map[storage.TraceID][]storage.Span {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	aSpans, bSpans, cSpans := skewRecorder{tracetest.NewInMemoryExporter()}, skewRecorder{tracetest.NewInMemoryExporter()}, skewRecorder{tracetest.NewInMemoryExporter()}
	cAddr, stopC := skewRunService(t, func(ctx context.Context, lis net.Listener) error {
		return demo.RunServiceC(ctx, lis, demo.ServiceCConfig{Telemetry: demo.Telemetry{Exporter: cSpans, InstanceID: "svc-c"}, Logger: quiet})
	})
	bAddr, stopB := skewRunService(t, func(ctx context.Context, lis net.Listener) error {
		return demo.RunServiceB(ctx, lis, demo.ServiceBConfig{Telemetry: demo.Telemetry{Exporter: bSpans, InstanceID: "svc-b", Skew: skew}, ServiceC: cAddr, Logger: quiet})
	})
	aAddr, stopA := skewRunService(t, func(ctx context.Context, lis net.Listener) error {
		return demo.RunServiceA(ctx, lis, demo.ServiceAConfig{Telemetry: demo.Telemetry{Exporter: aSpans, InstanceID: "svc-a"}, ServiceB: bAddr, Logger: quiet})
	})
	client := &http.Client{Transport: &http.Transport{}}
	for _, path := range []string{"/api/v1/search?q=example", "/api/v1/search?q=" + url.QueryEscape("pay*"), "/api/v1/process?data=" + url.QueryEscape("order-1=paid")} {
		resp, err := client.Get("http://" + aAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
	}
	client.CloseIdleConnections()
	stopA()
	stopB()
	stopC()
	var spans []storage.Span
	for _, r := range []skewRecorder{aSpans, bSpans, cSpans} {
		spans = clickhouse.Convert(spans, r.GetSpans().Snapshots())
	}
	traces := map[storage.TraceID][]storage.Span{}
	for _, s := range spans {
		traces[s.TraceID] = append(traces[s.TraceID], s)
	}
	if len(traces) != 3 {
		t.Fatalf("%d traces, want 3", len(traces))
	}
	return traces
}

// Traces recorded from the example services, service-b's clock off by a
// known skew: every pair's interval contains the true skew (the real call
// latencies only widen it), service-b's estimate contains it, and with no
// skew nothing is reported.
func TestSkewDemo(t *testing.T) {
	tests := []struct {
		name string
		skew time.Duration
	}{
		{"service-b ahead", 250 * time.Millisecond},
		{"service-b behind", -80 * time.Millisecond},
		{"no skew", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			skewSeen := 0
			for id, spans := range skewDemoTraces(t, tt.skew) {
				tr := NewTrace(spans)
				r := Skew(NewCausal(tr))
				truth := func(i int32) time.Duration {
					if tr.Instances[i].ID == "svc-b" {
						return tt.skew
					}
					return 0
				}
				if tr.Instances[r.Reference].ID != "svc-a" {
					t.Fatalf("trace %v: reference %+v, want svc-a", id, tr.Instances[r.Reference])
				}
				seen, abSkewed := map[string]bool{}, false
				for _, p := range r.Pairs {
					name := tr.Instances[p.A].ID + ">" + tr.Instances[p.B].ID
					seen[name] = true
					want := truth(p.B) - truth(p.A)
					if !p.Skew.Contains(want) {
						t.Errorf("trace %v: %s: skew %+v does not contain %v", id, name, p.Skew, want)
					}
					if p.Skewed() != (want != 0 && !p.Skew.Contains(0)) {
						t.Errorf("trace %v: %s: skewed %v with skew %v, interval %+v", id, name, p.Skewed(), want, p.Skew)
					}
					if tt.skew == 0 && p.Skewed() {
						t.Errorf("trace %v: %s: violations %+v with no skew", id, name, p.Violations)
					}
					// service-a calls service-b and waits for it: both
					// directions bound the pair.
					if name == "svc-a>svc-b" || name == "svc-b>svc-a" {
						if !p.Skew.HasLo || !p.Skew.HasHi {
							t.Errorf("trace %v: %s: %+v, want both bounds", id, name, p.Skew)
						}
						abSkewed = p.Skewed()
					}
				}
				if !seen["svc-a>svc-b"] && !seen["svc-b>svc-a"] {
					t.Errorf("trace %v: no pair of service-a and service-b in %v", id, seen)
				}
				for i, is := range r.Instances {
					if !is.Range.Contains(truth(int32(i))) {
						t.Errorf("trace %v: %s: range %+v does not contain %v", id, tr.Instances[i].ID, is.Range, truth(int32(i)))
					}
					if is.Contradicted {
						t.Errorf("trace %v: %s contradicted", id, tr.Instances[i].ID)
					}
					if tt.skew == 0 && is.Offset != 0 {
						t.Errorf("trace %v: %s: offset %v with no skew", id, tr.Instances[i].ID, is.Offset)
					}
				}
				if abSkewed {
					// The timestamps of service-a and service-b contradict
					// their orders (a skew beyond the latencies: a slow
					// first call, connection set-up included, may hide
					// it): service-b is shifted, towards the true skew.
					b := r.Instances[instanceOfID(t, tr, "svc-b")]
					if b.Offset == 0 || (b.Offset > 0) != (tt.skew > 0) {
						t.Errorf("trace %v: service-b offset %v, want one towards %v", id, b.Offset, tt.skew)
					}
					skewSeen++
				}
				checkAdjusted(t, r, tr)
			}
			// Of three traces, the skew shows in at least one.
			if tt.skew != 0 && skewSeen == 0 {
				t.Errorf("no trace shows service-b's skew of %v", tt.skew)
			}
		})
	}
}

func instanceOfID(t *testing.T, tr *Trace, id string) int32 {
	t.Helper()
	for i, in := range tr.Instances {
		if in.ID == id {
			return int32(i)
		}
	}
	t.Fatalf("no instance %q", id)
	return -1
}
