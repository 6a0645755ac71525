package collector_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/ptrace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/wal"
)

const sinkTopic = "otlp_spans"

// newSinkCluster starts a kfake cluster (one broker on loopback) with the
// topic, of partitions partitions, already there; port 0 picks one.
func newSinkCluster(t testing.TB, partitions int32, port int, more ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts := append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, sinkTopic)}, more...)
	if port != 0 {
		opts = append(opts, kfake.Ports(port))
	}
	var c *kfake.Cluster
	var err error
	// A port just given up may take a moment to be free again.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err = kfake.NewCluster(opts...); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// sinkKafkaConfig is the default Kafka configuration for brokers.
func sinkKafkaConfig(brokers []string) collector.KafkaConfig {
	k := collector.NewDefaultConfig().Kafka
	k.Brokers = brokers
	k.DialTimeout = 2 * time.Second
	k.Producer.Linger = time.Millisecond
	return k
}

// startKafkaSink starts a sink, shut down at the end of the test.
func startKafkaSink(t testing.TB, k collector.KafkaConfig, set collector.Settings) *collector.KafkaSink {
	t.Helper()
	if set.Logger == nil {
		set.Logger = quietLogger()
	}
	s, err := collector.NewKafkaSink(k, set)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

// flushSink flushes s with a deadline, failing the test on error.
func flushSink(t testing.TB, s *collector.KafkaSink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// readTopic reads the topic from its start until it holds want messages
// (failing after a deadline), then polls once more to see that no more
// come.
func readTopic(t testing.TB, brokers []string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(sinkTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	poll := func(d time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		fs := cl.PollFetches(ctx)
		fs.EachError(func(topic string, p int32, err error) {
			if ctx.Err() == nil {
				t.Errorf("fetch %s/%d: %v", topic, p, err)
			}
		})
		got = append(got, fs.Records()...)
	}
	for deadline := time.Now().Add(60 * time.Second); len(got) < want && time.Now().Before(deadline); {
		poll(time.Second)
	}
	if len(got) < want {
		t.Fatalf("%d messages in the topic, want %d", len(got), want)
	}
	poll(300 * time.Millisecond)
	if len(got) != want {
		t.Fatalf("%d messages in the topic, want exactly %d", len(got), want)
	}
	return got
}

// otelSpans decodes a message as the OpenTelemetry Collector's kafka
// receiver does for encoding otlp_proto (receiver/kafkareceiver/
// unmarshaler.go: ptrace.ProtoUnmarshaler) and returns its spans as
// "traceid/spanid" and their resources' service names.
func otelSpans(t testing.TB, value []byte) (spans []string, services []string) {
	t.Helper()
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(value)
	if err != nil {
		t.Fatalf("the kafka receiver's unmarshaler refuses a message: %v", err)
	}
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		svc, _ := rs.Resource().Attributes().Get("service.name")
		services = append(services, svc.Str())
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			for k := 0; k < ss.Spans().Len(); k++ {
				sp := ss.Spans().At(k)
				spans = append(spans, sp.TraceID().String()+"/"+sp.SpanID().String())
			}
		}
	}
	return spans, services
}

// mixedRequest has two services, each with two scopes, whose spans belong
// to traces first..first+traces-1 in turn; pad bytes of attribute each.
func mixedRequest(t testing.TB, first, traces, spansPerScope, pad int) (*coltracepb.ExportTraceServiceRequest, []byte) {
	t.Helper()
	req := &coltracepb.ExportTraceServiceRequest{}
	n := 0
	for r := range 2 {
		rs := &tracepb.ResourceSpans{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "svc-" + strconv.Itoa(r)}}},
		}}, SchemaUrl: "https://opentelemetry.io/schemas/1.26.0"}
		for sc := range 2 {
			ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "lib-" + strconv.Itoa(sc), Version: "1.0"}}
			for range spansPerScope {
				s := validSpan(n)
				s.traceID = tid(first + n%traces)
				s.attrs = map[string]string{"pad": strings.Repeat("abcdefgh", pad/8+1)[:pad]}
				ss.Spans = append(ss.Spans, requestMsg("x", s).ResourceSpans[0].ScopeSpans[0].Spans[0])
				n++
			}
			rs.ScopeSpans = append(rs.ScopeSpans, ss)
		}
		req.ResourceSpans = append(req.ResourceSpans, rs)
	}
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return req, b
}

