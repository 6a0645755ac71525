package send

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const meterName = "github.com/tracerdev/tracer/exporter/send"

// metrics are the instruments the package doc lists.
type metrics struct {
	sentRequests metric.Int64Counter
	sentSpans    metric.Int64Counter
	rejected     metric.Int64Counter
	failedReqs   metric.Int64Counter
	failedSpans  metric.Int64Counter
	retries      metric.Int64Counter
	duration     metric.Float64Histogram
	reg          metric.Registration
}

// endpointMetrics are one endpoint's precomputed attribute options.
type endpointMetrics struct {
	addr      metric.MeasurementOption
	retryable metric.MeasurementOption
	permanent metric.MeasurementOption
	set       attribute.Set
}

func newMetrics(mp metric.MeterProvider, eps []*endpoint) (*metrics, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	mt := mp.Meter(meterName)
	m := &metrics{}
	var err error
	c := func(name, unit, desc string) metric.Int64Counter {
		if err != nil {
			return nil
		}
		var ctr metric.Int64Counter
		ctr, err = mt.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		return ctr
	}
	m.sentRequests = c("tracer.exporter.sent.requests", "{request}", "Requests an endpoint accepted.")
	m.sentSpans = c("tracer.exporter.sent.spans", "{span}", "Spans in the requests an endpoint accepted, rejected ones included.")
	m.rejected = c("tracer.exporter.rejected.spans", "{span}", "Spans an OTLP partial success rejected.")
	m.failedReqs = c("tracer.exporter.failed.requests", "{request}", "Attempts that failed, by error.type (retryable or permanent).")
	m.failedSpans = c("tracer.exporter.failed.spans", "{span}", "Spans lost to permanent errors.")
	m.retries = c("tracer.exporter.retries", "{attempt}", "Attempts after the first of one Send.")
	if err != nil {
		return nil, err
	}
	m.duration, err = mt.Float64Histogram("tracer.exporter.attempt.duration", metric.WithUnit("s"),
		metric.WithDescription("The latency of one attempt."),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	if err != nil {
		return nil, err
	}
	state, err := mt.Int64ObservableGauge("tracer.exporter.breaker.state", metric.WithUnit("{state}"),
		metric.WithDescription("Each endpoint's circuit breaker: 0 closed, 1 half-open, 2 open."))
	if err != nil {
		return nil, err
	}
	for _, ep := range eps {
		addr := attribute.String("server.address", ep.cfg.Address)
		ep.m = endpointMetrics{
			addr:      metric.WithAttributes(addr),
			retryable: metric.WithAttributes(addr, attribute.String("error.type", "retryable")),
			permanent: metric.WithAttributes(addr, attribute.String("error.type", "permanent")),
			set:       attribute.NewSet(addr),
		}
	}
	m.reg, err = mt.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, ep := range eps {
			o.ObserveInt64(state, int64(ep.br.state()), metric.WithAttributeSet(ep.m.set))
		}
		return nil
	}, state)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (m *metrics) sent(ctx context.Context, ep *endpoint, spans int, rejected int64, d time.Duration) {
	m.sentRequests.Add(ctx, 1, ep.m.addr)
	m.sentSpans.Add(ctx, int64(spans), ep.m.addr)
	if rejected > 0 {
		m.rejected.Add(ctx, rejected, ep.m.addr)
	}
	m.duration.Record(ctx, d.Seconds(), ep.m.addr)
}

func (m *metrics) failed(ctx context.Context, ep *endpoint, kind string, spans int, d time.Duration) {
	opt := ep.m.retryable
	if kind == "permanent" {
		opt = ep.m.permanent
		m.failedSpans.Add(ctx, int64(spans), opt)
	}
	m.failedReqs.Add(ctx, 1, opt)
	m.duration.Record(ctx, d.Seconds(), opt)
}

func (m *metrics) close() error { return m.reg.Unregister() }
