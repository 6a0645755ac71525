package collector

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tracerdev/tracer/wal"
)

// KafkaSink is the Sink that writes WAL records (ExportTraceServiceRequests
// in protobuf wire form, as receivers stored them) to a Kafka topic for
// "tracer ingester" processes, or an OpenTelemetry Collector's kafka
// receiver, to read. Each record becomes one message per trace, keyed by
// the trace id in hex, so that a trace stays on one partition; a message
// that would be larger than kafka.producer.max_message_bytes is split
// (kafka_sink_split.go says how, and which OpenTelemetry Collector files
// it follows).
//
// Flush returns nil only once Kafka has acknowledged every message of the
// batch with acks=all (the producer is idempotent): only then does the
// pipeline commit the WAL. Any error is retryable: a retried Flush sends
// again only the messages not acknowledged, after waiting for those still
// in flight. A message can still reach Kafka twice (a WAL replayed after a
// crash between the acknowledgement and the commit); the ingester's storage
// writes are idempotent, so the spans are stored once.
//
// It is a Component: Start creates the Kafka client (without connecting:
// the collector starts, and its WAL fills, while Kafka is away), Shutdown
// closes it. Add and Flush are called by one goroutine, the pipeline's.
type KafkaSink struct {
	cfg      KafkaConfig
	opts     []kgo.Opt
	log      *slog.Logger
	m        *Metrics
	km       *kafkaSinkMetrics
	maxValue int

	mu       sync.Mutex // guards client and closed
	client   *kgo.Client
	closed   bool
	shutOnce sync.Once
	shutErr  error

	// Owned by the pipeline's goroutine.
	split splitter
	msgs  []traceMessage
	spans int // in the batch

	// Shared with the produce promises, under pmu.
	pmu      sync.Mutex
	batch    []kafkaMessage
	inflight int
	changed  chan struct{} // a promise completed (capacity 1)
}

var (
	_ Sink      = (*KafkaSink)(nil)
	_ Component = (*KafkaSink)(nil)
)

// The states of a message of the batch.
const (
	msgPending  = iota // to be sent (again)
	msgInflight        // produced, no answer yet
	msgAcked           // acknowledged by Kafka
)

// kafkaMessage is one message of the batch.
type kafkaMessage struct {
	key, value []byte
	spans      int
	state      int
	err        error // of the last attempt
}

// NewKafkaSink returns a sink writing to the Kafka cfg names; Start
// creates its client. cfg must be valid as Config.Validate checks it with
// Sink "kafka".
func NewKafkaSink(cfg KafkaConfig, set Settings) (*KafkaSink, error) {
	if errs := append(cfg.validateKafkaClient(), cfg.Producer.validate()...); len(errs) > 0 {
		return nil, fmt.Errorf("invalid kafka config: %w", errors.Join(errs...))
	}
	set = set.withDefaults()
	popts, err := cfg.Producer.producerOpts()
	if err != nil {
		return nil, err
	}
	log := set.Logger.With("component", "kafka")
	opts := append(cfg.kafkaClientOpts(log), popts...)
	opts = append(opts, kgo.DefaultProduceTopic(cfg.Topic))
	if err := kgo.ValidateOpts(opts...); err != nil {
		return nil, fmt.Errorf("kafka client options: %w", err)
	}
	cfg.Brokers = append([]string(nil), cfg.Brokers...)
	return &KafkaSink{
		cfg:      cfg,
		opts:     opts,
		log:      log,
		m:        set.Metrics,
		km:       set.Metrics.kafkaSink,
		maxValue: cfg.Producer.MaxMessageBytes - kafkaMessageOverhead,
		changed:  make(chan struct{}, 1),
	}, nil
}

// Start creates the Kafka client. It does not wait for a broker: until
// one answers, Flush fails and the pipeline retries (the WAL keeps the
// spans).
func (s *KafkaSink) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("kafka sink shut down")
	}
	if s.client != nil {
		return errors.New("kafka sink already started")
	}
	cl, err := kgo.NewClient(s.opts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	s.client = cl
	p := s.cfg.Producer
	s.log.Info("kafka sink started", "brokers", s.cfg.Brokers, "topic", s.cfg.Topic, "compression", p.Compression,
		"max_message_bytes", p.MaxMessageBytes, "acks", "all", "idempotent", true)
	return nil
}

// Shutdown closes the client; messages not acknowledged by then fail (the
// pipeline has drained what it could: the rest stays in the WAL). It is
// idempotent and safe without Start.
func (s *KafkaSink) Shutdown(ctx context.Context) error {
	s.shutOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		cl := s.client
		s.mu.Unlock()
		if cl == nil {
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			cl.Close()
		}()
		select {
		case <-done:
		case <-ctx.Done():
			s.shutErr = fmt.Errorf("close kafka client: %w (it goes on closing)", ctx.Err())
		}
	})
	return s.shutErr
}