// TestKafkaSinkMessages: one message per trace of a record, keyed by the
// trace id in hex, the value exactly the record's bytes for that trace,
// no headers, a trace's messages on one partition from record to record;
// a record of one trace goes as it came.
func TestKafkaSinkMessages(t *testing.T) {
	c := newSinkCluster(t, 4, 0)
	s := startKafkaSink(t, sinkKafkaConfig(c.ListenAddrs()), collector.Settings{})

	const traces = 12
	req1, rec1 := mixedRequest(t, 0, traces, 6, 20) // 24 spans
	req2, rec2 := mixedRequest(t, 0, traces, 3, 20) // the same traces again: 12 spans
	single := request(t, "solo", validSpan(100), spanSpec{traceID: tid(100), spanID: sid(101), name: "child", start: validSpan(100).start, end: validSpan(100).end})
	if n := s.Add(wal.Record{Offset: 1, Data: rec1}); n != 24 {
		t.Errorf("Add returned %d spans, want 24", n)
	}
	s.Add(wal.Record{Offset: 2, Data: rec2})
	if n := s.Add(wal.Record{Offset: 3, Data: single}); n != 38 {
		t.Errorf("Add returned %d spans, want 38", n)
	}
	flushSink(t, s)

	recs := readTopic(t, c.ListenAddrs(), 2*traces+1)
	want := map[string][][]byte{} // key -> values, in order
	for _, rq := range []*coltracepb.ExportTraceServiceRequest{req1, req2} {
		for i := range traces {
			v, err := proto.Marshal(collector.FilterTrace(rq, tid(i)))
			if err != nil {
				t.Fatal(err)
			}
			k := hex.EncodeToString(tid(i))
			want[k] = append(want[k], v)
		}
	}
	want[hex.EncodeToString(tid(100))] = [][]byte{single}
	partOf := map[string]int32{}
	parts := map[int32]bool{}
	got := map[string][][]byte{}
	for _, r := range recs {
		k := string(r.Key)
		if len(r.Headers) != 0 {
			t.Errorf("message %s has headers %v, want none (as the OTel exporter without include_metadata_keys)", k, r.Headers)
		}
		if p, ok := partOf[k]; ok && p != r.Partition {
			t.Errorf("trace %s on partitions %d and %d", k, p, r.Partition)
		}
		partOf[k] = r.Partition
		parts[r.Partition] = true
		got[k] = append(got[k], r.Value)
		spans, _ := otelSpans(t, r.Value)
		for _, sp := range spans {
			if !strings.HasPrefix(sp, k+"/") {
				t.Errorf("span %s in the message keyed %s", sp, k)
			}
		}
	}
	if len(parts) < 2 {
		t.Errorf("%d traces all on one partition of 4", traces+1)
	}
	for k, vs := range want {
		if len(got[k]) != len(vs) {
			t.Errorf("trace %s: %d messages, want %d", k, len(got[k]), len(vs))
			continue
		}
		for i := range vs {
			// Within a partition, messages keep their order.
			if !bytes.Equal(got[k][i], vs[i]) {
				t.Errorf("trace %s, message %d: value is not the record's bytes for the trace", k, i)
			}
		}
	}
}

