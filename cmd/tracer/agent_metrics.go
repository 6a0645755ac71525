package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// sendMetrics carries exporter/send's OTel metrics (sent, rejected, failed,
// retries, breaker state per collector, attempt latency) to the process's
// Prometheus registry: the sender records them through an OTel
// MeterProvider whose manual reader is collected on every scrape of
// /metrics. The names follow the Prometheus conventions of the
// OpenTelemetry Collector's exporter: dots become underscores, counters end
// in _total, a histogram in seconds ends in _seconds; attributes become
// labels the same way (server.address -> server_address).
type sendMetrics struct {
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

var _ prometheus.Collector = (*sendMetrics)(nil)

// newSendMetrics returns the bridge, registered on reg.
func newSendMetrics(reg prometheus.Registerer) (*sendMetrics, error) {
	r := sdkmetric.NewManualReader()
	s := &sendMetrics{reader: r, mp: sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))}
	if err := reg.Register(s); err != nil {
		return nil, fmt.Errorf("register send metrics: %w", err)
	}
	return s, nil
}

// provider is the MeterProvider to give exporter/send.
func (s *sendMetrics) provider() metric.MeterProvider { return s.mp }

// shutdown stops the MeterProvider.
func (s *sendMetrics) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.mp.Shutdown(ctx) // a manual reader has nothing to flush
}

// Describe sends nothing: the metrics are known only once recorded (an
// unchecked collector).
func (s *sendMetrics) Describe(chan<- *prometheus.Desc) {}

// Collect reads the OTel metrics and sends them as Prometheus metrics.
func (s *sendMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var rm metricdata.ResourceMetrics
	if err := s.reader.Collect(ctx, &rm); err != nil {
		ch <- prometheus.NewInvalidMetric(prometheus.NewDesc("tracer_exporter_metrics_error", "exporter/send metrics could not be read", nil, nil), err)
		return
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, pm := range promMetrics(m) {
				ch <- pm
			}
		}
	}
}

// promMetrics converts one OTel metric (the kinds exporter/send records:
// int64 sums and gauges, float64 histograms; others are skipped).
func promMetrics(m metricdata.Metrics) []prometheus.Metric {
	name := promName(m.Name)
	var out []prometheus.Metric
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		vt := prometheus.GaugeValue
		if d.IsMonotonic {
			vt, name = prometheus.CounterValue, name+"_total"
		}
		for _, p := range d.DataPoints {
			keys, vals := promLabels(p.Attributes)
			out = append(out, prometheus.MustNewConstMetric(prometheus.NewDesc(name, m.Description, keys, nil), vt, float64(p.Value), vals...))
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			keys, vals := promLabels(p.Attributes)
			out = append(out, prometheus.MustNewConstMetric(prometheus.NewDesc(name, m.Description, keys, nil), prometheus.GaugeValue, float64(p.Value), vals...))
		}
	case metricdata.Histogram[float64]:
		if m.Unit == "s" {
			name += "_seconds"
		}
		for _, p := range d.DataPoints {
			keys, vals := promLabels(p.Attributes)
			buckets := make(map[float64]uint64, len(p.Bounds))
			var cum uint64
			for i, b := range p.Bounds {
				cum += p.BucketCounts[i]
				buckets[b] = cum
			}
			out = append(out, prometheus.MustNewConstHistogram(prometheus.NewDesc(name, m.Description, keys, nil), p.Count, p.Sum, buckets, vals...))
		}
	}
	return out
}

// promName is an OTel instrument name as a Prometheus metric name.
func promName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// promLabels are an attribute set's label names and values, in the set's
// (sorted) order.
func promLabels(set attribute.Set) (keys, vals []string) {
	for _, kv := range set.ToSlice() {
		keys = append(keys, promName(string(kv.Key)))
		vals = append(vals, kv.Value.String())
	}
	return keys, vals
}
