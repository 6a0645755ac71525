package collector

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

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

// defaultKafkaConfig is KafkaConfig's defaults.
func defaultKafkaConfig() KafkaConfig {
	return KafkaConfig{
		Topic:       "otlp_spans",
		ClientID:    "tracer",
		Encoding:    "otlp_proto",
		DialTimeout: 10 * time.Second,
		Producer:    defaultKafkaProducerConfig(),
		Consumer:    defaultKafkaConsumerConfig(),
	}
}

// validateKafkaClient reports the problems of the settings that the sink
// and the ingester's source share, each starting with its YAML key.
func (c *KafkaConfig) validateKafkaClient() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("kafka."+format, a...)) }
	if len(c.Brokers) == 0 {
		bad("brokers: at least one broker (host:port) is required: give the seed brokers with --kafka-brokers or TRACER_KAFKA_BROKERS (Kafka's port is 9092)")
	}
	for _, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			bad("brokers: %q is not host:port: %v", b, err)
		}
	}
	if c.Topic == "" {
		bad("topic must be set")
	}
	if c.ClientID == "" {
		bad("client_id must be set")
	}
	if c.Encoding != "otlp_proto" {
		bad("encoding must be otlp_proto (the only one), got %q", c.Encoding)
	}
	if c.DialTimeout <= 0 {
		bad("dial_timeout must be positive, got %v", c.DialTimeout)
	}
	return errs
}

// kafkaClientOpts are the franz-go options that the sink and the source
// share: brokers, client id, dial timeout, and franz-go's own warnings and
// errors logged through log.
func (c *KafkaConfig) kafkaClientOpts(log *slog.Logger) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(c.ClientID),
		kgo.DialTimeout(c.DialTimeout),
		kgo.WithLogger(&kgoLogger{log: log, last: map[string]time.Time{}}),
	}
}

// kgoLogger is franz-go's kgo.Logger over slog, at warn level (franz-go's
// info is per connection and per metadata refresh), each message at most
// once a minute: a broker away for hours does not flood the log (the
// pipeline reports the failed writes itself).
type kgoLogger struct {
	log  *slog.Logger
	mu   sync.Mutex
	last map[string]time.Time // when each message was last logged
}

// kgoLogEvery spaces the repeats of one franz-go message.
const kgoLogEvery = time.Minute

var _ kgo.Logger = (*kgoLogger)(nil)

func (*kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l *kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	now := time.Now()
	l.mu.Lock()
	if t, ok := l.last[msg]; ok && now.Sub(t) < kgoLogEvery {
		l.mu.Unlock()
		return
	}
	if len(l.last) > 1000 { // franz-go's messages are constants: never reached
		clear(l.last)
	}
	l.last[msg] = now
	l.mu.Unlock()
	lv := slog.LevelDebug
	switch level {
	case kgo.LogLevelError:
		lv = slog.LevelError
	case kgo.LogLevelWarn:
		lv = slog.LevelWarn
	case kgo.LogLevelInfo:
		lv = slog.LevelInfo
	}
	l.log.Log(context.Background(), lv, "kafka client: "+msg, keyvals...)
}