// Add splits r into the batch's messages and returns the spans the batch
// holds. A record that is not a valid ExportTraceServiceRequest (a bug, or
// damage that passed the WAL's checksum) is dropped, logged and counted;
// so are spans too large for a message of their own.
func (s *KafkaSink) Add(r wal.Record) int {
	msgs, st, err := s.safeSplit(r.Data)
	if err != nil {
		s.log.Error("split wal record into kafka messages, dropping it", "offset", r.Offset, "err", err)
		s.m.spansDropped.WithLabelValues("decode_error").Inc()
		return s.spans
	}
	if st.tooLarge > 0 {
		s.km.tooLarge.Add(float64(st.tooLarge))
		s.m.spansDropped.WithLabelValues("too_large").Add(float64(st.tooLarge))
		s.log.Error("spans larger than a kafka message dropped (raise kafka.producer.max_message_bytes, and the topic's max.message.bytes, to keep such spans)",
			"offset", r.Offset, "dropped", st.tooLarge, "largest_bytes", st.tooLargeSize, "max_message_bytes", s.cfg.Producer.MaxMessageBytes)
	}
	if st.badTraceID > 0 {
		s.m.spansDropped.WithLabelValues("invalid").Add(float64(st.badTraceID))
	}
	if st.splitTraces > 0 {
		s.km.splitTraces.Add(float64(st.splitTraces))
	}
	s.pmu.Lock()
	for _, m := range msgs {
		s.batch = append(s.batch, kafkaMessage{key: hex.AppendEncode(nil, m.traceID[:]), value: m.value, spans: m.spans})
		s.spans += m.spans
	}
	s.pmu.Unlock()
	clear(msgs)
	s.msgs = msgs[:0]
	return s.spans
}

// safeSplit is the splitter turning a panic (a bug hit by some record) into
// an error, so that the record is dropped instead of crashing the
// collector on every start while it replays the same record.
func (s *KafkaSink) safeSplit(data []byte) (msgs []traceMessage, st splitStats, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.split = splitter{}
			msgs, st, err = s.msgs[:0], splitStats{}, fmt.Errorf("splitter panic: %v", r)
		}
	}()
	return s.split.split(s.msgs[:0], data, s.maxValue)
}

// Flush produces the batch's messages that Kafka has not acknowledged and
// waits until every message is acknowledged (nil: the batch is written and
// empty), one failed, or ctx is done (an error: the pipeline retries).
func (s *KafkaSink) Flush(ctx context.Context) error {
	s.mu.Lock()
	cl := s.client
	s.mu.Unlock()
	if cl == nil {
		return errors.New("kafka sink not started")
	}
	s.pmu.Lock()
	total := len(s.batch)
	if total == 0 {
		s.pmu.Unlock()
		return nil
	}
	var send []int
	left := 0
	for i := range s.batch {
		m := &s.batch[i]
		switch m.state {
		case msgPending:
			m.state, m.err = msgInflight, nil
			s.inflight++
			send = append(send, i)
			left++
		case msgInflight:
			left++ // from an attempt that gave up waiting
		}
	}
	s.km.pendingRecords.Set(float64(left))
	recs := make([]*kgo.Record, len(send))
	for j, i := range send {
		recs[j] = &kgo.Record{Topic: s.cfg.Topic, Key: s.batch[i].key, Value: s.batch[i].value}
	}
	s.pmu.Unlock()

	for j, i := range send {
		cl.Produce(ctx, recs[j], s.promise(i))
	}
	for {
		s.pmu.Lock()
		n := s.inflight
		s.pmu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-s.changed:
		case <-ctx.Done():
			return fmt.Errorf("kafka: %d of %d messages not acknowledged yet: %w", n, total, ctx.Err())
		}
	}

	s.pmu.Lock()
	defer s.pmu.Unlock()
	failed := 0
	var first error
	for i := range s.batch {
		if m := &s.batch[i]; m.state != msgAcked {
			failed++
			if first == nil {
				first = m.err
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("kafka: %d of %d messages not acknowledged (they are retried): %w", failed, total, explainProduceError(first, s.cfg))
	}
	s.km.pendingRecords.Set(0)
	clear(s.batch) // let the values go
	s.batch, s.spans = s.batch[:0], 0
	return nil
}

// promise is the produce callback of the batch's message i.
func (s *KafkaSink) promise(i int) func(*kgo.Record, error) {
	return func(r *kgo.Record, err error) {
		s.pmu.Lock()
		m := &s.batch[i]
		s.inflight--
		if err == nil {
			m.state = msgAcked
			s.km.messages.Inc()
			s.km.bytes.Add(float64(len(r.Value)))
			s.km.spans.Add(float64(m.spans))
			s.km.pendingRecords.Dec()
		} else {
			m.state, m.err = msgPending, err
			s.km.produceErrors.Inc()
		}
		s.pmu.Unlock()
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}
}

// explainProduceError adds what to do to the produce errors that a
// deployment causes.
func explainProduceError(err error, cfg KafkaConfig) error {
	switch {
	case err == nil:
		return errors.New("unknown error")
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		return fmt.Errorf("%w: create topic %q (with the partitions the ingesters are to share), or set kafka.producer.allow_auto_topic_creation", err, cfg.Topic)
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return fmt.Errorf("%w: set kafka.producer.max_message_bytes (%d) to at most the topic's max.message.bytes", err, cfg.Producer.MaxMessageBytes)
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed):
		return fmt.Errorf("%w: grant client %q WRITE on topic %q and IDEMPOTENT_WRITE on the cluster", err, cfg.ClientID, cfg.Topic)
	case errors.Is(err, kerr.NotEnoughReplicas), errors.Is(err, kerr.NotEnoughReplicasAfterAppend):
		return fmt.Errorf("%w: fewer in-sync replicas than the topic's min.insync.replicas (acks=all waits for them)", err)
	}
	return fmt.Errorf("%w (brokers %v)", err, cfg.Brokers)
}
