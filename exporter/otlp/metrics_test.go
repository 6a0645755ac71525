package otlp

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tracerdev/tracer/exporter/send"
)

// TestMetrics reads the exporter's instruments through a real OTel
// MeterProvider: they say what Stats says.
func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	f := newFake(t)
	f.setFn(func(_ context.Context, ns []string) (send.Result, error) {
		if ns[0] == "perm-0" {
			return send.Result{}, &send.PermanentError{Endpoint: "fake", Err: errors.New("bad")}
		}
		return send.Result{Rejected: 1}, nil
	})
	e := newTest(t, f, WithMeterProvider(mp), WithSendBatch(0, 1), WithSpool(t.TempDir(), 0))
	export(t, e, spansNamed("ok", 4))
	export(t, e, spansNamed("perm", 2))
	flush(t, e)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/tracerdev/tracer/exporter/otlp" {
			continue
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					name := m.Name
					if r, ok := p.Attributes.Value(attribute.Key("reason")); ok {
						name += "{" + r.AsString() + "}"
					}
					got[name] = p.Value
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					got[m.Name] = p.Value
				}
			}
		}
	}
	want := map[string]int64{
		"tracer.exporter.queued":              6,
		"tracer.exporter.sent":                3,
		"tracer.exporter.spilled":             0,
		"tracer.exporter.replayed":            0,
		"tracer.exporter.dropped{rejected}":   1,
		"tracer.exporter.dropped{permanent}":  2,
		"tracer.exporter.dropped{queue_full}": 0,
		"tracer.exporter.dropped{spool_full}": 0,
		"tracer.exporter.dropped{shutdown}":   0,
		"tracer.exporter.queue.bytes":         0,
		"tracer.exporter.queue.spans":         0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %d (reported %v), want %d", k, g, ok, v)
		}
	}
	if _, ok := got["tracer.exporter.spool.bytes"]; !ok {
		t.Error("no tracer.exporter.spool.bytes")
	}
}
