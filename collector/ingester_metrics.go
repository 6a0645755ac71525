package collector

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// IngesterMetrics are the ingester's self-metrics (tracer_ingester_*),
// registered once on the prometheus.Registerer given to NewIngesterMetrics.
// The storage sink it writes through counts on the collector's Metrics as
// well (tracer_collector_spans_written_total, spans_dropped_total,
// attributes_dropped_total...), which the ingester registers beside these.
type IngesterMetrics struct {
	messagesConsumed prometheus.Counter
	spansConsumed    prometheus.Counter
	messagesWritten  prometheus.Counter
	spansWritten     prometheus.Counter
	malformed        prometheus.Counter
	spansInvalid     prometheus.Counter
	batches          prometheus.Counter
	writeFailures    prometheus.Counter
	storageRetrying  prometheus.Gauge
	commits          prometheus.Counter
	commitFailures   prometheus.Counter
	fetchErrors      prometheus.Counter
	rebalances       *prometheus.CounterVec // event: assigned, revoked, lost
	abandoned        prometheus.Counter
	partitions       prometheus.Gauge
	lag              *prometheus.GaugeVec // topic, partition
	committedOffset  *prometheus.GaugeVec // topic, partition
}

// NewIngesterMetrics creates the ingester's metrics and registers them on
// reg. Build one per registry.
func NewIngesterMetrics(reg prometheus.Registerer) (*IngesterMetrics, error) {
	const ns = "tracer_ingester_"
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: ns + name, Help: help})
	}
	m := &IngesterMetrics{
		messagesConsumed: counter("messages_consumed_total", "Kafka messages read (a message read again after a rebalance or restart counts again)."),
		spansConsumed:    counter("spans_consumed_total", "Valid spans in the Kafka messages read."),
		messagesWritten:  counter("messages_written_total", "Kafka messages whose spans are written to storage."),
		spansWritten:     counter("spans_written_total", "Spans written to storage (duplicates after a rebalance or restart count again; storage shows them once)."),
		malformed:        counter("messages_malformed_total", "Kafka messages that are not OTLP protobuf ExportTraceServiceRequests: logged, skipped and committed."),
		spansInvalid:     counter("spans_invalid_total", "Spans left out of otherwise valid messages for what the collector's receivers reject (bad ids, times, kinds...)."),
		batches:          counter("batches_written_total", "Batches written to storage."),
		writeFailures:    counter("write_failures_total", "Storage write attempts that failed and are retried (offsets stay uncommitted)."),
		storageRetrying: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: ns + "storage_retrying", Help: "1 while storage writes are failing and being retried, else 0.",
		}),
		commits:        counter("commits_total", "Offset commits that succeeded."),
		commitFailures: counter("commit_failures_total", "Offset commits that failed (retried with the next batch; a restart before then reads those messages again)."),
		fetchErrors:    counter("fetch_errors_total", "Errors fetching from Kafka (the client retries)."),
		rebalances: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "rebalances_total", Help: "Consumer group rebalance callbacks, by event: assigned, revoked, lost.",
		}, []string{"event"}),
		abandoned: counter("messages_abandoned_total", "Messages of revoked or lost partitions whose offsets were left uncommitted because their batch was not written in time: their next owner reads them again."),
		partitions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: ns + "partitions_assigned", Help: "Partitions this ingester owns.",
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: ns + "partition_lag",
			Help: "Messages in the partition after the last one read: its high watermark (from the last fetch) minus the next offset to read.",
		}, []string{"topic", "partition"}),
		committedOffset: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: ns + "committed_offset", Help: "Last offset this ingester committed for the partition (the next one to read).",
		}, []string{"topic", "partition"}),
	}
	for _, c := range []prometheus.Collector{
		m.messagesConsumed, m.spansConsumed, m.messagesWritten, m.spansWritten, m.malformed, m.spansInvalid,
		m.batches, m.writeFailures, m.storageRetrying, m.commits, m.commitFailures, m.fetchErrors,
		m.rebalances, m.abandoned, m.partitions, m.lag, m.committedOffset,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register ingester metrics: %w", err)
		}
	}
	for _, ev := range []string{"assigned", "revoked", "lost"} {
		m.rebalances.WithLabelValues(ev)
	}
	return m, nil
}

// forgetPartition removes a partition's gauges once it is no longer owned.
func (m *IngesterMetrics) forgetPartition(topic string, partition int32) {
	p := strconv.Itoa(int(partition))
	m.lag.DeleteLabelValues(topic, p)
	m.committedOffset.DeleteLabelValues(topic, p)
}
