package collector

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaProducerConfig configures the Kafka sink (kafka_sink.go). The
// producer is always idempotent with acks=all (every in-sync replica has
// the message before Kafka acknowledges it): the WAL is trimmed only after
// that acknowledgement, so there is no setting that would weaken it.
type KafkaProducerConfig struct {
	// Compression of the record batches: "none" (the default, as the
	// OpenTelemetry Collector's kafka exporter: pkg/kafka/configkafka
	// NewDefaultProducerConfig), "gzip", "snappy", "lz4" or "zstd".
	Compression string `yaml:"compression"`
	// MaxMessageBytes bounds one message, and one record batch: set it to
	// the topic's max.message.bytes (Kafka's broker default is 1048588; the
	// default here, 1000000, is the OpenTelemetry Collector exporter's and
	// fits under every Kafka default). The sink splits what would not fit:
	// by trace, then a trace's spans over several messages; a span that
	// does not fit alone is dropped and counted.
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// MaxBufferedRecords and MaxBufferedBytes bound the messages the
	// producer holds in memory, sent and not yet acknowledged or waiting to
	// be sent; past them a flush waits for acknowledgements.
	MaxBufferedRecords int   `yaml:"max_buffered_records"`
	MaxBufferedBytes   int64 `yaml:"max_buffered_bytes"`
	// Linger is how long a partition's batch waits for more messages
	// before it is sent.
	Linger time.Duration `yaml:"linger"`
	// Timeout bounds one produce request at the broker (Kafka's
	// request.timeout.ms); the flush as a whole is bounded by
	// storage.write_timeout, after which the pipeline retries it.
	Timeout time.Duration `yaml:"timeout"`
	// AllowAutoTopicCreation lets producing create the topic with the
	// broker's defaults (one partition, often); by default the topic must
	// exist, with the partitions the ingesters are to share.
	AllowAutoTopicCreation bool `yaml:"allow_auto_topic_creation"`
}

// defaultKafkaProducerConfig is KafkaProducerConfig's defaults.
func defaultKafkaProducerConfig() KafkaProducerConfig {
	return KafkaProducerConfig{
		Compression:        "none",
		MaxMessageBytes:    1000000,
		MaxBufferedRecords: 10000,
		MaxBufferedBytes:   64 << 20,
		Linger:             10 * time.Millisecond,
		Timeout:            10 * time.Second,
	}
}

// kafkaMinMessageBytes is the smallest MaxMessageBytes accepted: room for a
// resource, a scope and a span of ordinary size.
const kafkaMinMessageBytes = 4096

// kafkaMaxMessageBytes is the largest: what franz-go writes to a broker in
// one request (its default MaxBrokerWriteBytes, Kafka's
// socket.request.max.bytes).
const kafkaMaxMessageBytes = 100 << 20

// validate reports the problems of c, each starting with its YAML key under
// kafka.producer.
func (c *KafkaProducerConfig) validate() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("kafka.producer."+format, a...)) }
	if _, err := kafkaCompression(c.Compression); err != nil {
		bad("compression: %v", err)
	}
	if c.MaxMessageBytes < kafkaMinMessageBytes || c.MaxMessageBytes > kafkaMaxMessageBytes {
		bad("max_message_bytes must be between %d and %d (the topic's max.message.bytes), got %d", kafkaMinMessageBytes, kafkaMaxMessageBytes, c.MaxMessageBytes)
	}
	if c.MaxBufferedRecords <= 0 {
		bad("max_buffered_records must be positive, got %d", c.MaxBufferedRecords)
	}
	if c.MaxBufferedBytes < int64(c.MaxMessageBytes) {
		bad("max_buffered_bytes (%d) must be at least kafka.producer.max_message_bytes (%d)", c.MaxBufferedBytes, c.MaxMessageBytes)
	}
	if c.Linger < 0 {
		bad("linger must not be negative, got %v", c.Linger)
	}
	if c.Timeout < time.Second {
		bad("timeout must be at least 1s, got %v", c.Timeout)
	}
	return errs
}

// kafkaCompression is the codec a Compression setting names.
func kafkaCompression(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("want none, gzip, snappy, lz4 or zstd; got %q", name)
}

// producerOpts are the franz-go options of the sink's client: c's and the
// ones Tracer does not let go (idempotence, which franz-go enables by
// default, and acks=all, which it requires).
func (c *KafkaProducerConfig) producerOpts() ([]kgo.Opt, error) {
	codec, err := kafkaCompression(c.Compression)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerBatchMaxBytes(int32(c.MaxMessageBytes)),
		kgo.MaxBufferedRecords(c.MaxBufferedRecords),
		kgo.MaxBufferedBytes(int(c.MaxBufferedBytes)),
		kgo.ProducerLinger(c.Linger),
		kgo.ProduceRequestTimeout(c.Timeout),
		// Keyed messages go to murmur2(key) % partitions, as the Java
		// client (and so every Kafka tool) puts them: a trace stays on one
		// partition.
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
	}
	if c.AllowAutoTopicCreation {
		opts = append(opts, kgo.AllowAutoTopicCreation())
	}
	return opts, nil
}