// TestKafkaSinkCompression: every codec gives back the same values, and
// the batches are compressed with the codec asked for.
func TestKafkaSinkCompression(t *testing.T) {
	for codec, attr := range map[string]uint8{"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4} {
		t.Run(codec, func(t *testing.T) {
			c := newSinkCluster(t, 1, 0)
			k := sinkKafkaConfig(c.ListenAddrs())
			k.Producer.Compression = codec
			s := startKafkaSink(t, k, collector.Settings{})
			_, rec := mixedRequest(t, 0, 1, 50, 200) // compresses well
			s.Add(wal.Record{Offset: 1, Data: rec})
			flushSink(t, s)
			recs := readTopic(t, c.ListenAddrs(), 1)
			if !bytes.Equal(recs[0].Value, rec) {
				t.Error("value differs from the record")
			}
			if got := recs[0].Attrs.CompressionType(); got != attr {
				t.Errorf("batch compression %d, want %d (%s)", got, attr, codec)
			}
		})
	}
}

// TestKafkaSinkSplitsLargeBatches: with a small max message size, a
// record of many traces and a trace larger than the limit arrive as
// messages under the limit (the broker's own limit set to it), every span
// once, a split trace's parts on one partition; a span too large alone is
// dropped and counted. (jaeger #3752, #6439: batches over the limit fail
// for ever.)
func TestKafkaSinkSplitsLargeBatches(t *testing.T) {
	const limit = 8 << 10
	c := newSinkCluster(t, 3, 0, kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(limit)}))
	reg := prometheus.NewRegistry()
	m, err := collector.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	k := sinkKafkaConfig(c.ListenAddrs())
	k.Producer.MaxMessageBytes = limit
	s := startKafkaSink(t, k, collector.Settings{Metrics: m})

	_, many := mixedRequest(t, 0, 40, 20, 100)   // 80 spans of 40 traces, ~16 KiB
	bigReq, _ := mixedRequest(t, 50, 1, 30, 500) // 120 spans of one trace, ~70 KiB
	huge := bigReq.ResourceSpans[0].ScopeSpans[1].Spans[7]
	huge.Attributes = append(huge.Attributes, &commonpb.KeyValue{Key: "blob", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: strings.Repeat("z", 2*limit)}}})
	big, err := proto.Marshal(bigReq)
	if err != nil {
		t.Fatal(err)
	}
	s.Add(wal.Record{Offset: 1, Data: many})
	if n := s.Add(wal.Record{Offset: 2, Data: big}); n != 80+119 {
		t.Errorf("batch holds %d spans, want %d", n, 80+119)
	}
	flushSink(t, s)

	// Count the messages: at most limit each, so at least 70 KiB / 8 KiB
	// for the big trace.
	want := 40 // the traces of many fit
	recs := readTopicAtLeast(t, c.ListenAddrs(), want+9)
	seen := map[string]int{}
	bigKey := hex.EncodeToString(tid(50))
	bigParts := map[int32]bool{}
	bigMsgs := 0
	for _, r := range recs {
		if size := len(r.Value) + len(r.Key); size > limit {
			t.Errorf("message of %d bytes, over %d", size, limit)
		}
		spans, services := otelSpans(t, r.Value)
		if len(services) == 0 {
			t.Error("a message without resource")
		}
		for _, sp := range spans {
			seen[sp]++
		}
		if string(r.Key) == bigKey {
			bigMsgs++
			bigParts[r.Partition] = true
		}
	}
	if len(seen) != 80+119 {
		t.Errorf("%d distinct spans in kafka, want %d", len(seen), 80+119)
	}
	for sp, n := range seen {
		if n != 1 {
			t.Errorf("span %s in %d messages", sp, n)
		}
	}
	if hugeKey := fmt.Sprintf("%x/%x", huge.TraceId, huge.SpanId); seen[hugeKey] != 0 {
		t.Error("the span larger than a message was produced")
	}
	if bigMsgs < 9 || len(bigParts) != 1 {
		t.Errorf("the big trace went in %d messages on %d partitions, want ≥ 9 on one", bigMsgs, len(bigParts))
	}
	if got := counterValue(t, reg, "tracer_collector_kafka_spans_too_large_total", nil); got != 1 {
		t.Errorf("spans_too_large_total = %v, want 1", got)
	}
	if got := counterValue(t, reg, "tracer_collector_spans_dropped_total", map[string]string{"reason": "too_large"}); got != 1 {
		t.Errorf("spans_dropped_total{reason=too_large} = %v, want 1", got)
	}
	if got := counterValue(t, reg, "tracer_collector_kafka_traces_split_total", nil); got != 1 {
		t.Errorf("traces_split_total = %v, want 1", got)
	}
	if got := counterValue(t, reg, "tracer_collector_kafka_messages_produced_total", nil); got != float64(len(recs)) {
		t.Errorf("messages_produced_total = %v, want %d", got, len(recs))
	}
	if got := counterValue(t, reg, "tracer_collector_kafka_spans_produced_total", nil); got != 80+119 {
		t.Errorf("spans_produced_total = %v, want %d", got, 80+119)
	}
}

