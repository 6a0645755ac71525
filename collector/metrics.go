package collector

import (
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tracerdev/tracer/wal"
)

// Reasons a request or a span is rejected, the "reason" label.
const (
	reasonMalformed     = "malformed"      // the request could not be parsed
	reasonTooLarge      = "too_large"      // request bigger than the limit
	reasonMediaType     = "media_type"     // unsupported content type or encoding
	reasonBackpressure  = "backpressure"   // in-flight or WAL cap reached
	reasonShuttingDown  = "shutting_down"  // intake stopped
	reasonInternalError = "internal_error" // the WAL failed
	reasonScannerPanic  = "scanner_panic"  // a scanner bug hit by the request
)

// Metrics are the collector's self-metrics, shared by its components and
// registered once on the prometheus.Registerer given to NewMetrics.
type Metrics struct {
	wal atomic.Pointer[wal.WAL] // the WAL the gauges read, once open

	spansReceived    *prometheus.CounterVec // transport
	spansRejected    *prometheus.CounterVec // transport, reason
	requestsRejected *prometheus.CounterVec // transport, reason
	backpressure     *prometheus.CounterVec // transport
	attrsDropped     prometheus.Counter
	valuesTruncated  prometheus.Counter
	stringsTruncated prometheus.Counter // other strings cut, trace states dropped
	eventsDropped    prometheus.Counter
	linksDropped     prometheus.Counter
	inflightBytes    prometheus.Gauge

	batchesWritten prometheus.Counter
	spansWritten   prometheus.Counter
	writeLatency   prometheus.Histogram
	writeRetries   prometheus.Counter
	writeFailures  prometheus.Counter // writes that failed, retried
	storageRetry   prometheus.Gauge   // 1 while writes are being retried
	spansDropped   *prometheus.CounterVec
	scannerPanics  prometheus.Counter

	kafkaSink *kafkaSinkMetrics // kafka_metrics.go
}

// NewMetrics creates the collector's metrics and registers them on reg
// (the process's one registry, say). Build one per registry.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	const ns = "tracer_collector_"
	m := &Metrics{
		spansReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "spans_received_total",
			Help: "Spans accepted by a receiver and acknowledged (in the WAL).",
		}, []string{"transport"}),
		spansRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "spans_rejected_total",
			Help: "Spans rejected by a receiver, by reason (spans of unparsable requests are not counted: see requests_rejected_total).",
		}, []string{"transport", "reason"}),
		requestsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "requests_rejected_total",
			Help: "Requests refused as a whole, by reason.",
		}, []string{"transport", "reason"}),
		backpressure: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "backpressure_total",
			Help: "Requests answered with a retryable error because the in-flight or WAL cap was reached.",
		}, []string{"transport"}),
		attrsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "attributes_dropped_total",
			Help: "Attributes of spans, resources, events and links dropped past their count limits.",
		}),
		valuesTruncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "attribute_values_truncated_total",
			Help: "Attribute values truncated to limits.max_attribute_value_len.",
		}),
		stringsTruncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "strings_truncated_total",
			Help: "Keys, status messages, event names and scope names cut to their limits, and trace states dropped past theirs (see otlp.Limits).",
		}),
		eventsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "events_dropped_total",
			Help: "Span events dropped past the events-per-span limit.",
		}),
		linksDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "links_dropped_total",
			Help: "Span links dropped past the links-per-span limit.",
		}),
		inflightBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: ns + "inflight_bytes",
			Help: "Bytes of requests being received and not yet in the WAL.",
		}),
		batchesWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "batches_written_total",
			Help: "Batches written to storage.",
		}),
		spansWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "spans_written_total",
			Help: "Spans written to storage.",
		}),
		writeLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    ns + "write_duration_seconds",
			Help:    "Duration of one storage write attempt.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		writeRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "write_retries_total",
			Help: "Storage writes retried after a retryable error.",
		}),
		writeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "write_failures_total",
			Help: "Storage write attempts that failed with an error other than storage.RejectedError (they are retried; the WAL is not committed past them).",
		}),
		storageRetry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: ns + "storage_retrying",
			Help: "1 while storage writes are failing and being retried, else 0.",
		}),
		spansDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "spans_dropped_total",
			Help: "Acknowledged spans that could not be stored, by reason (rejected: spans a storage.RejectedError named; decode_error: WAL records that failed to decode, counted once each).",
		}, []string{"reason"}),
		scannerPanics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "scanner_panics_total",
			Help: "Requests on which the OTLP scanner panicked (a bug; the request is refused, see requests_rejected_total{reason=\"scanner_panic\"}).",
		}),
	}
	stats := func() wal.Stats {
		if w := m.wal.Load(); w != nil {
			return w.Stats()
		}
		return wal.Stats{}
	}
	committed := func() wal.Offset {
		if w := m.wal.Load(); w != nil {
			return w.Committed()
		}
		return 0
	}
	for _, c := range []prometheus.Collector{
		m.spansReceived, m.spansRejected, m.requestsRejected, m.backpressure,
		m.attrsDropped, m.valuesTruncated, m.stringsTruncated, m.eventsDropped, m.linksDropped, m.inflightBytes,
		m.batchesWritten, m.spansWritten, m.writeLatency, m.writeRetries,
		m.writeFailures, m.storageRetry, m.spansDropped, m.scannerPanics,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: ns + "wal_bytes",
			Help: "Disk space of the WAL segment files, each counted whole (what wal.max_bytes caps).",
		}, func() float64 { return float64(stats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: ns + "wal_segments",
			Help: "WAL segment files on disk.",
		}, func() float64 { return float64(stats().Segments) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: ns + "wal_corrupted_records_total",
			Help: "Damaged WAL records skipped when the WAL was opened: acknowledged records lost.",
		}, func() float64 { return float64(stats().Corrupted) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: ns + "wal_torn_tails_total",
			Help: "Torn tails (incomplete records at a segment's end) cut when the WAL was opened.",
		}, func() float64 { return float64(stats().TornTruncations) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: ns + "wal_lost_tails_total",
			Help: "Of the torn tails, those of a segment that was not the last, which a crash cannot produce.",
		}, func() float64 { return float64(stats().LostTails) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: ns + "wal_lost_records_total",
			Help: "Acknowledged, uncommitted WAL records lost with those tails.",
		}, func() float64 { return float64(stats().LostRecords) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: ns + "wal_committed_offset",
			Help: "Offset of the last WAL record the sink has durably written.",
		}, func() float64 { return float64(committed()) }),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	if err := m.registerKafkaSink(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// newRegistry returns a registry with the Go runtime and process
// collectors, for a collector that was given no registerer.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	// A fresh registry cannot refuse these two: the errors are nil.
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
