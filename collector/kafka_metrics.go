package collector

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// kafkaSinkMetrics are the Kafka sink's metrics, part of Metrics and
// registered with the others by NewMetrics (zero unless the sink runs).
type kafkaSinkMetrics struct {
	messages       prometheus.Counter
	bytes          prometheus.Counter
	spans          prometheus.Counter
	produceErrors  prometheus.Counter
	tooLarge       prometheus.Counter
	splitTraces    prometheus.Counter
	pendingRecords prometheus.Gauge
}

// registerKafkaSink creates the sink's metrics in m and registers them on
// reg.
func (mm *Metrics) registerKafkaSink(reg prometheus.Registerer) error {
	const ns = "tracer_collector_kafka_"
	m := &kafkaSinkMetrics{
		messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "messages_produced_total",
			Help: "Messages Kafka acknowledged (acks=all).",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "bytes_produced_total",
			Help: "Bytes of the values of the messages Kafka acknowledged, before compression.",
		}),
		spans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "spans_produced_total",
			Help: "Spans in the messages Kafka acknowledged.",
		}),
		produceErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "produce_errors_total",
			Help: "Messages whose produce failed; they are retried and the WAL is not committed past them.",
		}),
		tooLarge: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "spans_too_large_total",
			Help: "Spans dropped because one alone, with its resource and scope, is larger than kafka.producer.max_message_bytes (also in spans_dropped_total{reason=\"too_large\"}).",
		}),
		splitTraces: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "traces_split_total",
			Help: "Traces of a WAL record sent over several messages to stay under kafka.producer.max_message_bytes.",
		}),
		pendingRecords: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: ns + "pending_messages",
			Help: "Messages of the batch being written that Kafka has not acknowledged yet.",
		}),
	}
	for _, c := range []prometheus.Collector{m.messages, m.bytes, m.spans, m.produceErrors, m.tooLarge, m.splitTraces, m.pendingRecords} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register kafka sink metrics: %w", err)
		}
	}
	mm.kafkaSink = m
	return nil
}
