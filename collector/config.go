package collector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tracerdev/tracer/collector/otlp"
	"github.com/tracerdev/tracer/storage/backend"
)

// Config is the collector's whole configuration. NewDefaultConfig returns
// the defaults; Validate reports every problem at once.
type Config struct {
	Receivers ReceiversConfig `yaml:"receivers"`
	WAL       WALConfig       `yaml:"wal"`
	Batch     BatchConfig     `yaml:"batch"`
	Retry     RetryConfig     `yaml:"retry"`
	Storage   StorageConfig   `yaml:"storage"`
	// Sink is where the pipeline writes: SinkStorage (the default) or
	// SinkKafka. Storage is used (and validated) only for SinkStorage,
	// Kafka only for SinkKafka and by the ingester.
	Sink      string          `yaml:"sink"`
	Kafka     KafkaConfig     `yaml:"kafka"`
	Limits    LimitsConfig    `yaml:"limits"`
	Telemetry TelemetryConfig `yaml:"telemetry"`
	// ShutdownTimeout bounds the graceful shutdown of the binary: what is
	// not written by then stays in the WAL for the next start.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// ReceiversConfig configures the OTLP receivers. An empty endpoint disables
// that receiver; at least one must be enabled.
type ReceiversConfig struct {
	GRPC GRPCConfig `yaml:"grpc"`
	HTTP HTTPConfig `yaml:"http"`
}

// GRPCConfig configures the OTLP/gRPC receiver.
type GRPCConfig struct {
	// Endpoint is the host:port to listen on; default "localhost:4317"
	// (loopback, like the OpenTelemetry Collector since v0.104: set
	// "0.0.0.0:4317" to accept remote clients).
	Endpoint string `yaml:"endpoint"`
	// MaxConcurrentStreams caps concurrent requests per connection.
	MaxConcurrentStreams uint32 `yaml:"max_concurrent_streams"`
}

// HTTPConfig configures the OTLP/HTTP receiver (POST /v1/traces).
type HTTPConfig struct {
	// Endpoint is the host:port to listen on; default "localhost:4318".
	Endpoint string `yaml:"endpoint"`
	// ReadTimeout bounds reading one whole request.
	ReadTimeout time.Duration `yaml:"read_timeout"`
}

// WALConfig configures the write-ahead log.
type WALConfig struct {
	// Dir holds the segments; required.
	Dir string `yaml:"dir"`
	// Sync is "batch" (fsync before acknowledging, one fsync shared by the
	// requests that arrived meanwhile; the default) or "interval" (fsync
	// every SyncInterval: a power loss may lose acknowledged spans).
	Sync         string        `yaml:"sync"`
	SyncInterval time.Duration `yaml:"sync_interval"`
	// MaxBytes caps the WAL on disk; past it receivers push back.
	MaxBytes int64 `yaml:"max_bytes"`
	// SegmentSize is the size of one segment file.
	SegmentSize int64 `yaml:"segment_size"`
}

// BatchConfig says when the pipeline writes: when Size spans or MaxBytes
// bytes of WAL records are pending, or the oldest pending record has waited
// Timeout. A record that would take the batch past MaxBytes is written in the
// next batch (a record larger than MaxBytes alone forms a batch); no storage
// write carries more than Size spans (a larger batch is split).
type BatchConfig struct {
	Size     int           `yaml:"size"`
	MaxBytes int64         `yaml:"max_bytes"`
	Timeout  time.Duration `yaml:"timeout"`
}

// RetryConfig is the exponential backoff for failed storage writes. The
// pipeline retries every error but a storage.RejectedError until the write
// succeeds or the collector shuts down, without committing the WAL past the
// batch: acknowledged spans are never dropped for an error about the
// deployment. Only the spans a storage.RejectedError names are dropped.
type RetryConfig struct {
	InitialInterval time.Duration `yaml:"initial_interval"`
	MaxInterval     time.Duration `yaml:"max_interval"`
	Multiplier      float64       `yaml:"multiplier"`
}

// StorageConfig says which backend the binary writes to (storage/backend
// owns its settings, under the same YAML keys) and how long one write may
// take. The collector itself takes a storage.Writer; cmd/tracer opens the
// backend.
type StorageConfig struct {
	backend.Config `yaml:",inline"`
	// WriteTimeout bounds one storage write attempt; past it the write's
	// context is cancelled and the write is retried.
	WriteTimeout time.Duration `yaml:"write_timeout"`
}

// LimitsConfig bounds what a request may carry and how much memory intake
// may hold. The defaults of the span limits are otlp.DefaultLimits (their one
// owner); a limit of otlp.Limits that LimitsConfig does not name keeps its
// default.
type LimitsConfig struct {
	// MaxRequestBytes caps one request (after gzip decompression over HTTP).
	MaxRequestBytes int `yaml:"max_request_bytes"`
	// MaxSpansPerRequest rejects larger requests as a whole.
	MaxSpansPerRequest int `yaml:"max_spans_per_request"`
	// MaxAttributes per span; the extra ones are dropped and counted.
	MaxAttributes int `yaml:"max_attributes"`
	// MaxAttributeValueLen truncates longer string values (counted).
	MaxAttributeValueLen int `yaml:"max_attribute_value_len"`
	// MaxNameLen rejects spans with longer names.
	MaxNameLen int `yaml:"max_name_len"`
	// MaxInflightBytes caps the bytes of requests being received and not
	// yet in the WAL; past it receivers push back.
	MaxInflightBytes int64 `yaml:"max_inflight_bytes"`
	// RetryAfter is the delay suggested to clients that are pushed back.
	RetryAfter time.Duration `yaml:"retry_after"`
}

// TelemetryConfig configures the collector's own health, metrics and logs.
type TelemetryConfig struct {
	// Endpoint is where the binary (cmd/tracer, which owns that server)
	// serves /health (liveness), /ready (readiness) and /metrics
	// (Prometheus); default "127.0.0.1:8888" like the OpenTelemetry
	// Collector; empty disables. The collector itself serves nothing here:
	// it registers its metrics on the registerer it is given and exposes
	// its Health.
	Endpoint string `yaml:"endpoint"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// LogFormat is "text" or "json".
	LogFormat string `yaml:"log_format"`
}

// NewDefaultConfig returns the defaults. WAL.Dir has none and must be set.
func NewDefaultConfig() Config {
	lim := otlp.DefaultLimits()
	return Config{
		Receivers: ReceiversConfig{
			GRPC: GRPCConfig{Endpoint: "localhost:4317", MaxConcurrentStreams: 64},
			HTTP: HTTPConfig{Endpoint: "localhost:4318", ReadTimeout: 30 * time.Second},
		},
		WAL: WALConfig{
			Sync:         "batch",
			SyncInterval: 200 * time.Millisecond,
			MaxBytes:     1 << 30,
			SegmentSize:  64 << 20,
		},
		Batch: BatchConfig{Size: 8192, MaxBytes: 16 << 20, Timeout: 200 * time.Millisecond},
		Retry: RetryConfig{InitialInterval: 100 * time.Millisecond, MaxInterval: 10 * time.Second, Multiplier: 2},
		Storage: StorageConfig{
			Config:       backend.NewDefaultConfig(),
			WriteTimeout: 30 * time.Second,
		},
		Sink:  SinkStorage,
		Kafka: defaultKafkaConfig(),
		Limits: LimitsConfig{
			MaxRequestBytes:      8 << 20,
			MaxSpansPerRequest:   lim.MaxSpans,
			MaxAttributes:        lim.MaxAttributes,
			MaxAttributeValueLen: lim.MaxAttributeValueLen,
			MaxNameLen:           lim.MaxNameLen,
			MaxInflightBytes:     64 << 20,
			RetryAfter:           time.Second,
		},
		Telemetry: TelemetryConfig{
			Endpoint:  "127.0.0.1:8888",
			LogLevel:  "info",
			LogFormat: "text",
		},
		ShutdownTimeout: 30 * time.Second,
	}
}

// LoadFile reads a YAML file over cfg: keys present in the file replace
// cfg's values, others keep them. Every problem is reported, joined, each
// as "file:line: key: problem" (the line and key where yaml.v3 gives
// them): syntax errors, unknown keys and values of the wrong type. A value
// of the wrong type leaves cfg's value; the other keys are still read. An
// empty file changes nothing; a second YAML document is an error.
func (cfg *Config) LoadFile(path string) error { return LoadYAML(path, cfg) }

// LoadYAML is LoadFile for any configuration struct v points to (one that
// embeds Config inline, say, as the tracer binary's does), with the same
// reporting: "file:line: key: problem" for every problem, unknown keys
// included.
func LoadYAML(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	// The node tree gives the key of each line; decoding it again with
	// KnownFields (which Node.Decode lacks) reports unknown keys.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return yamlErrors(path, nil, err)
	}
	keys := map[int]string{}
	yamlKeys(&doc, "", keys)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return yamlErrors(path, keys, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s:%d: a second YAML document: the file must hold one", path, extra.Line)
	}
	return nil
}

// yamlLine splits yaml.v3's "line N: problem" (with or without its "yaml: "
// prefix).
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlUnknown is yaml.v3's unknown-key message, which names a Go type.
var yamlUnknown = regexp.MustCompile(`^field (\S+) not found in type \S+$`)

// yamlErrors turns a yaml.v3 error into one error per problem, each
// prefixed with path:line and, from keys, the dotted key of that line.
func yamlErrors(path string, keys map[int]string, err error) error {
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	errs := make([]error, 0, len(msgs))
	for _, msg := range msgs {
		where, key := path, ""
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			where += ":" + m[1]
			msg = m[2]
			if n, err := strconv.Atoi(m[1]); err == nil && keys[n] != "" {
				key = keys[n]
				where += ": " + key
			}
		}
		if m := yamlUnknown.FindStringSubmatch(msg); m != nil {
			msg = "unknown key"
			if key == "" {
				msg += " " + strconv.Quote(m[1])
			}
		}
		errs = append(errs, fmt.Errorf("%s: %s", where, strings.TrimPrefix(msg, "yaml: ")))
	}
	return errors.Join(errs...)
}

// yamlKeys records the dotted key path of every mapping key under n by
// its line (the first key of a line wins).
func yamlKeys(n *yaml.Node, prefix string, keys map[int]string) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			yamlKeys(c, prefix, keys)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := k.Value
			if prefix != "" {
				p = prefix + "." + k.Value
			}
			if _, ok := keys[k.Line]; !ok {
				keys[k.Line] = p
			}
			yamlKeys(n.Content[i+1], p, keys)
		}
	}
}

// Validate reports every problem of cfg at once, joined.
func (cfg *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if cfg.Receivers.GRPC.Endpoint == "" && cfg.Receivers.HTTP.Endpoint == "" {
		bad("receivers: at least one of grpc.endpoint and http.endpoint must be set")
	}
	checkEndpoint := func(name, ep string, optional bool) {
		if ep == "" && optional {
			return
		}
		if _, _, err := net.SplitHostPort(ep); err != nil {
			bad("%s: %q is not host:port: %v", name, ep, err)
		}
	}
	checkEndpoint("receivers.grpc.endpoint", cfg.Receivers.GRPC.Endpoint, true)
	checkEndpoint("receivers.http.endpoint", cfg.Receivers.HTTP.Endpoint, true)
	checkEndpoint("telemetry.endpoint", cfg.Telemetry.Endpoint, true)
	if cfg.Receivers.GRPC.MaxConcurrentStreams == 0 {
		bad("receivers.grpc.max_concurrent_streams must be positive")
	}
	if cfg.Receivers.HTTP.ReadTimeout <= 0 {
		bad("receivers.http.read_timeout must be positive, got %v", cfg.Receivers.HTTP.ReadTimeout)
	}

	if cfg.WAL.Dir == "" {
		bad("wal.dir is required")
	}
	switch cfg.WAL.Sync {
	case "batch":
	case "interval":
		if cfg.WAL.SyncInterval <= 0 {
			bad("wal.sync_interval must be positive with wal.sync: interval, got %v", cfg.WAL.SyncInterval)
		}
	default:
		bad("wal.sync must be \"batch\" or \"interval\", got %q", cfg.WAL.Sync)
	}
	if cfg.WAL.SegmentSize <= 0 {
		bad("wal.segment_size must be positive, got %d", cfg.WAL.SegmentSize)
	}
	if cfg.WAL.MaxBytes < cfg.WAL.SegmentSize {
		bad("wal.max_bytes (%d) must be at least wal.segment_size (%d)", cfg.WAL.MaxBytes, cfg.WAL.SegmentSize)
	}
	if cfg.WAL.MaxBytes < int64(cfg.Limits.MaxRequestBytes) {
		bad("wal.max_bytes (%d) must be at least limits.max_request_bytes (%d)", cfg.WAL.MaxBytes, cfg.Limits.MaxRequestBytes)
	}

	if cfg.Batch.Size <= 0 {
		bad("batch.size must be positive, got %d", cfg.Batch.Size)
	}
	if cfg.Batch.MaxBytes <= 0 {
		bad("batch.max_bytes must be positive, got %d", cfg.Batch.MaxBytes)
	}
	if cfg.Batch.Timeout <= 0 {
		bad("batch.timeout must be positive, got %v", cfg.Batch.Timeout)
	}

	if cfg.Retry.InitialInterval <= 0 {
		bad("retry.initial_interval must be positive, got %v", cfg.Retry.InitialInterval)
	}
	if cfg.Retry.MaxInterval < cfg.Retry.InitialInterval {
		bad("retry.max_interval (%v) must be at least retry.initial_interval (%v)", cfg.Retry.MaxInterval, cfg.Retry.InitialInterval)
	}
	if cfg.Retry.Multiplier < 1 {
		bad("retry.multiplier must be at least 1, got %v", cfg.Retry.Multiplier)
	}

	switch cfg.Sink {
	case SinkStorage:
		if err := cfg.Storage.Config.Validate(); err != nil {
			errs := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			for _, e := range errs {
				bad("storage.%v", e)
			}
		}
	case SinkKafka: // the storage backend is the ingester's, not checked here
		errs = append(errs, cfg.Kafka.validateKafkaClient()...)
		errs = append(errs, cfg.Kafka.Producer.validate()...)
	default:
		bad("sink must be %q or %q, got %q", SinkStorage, SinkKafka, cfg.Sink)
	}
	// Also the bound of one flush to Kafka.
	if cfg.Storage.WriteTimeout <= 0 {
		bad("storage.write_timeout must be positive, got %v", cfg.Storage.WriteTimeout)
	}

	l := cfg.Limits
	if l.MaxRequestBytes <= 0 {
		bad("limits.max_request_bytes must be positive, got %d", l.MaxRequestBytes)
	}
	if l.MaxSpansPerRequest <= 0 {
		bad("limits.max_spans_per_request must be positive, got %d", l.MaxSpansPerRequest)
	}
	if l.MaxAttributes <= 0 {
		bad("limits.max_attributes must be positive, got %d", l.MaxAttributes)
	}
	if l.MaxAttributeValueLen <= 0 {
		bad("limits.max_attribute_value_len must be positive, got %d", l.MaxAttributeValueLen)
	}
	if l.MaxNameLen <= 0 {
		bad("limits.max_name_len must be positive, got %d", l.MaxNameLen)
	}
	if l.MaxInflightBytes < int64(l.MaxRequestBytes) {
		bad("limits.max_inflight_bytes (%d) must be at least limits.max_request_bytes (%d)", l.MaxInflightBytes, l.MaxRequestBytes)
	}
	if l.RetryAfter < time.Second {
		bad("limits.retry_after must be at least 1s (HTTP Retry-After counts whole seconds), got %v", l.RetryAfter)
	}

	switch strings.ToLower(cfg.Telemetry.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("telemetry.log_level must be debug, info, warn or error; got %q", cfg.Telemetry.LogLevel)
	}
	switch cfg.Telemetry.LogFormat {
	case "text", "json":
	default:
		bad("telemetry.log_format must be text or json; got %q", cfg.Telemetry.LogFormat)
	}
	if cfg.ShutdownTimeout <= 0 {
		bad("shutdown_timeout must be positive, got %v", cfg.ShutdownTimeout)
	}
	return errors.Join(errs...)
}

// otlp returns the limits that Scan and Decode apply: otlp.DefaultLimits
// with the ones l configures.
func (l LimitsConfig) otlp() otlp.Limits {
	lim := otlp.DefaultLimits()
	lim.MaxSpans = l.MaxSpansPerRequest
	lim.MaxAttributes = l.MaxAttributes
	lim.MaxAttributeValueLen = l.MaxAttributeValueLen
	lim.MaxNameLen = l.MaxNameLen
	return lim
}
