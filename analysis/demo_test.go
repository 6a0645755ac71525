package analysis

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracerdev/tracer/examples/demo"
	"github.com/tracerdev/tracer/exporter/clickhouse"
	"github.com/tracerdev/tracer/storage"
)

// demoRecorder keeps a service's spans in memory past its provider's
// shutdown.
type demoRecorder struct{ *tracetest.InMemoryExporter }

func (demoRecorder) Shutdown(context.Context) error { return nil }

// recordDemo runs the example services (examples/demo) service-c, service-b
// and service-a on loopback listeners (service-b's clock off by skewB),
// sends the searches and process requests to service-a, stops them (which
// flushes their spans) and returns the recorded spans by trace, in storage
// form: traces as the analyses see them in production.
func recordDemo(t *testing.T, skewB time.Duration, searches []string, processes int) map[storage.TraceID][]storage.Span {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	var stops []func()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		stops = nil
	}
	t.Cleanup(stopAll)
	run := func(f func(context.Context, net.Listener) error) string {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- f(ctx, lis) }()
		stops = append(stops, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("service: %v", err)
			}
		})
		return lis.Addr().String()
	}
	recs := []demoRecorder{{tracetest.NewInMemoryExporter()}, {tracetest.NewInMemoryExporter()}, {tracetest.NewInMemoryExporter()}}
	cAddr := run(func(ctx context.Context, lis net.Listener) error {
		return demo.RunServiceC(ctx, lis, demo.ServiceCConfig{Telemetry: demo.Telemetry{Exporter: recs[2], InstanceID: "svc-c"}, Logger: quiet})
	})
	bAddr := run(func(ctx context.Context, lis net.Listener) error {
		return demo.RunServiceB(ctx, lis, demo.ServiceBConfig{Telemetry: demo.Telemetry{Exporter: recs[1], InstanceID: "svc-b", Skew: skewB},
			ServiceC: cAddr, Logger: quiet})
	})
	aAddr := run(func(ctx context.Context, lis net.Listener) error {
		return demo.RunServiceA(ctx, lis, demo.ServiceAConfig{Telemetry: demo.Telemetry{Exporter: recs[0], InstanceID: "svc-a"},
			ServiceB: bAddr, Logger: quiet})
	})
	client := &http.Client{Transport: &http.Transport{}}
	get := func(path string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+aAddr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
	}
	for _, q := range searches {
		get("/api/v1/search?q=" + url.QueryEscape(q))
	}
	for range processes {
		get("/api/v1/process?data=order-1%3Dpaid")
	}
	client.CloseIdleConnections()
	stopAll()
	byTrace := map[storage.TraceID][]storage.Span{}
	for _, r := range recs {
		for _, s := range clickhouse.Convert(nil, r.GetSpans().Snapshots()) {
			byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
		}
	}
	return byTrace
}
