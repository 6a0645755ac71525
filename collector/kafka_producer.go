package collector

import (
	"fmt"
	"hash/fnv"
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
	// Partitioner says how a message's key (its trace id in hex) picks its
	// partition: "sarama_compat" (the default, as the OpenTelemetry
	// Collector's kafka exporter: exporter/kafkaexporter factory.go sets
	// record_partitioner sticky_key with hasher sarama_compat, FNV-1a as
	// Sarama, and so Jaeger's collector, hashes) or "murmur2" (the Java
	// client's, the exporter's hasher murmur2). Collectors writing one
	// topic with an OpenTelemetry Collector must hash as it does, or a
	// trace would be spread over two partitions.
	Partitioner string `yaml:"partitioner"`
	// AllowAutoTopicCreation lets producing create the topic with the
	// broker's defaults (one partition, often); by default the topic must
	// exist, with the partitions the ingesters are to share.
	AllowAutoTopicCreation bool `yaml:"allow_auto_topic_creation"`
}

// defaultKafkaProducerConfig is KafkaProducerConfig's defaults.
func defaultKafkaProducerConfig() KafkaProducerConfig {
	return KafkaProducerConfig{
		Compression:        "none",
		Partitioner:        PartitionerSaramaCompat,
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
	if _, err := kafkaPartitioner(c.Partitioner); err != nil {
		bad("partitioner: %v", err)
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

// The partitioners of KafkaProducerConfig.Partitioner.
const (
	// PartitionerSaramaCompat hashes keys as Sarama and the OpenTelemetry
	// Collector's kafka exporter by default: FNV-1a.
	PartitionerSaramaCompat = "sarama_compat"
	// PartitionerMurmur2 hashes keys as the Java client: murmur2.
	PartitionerMurmur2 = "murmur2"
)

// kafkaPartitioner is the partitioner a Partitioner setting names: a
// sticky key partitioner with its hasher, as the OpenTelemetry Collector's
// kafka exporter builds it (exporter/kafkaexporter v0.165.1 partitioner.go,
// internal/kafka franz_client.go NewSaramaCompatHasher).
func kafkaPartitioner(name string) (kgo.Partitioner, error) {
	switch name {
	case PartitionerSaramaCompat:
		return kgo.StickyKeyPartitioner(kgo.SaramaCompatHasher(fnv32a)), nil
	case PartitionerMurmur2:
		return kgo.StickyKeyPartitioner(nil), nil
	}
	return nil, fmt.Errorf("want %s (the OpenTelemetry Collector's kafka exporter's default) or %s (the Java client's); got %q",
		PartitionerSaramaCompat, PartitionerMurmur2, name)
}

// fnv32a is FNV-1a of b, Sarama's default key hash.
func fnv32a(b []byte) uint32 {
	h := fnv.New32a()
	h.Write(b)
	return h.Sum32()
}

// producerOpts are the franz-go options of the sink's client: c's and the
// ones Tracer does not let go (idempotence, which franz-go enables by
// default, and acks=all, which it requires).
func (c *KafkaProducerConfig) producerOpts() ([]kgo.Opt, error) {
	codec, err := kafkaCompression(c.Compression)
	if err != nil {
		return nil, err
	}
	partitioner, err := kafkaPartitioner(c.Partitioner)
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
		// Keyed messages go to hash(key) % partitions: a trace stays on
		// one partition, the one the OpenTelemetry Collector's exporter
		// would choose with the same hasher.
		kgo.RecordPartitioner(partitioner),
	}
	if c.AllowAutoTopicCreation {
		opts = append(opts, kgo.AllowAutoTopicCreation())
	}
	return opts, nil
}
