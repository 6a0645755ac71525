package collector

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Where a consumer group with no committed offset starts: KafkaConsumerConfig.InitialOffset.
const (
	// OffsetEarliest starts at the oldest message the topic keeps.
	OffsetEarliest = "earliest"
	// OffsetLatest starts at the next message written.
	OffsetLatest = "latest"
)

// KafkaConsumerConfig configures the ingester's Kafka source: the consumer
// group that "tracer ingester" processes share. The names follow the
// OpenTelemetry Collector's kafka receiver (pkg/kafka/configkafka's
// ConsumerConfig) where it has the same setting.
type KafkaConsumerConfig struct {
	// GroupID is the consumer group; default "tracer-ingester". Every
	// ingester of one deployment uses the same group, so that each
	// partition is read by one of them. The OpenTelemetry Collector's
	// receiver defaults to "otel-collector": a different name on purpose,
	// so that an OpenTelemetry Collector reading the same topic does not
	// join Tracer's group and take half of its partitions (and spans) away.
	// Jaeger's ingester likewise uses "jaeger-ingester".
	GroupID string `yaml:"group_id"`
	// InitialOffset is where a group without a committed offset starts:
	// "earliest" (the default) or "latest". The OpenTelemetry Collector
	// defaults to latest; Tracer does not, because collectors trim their
	// WAL once Kafka has acknowledged the spans: a new group starting at
	// the latest offset would skip every span written before the first
	// ingester joined, acknowledged spans lost.
	InitialOffset string `yaml:"initial_offset"`
	// FetchMaxBytes bounds the bytes one fetch returns over all partitions
	// (Kafka's fetch.max.bytes; default 16 MiB). A single message larger
	// than this still comes, alone.
	FetchMaxBytes int `yaml:"fetch_max_bytes"`
	// FetchMaxPartitionBytes bounds the bytes one fetch returns per
	// partition (max.partition.fetch.bytes; default 4 MiB).
	FetchMaxPartitionBytes int `yaml:"fetch_max_partition_bytes"`
	// SessionTimeout is how long the group waits for a member's heartbeat
	// before it moves that member's partitions to the others (default 45s,
	// Kafka's).
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// HeartbeatInterval is how often a member tells the group it is alive
	// (default 3s); well below SessionTimeout.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// RebalanceTimeout is how long the group waits for its members to
	// give up partitions in a rebalance (default 60s). An ingester finishes
	// its batch in flight within half of it, else it leaves the batch's
	// offsets uncommitted for the partition's next owner (nothing lost, a
	// few spans written twice, which storage shows once).
	RebalanceTimeout time.Duration `yaml:"rebalance_timeout"`
}

// defaultKafkaConsumerConfig is KafkaConsumerConfig's defaults.
func defaultKafkaConsumerConfig() KafkaConsumerConfig {
	return KafkaConsumerConfig{
		GroupID:                "tracer-ingester",
		InitialOffset:          OffsetEarliest,
		FetchMaxBytes:          16 << 20,
		FetchMaxPartitionBytes: 4 << 20,
		SessionTimeout:         45 * time.Second,
		HeartbeatInterval:      3 * time.Second,
		RebalanceTimeout:       60 * time.Second,
	}
}

// validateConsumer reports the problems of the settings the ingester's
// Kafka source reads (the client's that the sink shares, and the consumer
// group's), each starting with its YAML key.
func (c KafkaConfig) validateConsumer() []error {
	errs := c.validateKafkaClient()
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	k := c.Consumer
	if strings.TrimSpace(k.GroupID) == "" {
		bad("kafka.consumer.group_id is required (tracer-ingester by default; every ingester of a deployment uses the same)")
	}
	switch k.InitialOffset {
	case OffsetEarliest, OffsetLatest:
	default:
		bad("kafka.consumer.initial_offset must be %q or %q, got %q", OffsetEarliest, OffsetLatest, k.InitialOffset)
	}
	if k.FetchMaxBytes <= 0 || k.FetchMaxBytes > math.MaxInt32 {
		bad("kafka.consumer.fetch_max_bytes must be positive and below 2GiB (Kafka's fetch sizes are 32-bit), got %d", k.FetchMaxBytes)
	}
	if k.FetchMaxPartitionBytes <= 0 || k.FetchMaxPartitionBytes > k.FetchMaxBytes {
		bad("kafka.consumer.fetch_max_partition_bytes (%d) must be positive and at most kafka.consumer.fetch_max_bytes (%d)", k.FetchMaxPartitionBytes, k.FetchMaxBytes)
	}
	if k.HeartbeatInterval <= 0 || k.HeartbeatInterval >= k.SessionTimeout {
		bad("kafka.consumer.heartbeat_interval (%v) must be positive and below kafka.consumer.session_timeout (%v)", k.HeartbeatInterval, k.SessionTimeout)
	}
	if k.RebalanceTimeout < time.Second {
		bad("kafka.consumer.rebalance_timeout must be at least 1s, got %v", k.RebalanceTimeout)
	}
	return errs
}

// ValidateIngester reports every problem of the settings "tracer ingester"
// reads, joined: the Kafka source's (kafka.*), batching, retries, storage,
// limits, telemetry and the shutdown timeout. The receivers, the WAL and the
// sink are the collector's and are not checked, so that one file can serve
// collectors and ingesters.
func (cfg *Config) ValidateIngester() error {
	errs := cfg.Kafka.validateConsumer()
	// The collector's Validate checks storage only for its storage sink;
	// the ingester always writes storage.
	c := *cfg
	c.Sink = SinkStorage
	if err := c.Validate(); err != nil {
		for _, e := range splitJoined(err) {
			msg := e.Error()
			for _, p := range []string{"batch.", "retry.", "storage.", "limits.", "telemetry.", "shutdown_timeout"} {
				if strings.HasPrefix(msg, p) {
					errs = append(errs, e)
					break
				}
			}
		}
	}
	return errors.Join(errs...)
}

// splitJoined returns the errors a joined error holds, or err alone.
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
