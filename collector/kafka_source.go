package collector

import (
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tracerdev/tracer/collector/otlp"
)

// The ingester's Kafka source: how its franz-go client is configured and
// what it accepts as a message.
//
// A message is one ExportTraceServiceRequest in protobuf wire form, the
// OpenTelemetry Collector's "otlp_proto" encoding: what its kafka exporter
// writes (exporter/kafkaexporter/internal/marshaler/pdata_marshaler.go:
// ptrace.ProtoMarshaler's bytes as the message value; with
// partition_traces_by_id, one trace per message keyed by the trace id in hex,
// kafka_exporter.go's partitionData) and its kafka receiver reads
// (receiver/kafkareceiver/pdata_unmarshaler.go: ptrace.ProtoUnmarshaler over
// the value, nothing else). The key only places the message on a partition
// and the ingester does not need it. Headers carry the sender's client
// metadata when the exporter's include_metadata_keys asks for it; the
// receiver turns them into resource attributes only when its
// header_extraction is enabled, which is off by default: the ingester
// ignores them, as that default does.

// kafkaConsumerOpts returns the franz-go options of the ingester's
// consumer group client for cfg, logging to log.
func kafkaConsumerOpts(cfg KafkaConfig, log *slog.Logger) []kgo.Opt {
	c := cfg.Consumer
	reset := kgo.NewOffset().AtStart()
	if c.InitialOffset == OffsetLatest {
		reset = kgo.NewOffset().AtEnd()
	}
	return append(cfg.kafkaClientOpts(log),
		kgo.ConsumerGroup(c.GroupID),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumeResetOffset(reset),
		kgo.FetchMaxBytes(int32(c.FetchMaxBytes)),
		kgo.FetchMaxPartitionBytes(int32(c.FetchMaxPartitionBytes)),
		kgo.SessionTimeout(c.SessionTimeout),
		kgo.HeartbeatInterval(c.HeartbeatInterval),
		kgo.RebalanceTimeout(c.RebalanceTimeout),
		// Offsets are committed by the ingester, only past what storage
		// has written.
		kgo.DisableAutoCommit(),
		// Polls and rebalance callbacks exclude each other, so that a
		// batch is never committed for a partition this member no longer
		// owns; the ingester aborts a write that is being retried when a
		// rebalance waits (OnPartitionsCallbackBlocked).
		kgo.BlockRebalanceOnPoll(),
	)
}

// scanMessage validates a message value as an OTLP request with the
// collector's scanner (the receivers' checks, so that storage gets the same
// spans from Kafka as from OTLP), turning a scanner panic into an error so
// that one bad message cannot crash the ingester on every start.
func scanMessage(value []byte, lim otlp.Limits) (res otlp.ScanResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = otlp.ScanResult{}, fmt.Errorf("scanner panic: %v", r)
		}
	}()
	return otlp.Scan(value, lim)
}

// ingesterLimits are the limits the ingester scans and decodes with: the
// configured ones without a cap on spans per message, which Kafka's own
// message size bounds (a message the collector accepted must not be
// refused here).
func ingesterLimits(l LimitsConfig) otlp.Limits {
	lim := l.otlp()
	lim.MaxSpans = 0
	return lim
}
