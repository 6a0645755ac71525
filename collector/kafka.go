package collector

import "time"

// Where the collector's pipeline writes: Config.Sink.
const (
	// SinkStorage writes spans to the storage backend (Config.Storage).
	SinkStorage = "storage"
	// SinkKafka writes each WAL record to Kafka (Config.Kafka) for
	// "tracer ingester" processes to write to storage.
	SinkKafka = "kafka"
)

// KafkaConfig configures the Kafka sink (collector → Kafka) and the
// ingester's Kafka source (Kafka → storage). Messages use the OpenTelemetry
// Collector's "otlp_proto" encoding (an ExportTraceServiceRequest in
// protobuf wire form per message), so either side can be an OpenTelemetry
// Collector with its kafka exporter or receiver.
type KafkaConfig struct {
	// Brokers are the seed brokers, host:port (9092 by default).
	Brokers []string `yaml:"brokers"`
	// Topic is where spans go; default "otlp_spans", the OpenTelemetry
	// Collector's default traces topic.
	Topic string `yaml:"topic"`
	// ClientID names the client to the brokers; default "tracer".
	ClientID string `yaml:"client_id"`
	// Encoding is "otlp_proto", the only one (the OpenTelemetry
	// Collector's name for it).
	Encoding string `yaml:"encoding"`
	// DialTimeout bounds connecting to a broker.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// Producer configures the collector's sink (kafka_producer.go).
	Producer KafkaProducerConfig `yaml:"producer"`
	// Consumer configures the ingester's source (kafka_consumer.go).
	Consumer KafkaConsumerConfig `yaml:"consumer"`
}

// KafkaProducerConfig configures the Kafka sink.
// TODO(issue 16): fields (compression, max message bytes, in flight...).
type KafkaProducerConfig struct{}

// defaultKafkaConfig is KafkaConfig's defaults.
func defaultKafkaConfig() KafkaConfig {
	return KafkaConfig{
		Topic:       "otlp_spans",
		ClientID:    "tracer",
		Encoding:    "otlp_proto",
		DialTimeout: 10 * time.Second,
		Consumer:    defaultKafkaConsumerConfig(),
	}
}
