package otlp

import (
	"context"
	"fmt"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Reasons for dropped spans, the "reason" attribute of
// tracer.exporter.dropped.
const (
	reasonQueueFull  = iota // the memory queue was full (and the spool, if any, behind)
	reasonSpoolFull         // the oldest spool segment was dropped to make room
	reasonRejected          // an OTLP partial success rejected them
	reasonPermanent         // a permanent error (InvalidArgument, HTTP 400...)
	reasonShutdown          // left in memory at Shutdown without a spool, or exported after it
	reasonTooLarge          // a request larger than the spool can hold
	reasonSpoolError        // the spool failed to write (disk error)
	numReasons
)

var reasonNames = [numReasons]string{"queue_full", "spool_full", "rejected", "permanent", "shutdown", "too_large", "spool_error"}

// Stats are the exporter's counters since New, in spans unless named
// otherwise. They are what its metrics report.
type Stats struct {
	Queued   int64 // spans ExportSpans accepted into the memory queue
	Spilled  int64 // spans written to the spool
	Replayed int64 // spans sent from the spool (a subset of Sent)
	Sent     int64 // spans an endpoint accepted (without the rejected ones)
	// Dropped counts spans lost, by reason: "queue_full", "spool_full",
	// "rejected", "permanent", "shutdown", "too_large", "spool_error".
	Dropped map[string]int64
	// Retries counts sends that failed with a retryable error (the data was
	// kept).
	Retries int64

	QueueBytes int64 // encoded bytes in the memory queue now, in flight included
	QueueSpans int64 // spans in the memory queue now
	SpoolBytes int64 // disk space of the spool now, its segments counted whole (what WithSpool caps)
	// MaxQueueBytes is the most QueueBytes has been.
	MaxQueueBytes int64
}

// DroppedTotal sums Dropped.
func (s Stats) DroppedTotal() int64 {
	var n int64
	for _, v := range s.Dropped {
		n += v
	}
	return n
}

type metrics struct {
	queued, spilled, replayed, sent, retries atomic.Int64
	dropped                                  [numReasons]atomic.Int64
	maxQueueBytes                            atomic.Int64
}

func (m *metrics) drop(reason int, spans int64) {
	if spans > 0 {
		m.dropped[reason].Add(spans)
	}
}

// register reports the counters through mp's instruments, read when the
// provider collects: the hot path only adds to atomics.
func (m *metrics) register(mp metric.MeterProvider, e *Exporter) (metric.Registration, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter("github.com/tracerdev/tracer/exporter/otlp")
	counter := func(name, desc string) (metric.Int64ObservableCounter, error) {
		return meter.Int64ObservableCounter(name, metric.WithUnit("{span}"), metric.WithDescription(desc))
	}
	queued, err1 := counter("tracer.exporter.queued", "Spans accepted into the exporter's memory queue.")
	spilled, err2 := counter("tracer.exporter.spilled", "Spans written to the exporter's disk spool.")
	replayed, err3 := counter("tracer.exporter.replayed", "Spans sent from the exporter's disk spool.")
	sent, err4 := counter("tracer.exporter.sent", "Spans an endpoint accepted.")
	dropped, err5 := counter("tracer.exporter.dropped", "Spans lost, by reason.")
	qbytes, err6 := meter.Int64ObservableGauge("tracer.exporter.queue.bytes", metric.WithUnit("By"),
		metric.WithDescription("Encoded bytes in the exporter's memory queue."))
	qspans, err7 := meter.Int64ObservableGauge("tracer.exporter.queue.spans", metric.WithUnit("{span}"),
		metric.WithDescription("Spans in the exporter's memory queue."))
	sbytes, err8 := meter.Int64ObservableGauge("tracer.exporter.spool.bytes", metric.WithUnit("By"),
		metric.WithDescription("Disk space of the exporter's spool."))
	for _, err := range []error{err1, err2, err3, err4, err5, err6, err7, err8} {
		if err != nil {
			return nil, fmt.Errorf("otlp: metrics: %w", err)
		}
	}
	var reasonSets [numReasons]metric.ObserveOption
	for i, n := range reasonNames {
		reasonSets[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", n)))
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := e.Stats()
		o.ObserveInt64(queued, st.Queued)
		o.ObserveInt64(spilled, st.Spilled)
		o.ObserveInt64(replayed, st.Replayed)
		o.ObserveInt64(sent, st.Sent)
		for i := range reasonNames {
			o.ObserveInt64(dropped, m.dropped[i].Load(), reasonSets[i])
		}
		o.ObserveInt64(qbytes, st.QueueBytes)
		o.ObserveInt64(qspans, st.QueueSpans)
		o.ObserveInt64(sbytes, st.SpoolBytes)
		return nil
	}, queued, spilled, replayed, sent, dropped, qbytes, qspans, sbytes)
	if err != nil {
		return nil, fmt.Errorf("otlp: metrics: %w", err)
	}
	return reg, nil
}
