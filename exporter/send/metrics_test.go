package send

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// points collects rm's int sums and gauges as name{server.address,error.type} → value.
func points(t *testing.T, rm metricdata.ResourceMetrics) (map[string]int64, map[string]uint64) {
	t.Helper()
	ints := map[string]int64{}
	hists := map[string]uint64{}
	key := func(name string, set attribute.Set) string {
		addr, _ := set.Value("server.address")
		k := name + "{" + addr.AsString()
		if et, ok := set.Value("error.type"); ok {
			k += "," + et.AsString()
		}
		return k + "}"
	}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != meterName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, meterName)
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					ints[key(m.Name, p.Attributes)] = p.Value
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					ints[key(m.Name, p.Attributes)] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					hists[key(m.Name, p.Attributes)] = p.Count
				}
			}
		}
	}
	return ints, hists
}

func TestMetrics(t *testing.T) {
	partial := startGRPC(t, func(_ context.Context, n int) (*coltracepb.ExportTraceServiceResponse, error) {
		switch n {
		case 0:
			return nil, status.Error(codes.Unavailable, "restarting")
		case 1:
			return &coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{RejectedSpans: 2}}, nil
		default:
			return nil, status.Error(codes.InvalidArgument, "bad")
		}
	})
	bad := startHTTP(t, func(context.Context, int) (int, http.Header, []byte) { return http.StatusBadRequest, nil, nil })
	dead := Endpoint{Address: closedPort(t), Protocol: GRPC, Insecure: true}

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	s := newTestSender(t, Config{
		Endpoints:     []Endpoint{dead, partial.endpoint()},
		Breaker:       BreakerConfig{Failures: 2, OpenFor: time.Hour},
		MeterProvider: mp,
	}, newFakeClock())
	body := request(t, 5)
	// 1: dead fails, partial says Unavailable; after a backoff dead fails
	// again (its breaker opens) and partial accepts with 2 rejected.
	if res, err := s.Send(context.Background(), body, 5); err != nil || res.Rejected != 2 || res.Attempts != 4 {
		t.Fatalf("Send 1 = %+v, %v", res, err)
	}
	// 2: partial answers InvalidArgument: permanent.
	if _, err := s.Send(context.Background(), body, 5); !IsPermanent(err) {
		t.Fatalf("Send 2 error = %v, want permanent", err)
	}
	// 3: to the HTTP endpoint alone.
	s2 := newTestSender(t, Config{Endpoints: []Endpoint{bad.endpoint()}, MeterProvider: mp}, newFakeClock())
	if _, err := s2.Send(context.Background(), body, 5); !IsPermanent(err) {
		t.Fatalf("Send 3 error = %v, want permanent", err)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	ints, hists := points(t, rm)
	p, d, b := partial.addr, dead.Address, bad.endpoint().Address
	want := map[string]int64{
		"tracer.exporter.sent.requests{" + p + "}":             1,
		"tracer.exporter.sent.spans{" + p + "}":                5,
		"tracer.exporter.rejected.spans{" + p + "}":            2,
		"tracer.exporter.failed.requests{" + d + ",retryable}": 2,
		"tracer.exporter.failed.requests{" + p + ",retryable}": 1,
		"tracer.exporter.failed.requests{" + p + ",permanent}": 1,
		"tracer.exporter.failed.spans{" + p + ",permanent}":    5,
		"tracer.exporter.failed.requests{" + b + ",permanent}": 1,
		"tracer.exporter.failed.spans{" + b + ",permanent}":    5,
		"tracer.exporter.retries{" + p + "}":                   2,
		"tracer.exporter.retries{" + d + "}":                   1,
		"tracer.exporter.breaker.state{" + d + "}":             int64(stateOpen),
		"tracer.exporter.breaker.state{" + p + "}":             int64(stateClosed),
		"tracer.exporter.breaker.state{" + b + "}":             int64(stateClosed), // s2's
	}
	for k, w := range want {
		if got, ok := ints[k]; !ok || got != w {
			t.Errorf("%s = %d (present %v), want %d", k, got, ok, w)
		}
	}
	for k, v := range ints {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected point %s = %d", k, v)
		}
	}
	if got := hists["tracer.exporter.attempt.duration{"+p+"}"]; got != 1 {
		t.Errorf("attempt.duration count for the accepted attempt = %d, want 1", got)
	}
	if got := hists["tracer.exporter.attempt.duration{"+d+",retryable}"]; got != 2 {
		t.Errorf("attempt.duration count for the dead endpoint = %d, want 1", got)
	}
}