// readTopicAtLeast reads the topic until it holds at least want messages
// and then until a poll brings nothing more.
func readTopicAtLeast(t testing.TB, brokers []string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(sinkTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		n := len(fs.Records())
		got = append(got, fs.Records()...)
		if n == 0 && len(got) >= want {
			return got
		}
	}
	t.Fatalf("%d messages in the topic, want at least %d", len(got), want)
	return nil
}

// counterValue is the value of the metric name with labels (nil: none) on
// reg, 0 when absent.
func counterValue(t testing.TB, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return 0
}

// freePort returns a loopback port nobody listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestKafkaSinkConfigValidate: with sink kafka, Validate checks the Kafka
// settings and not the storage's; an unknown sink is an error.
func TestKafkaSinkConfigValidate(t *testing.T) {
	cfg := testConfig(t)
	cfg.Sink = collector.SinkKafka
	cfg.Storage.Type = "nonsense"
	cfg.Kafka.Brokers = []string{"127.0.0.1:9092"}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid kafka config with a storage that is not used: %v", err)
	}
	cfg.Kafka.Brokers = []string{"nocolon"}
	cfg.Kafka.Encoding = "otlp_json"
	cfg.Kafka.Producer.Compression = "brotli"
	cfg.Kafka.Producer.MaxBufferedBytes = 10
	err := cfg.Validate()
	for _, want := range []string{"kafka.brokers", "kafka.encoding must be otlp_proto", "kafka.producer.compression", "kafka.producer.max_buffered_bytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "storage.") {
		t.Errorf("storage checked with sink kafka: %v", err)
	}
	if _, err := collector.NewKafkaSink(cfg.Kafka, collector.Settings{}); err == nil {
		t.Error("NewKafkaSink took an invalid config")
	}

	cfg = testConfig(t)
	cfg.Storage.Type = "nonsense"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "storage.") {
		t.Errorf("sink storage with a bad storage: %v", err)
	}
	cfg.Sink = "files"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `sink must be "storage" or "kafka"`) {
		t.Errorf("unknown sink: %v", err)
	}
}

// TestKafkaSinkLimits: every max_message_bytes that Validate accepts makes
// a client franz-go accepts.
func TestKafkaSinkLimits(t *testing.T) {
	for _, n := range []int{4096, 1000000, 100 << 20} {
		k := sinkKafkaConfig([]string{"127.0.0.1:9092"})
		k.Producer.MaxMessageBytes = n
		k.Producer.MaxBufferedBytes = int64(n)
		if _, err := collector.NewKafkaSink(k, collector.Settings{}); err != nil {
			t.Errorf("max_message_bytes %d: %v", n, err)
		}
	}
	k := sinkKafkaConfig([]string{"127.0.0.1:9092"})
	k.Producer.MaxMessageBytes = 100<<20 + 1
	k.Producer.MaxBufferedBytes = 1 << 30
	if _, err := collector.NewKafkaSink(k, collector.Settings{}); err == nil {
		t.Error("max_message_bytes over 100 MiB accepted")
	}
}
