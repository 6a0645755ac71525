package collector_test

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/wal"
)

// kafkaWait polls cond every 20ms until it holds, failing the test with what
// after the deadline.
func kafkaWait(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKafkaSinkBrokerDown: with the broker unreachable, Flush fails, the
// pipeline retries and reports it, and the WAL is not committed; once the
// broker is there, everything is produced and committed. The same when a
// broker that was there goes away and comes back (its log on disk).
func TestKafkaSinkBrokerDown(t *testing.T) {
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	reg := prometheus.NewRegistry()
	m, err := collector.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	set := collector.Settings{Logger: quietLogger(), Metrics: m, Health: collector.NewHealth()}
	k := sinkKafkaConfig([]string{addr})
	s := startKafkaSink(t, k, set)

	// Flush itself, nothing listening: an error within its deadline.
	_, rec := mixedRequest(t, 0, 3, 2, 10)
	s.Add(wal.Record{Offset: 1, Data: rec})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if err := s.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded with no broker")
	}
	cancel()

	w, err := wal.Open(t.TempDir(), wal.Options{SegmentSize: 1 << 20, MaxBytes: 16 << 20, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := collector.NewPipeline(collector.PipelineConfig{
		Name:         "kafka",
		Batch:        collector.BatchConfig{Size: 1000, MaxBytes: 1 << 20, Timeout: 10 * time.Millisecond},
		Retry:        collector.RetryConfig{InitialInterval: 20 * time.Millisecond, MaxInterval: 200 * time.Millisecond, Multiplier: 2},
		WriteTimeout: 500 * time.Millisecond,
	}, w, s, set)
	var last wal.Offset
	for i := range 5 {
		_, rec := mixedRequest(t, 10*i, 3, 2, 10) // 3 traces each
		if last, err = w.Append(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Shutdown(ctx)
	}()

	kafkaWait(t, 60*time.Second, "no failed write retried", func() bool {
		return counterValue(t, reg, "tracer_collector_write_failures_total", nil) >= 2
	})
	if got := w.Committed(); got != 0 {
		t.Fatalf("wal committed up to %d while kafka was unreachable", got)
	}
	if st := set.Health.Report().Components["kafka"]; st.Status != collector.StatusRetrying || st.Error == "" {
		t.Errorf("health of kafka: %+v, want retrying with the error", st)
	}

	dir := t.TempDir()
	c := newSinkCluster(t, 2, port, kfake.DataDir(dir))
	kafkaWait(t, 60*time.Second, "wal not committed after kafka came", func() bool { return w.Committed() == last })
	// The first record (from the direct Flush) is still in the batch: it
	// went with the pipeline's first successful flush.
	readTopic(t, c.ListenAddrs(), 3+5*3)
	if st := set.Health.Report().Components["kafka"]; st.Status != collector.StatusOK {
		t.Errorf("health of kafka after recovery: %+v", st)
	}

	// Down again: what comes meanwhile waits in the WAL.
	c.Close()
	failures := counterValue(t, reg, "tracer_collector_write_failures_total", nil)
	for i := range 3 {
		_, rec := mixedRequest(t, 100+10*i, 2, 2, 10) // 2 traces each
		if last, err = w.Append(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	kafkaWait(t, 60*time.Second, "no failed write while the broker was closed", func() bool {
		return counterValue(t, reg, "tracer_collector_write_failures_total", nil) > failures
	})
	if w.Committed() == last {
		t.Fatal("wal committed past records kafka did not have")
	}
	c2 := newSinkCluster(t, 2, port, kfake.DataDir(dir))
	kafkaWait(t, 60*time.Second, "wal not committed after kafka came back", func() bool { return w.Committed() == last })
	// The restarted broker kept its log: the first 18 messages and the 6
	// new ones (a message produced twice around the outage would show here).
	readTopic(t, c2.ListenAddrs(), 18+6)
}

// kafkaCollector starts a collector whose pipeline writes to the Kafka
// brokers (nil storage writer), shut down at the end of the test.
func kafkaCollector(t testing.TB, cfg collector.Config) *collector.Collector {
	t.Helper()
	c, err := collector.New(cfg, nil, quietLogger(), collector.WithSink(collector.SinkKafka, func(set collector.Settings) (collector.Sink, error) {
		return collector.NewKafkaSink(cfg.Kafka, set)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c.Shutdown(ctx)
	})
	return c
}

// kafkaTestConfig is testConfig with the Kafka sink on brokers.
func kafkaTestConfig(t testing.TB, brokers []string) collector.Config {
	cfg := testConfig(t)
	cfg.Sink = collector.SinkKafka
	cfg.Storage.Type = "nonsense" // not checked, not used
	cfg.Kafka = sinkKafkaConfig(brokers)
	cfg.Storage.WriteTimeout = 2 * time.Second
	return cfg
}

// sendSpans sends traces×spans spans with the official OTLP/gRPC exporter
// and returns the "traceid/spanid" of those the collector acknowledged.
func sendSpans(t testing.TB, grpcAddr string, traces, spans int) map[string]bool {
	t.Helper()
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingExporter{SpanExporter: exp, acked: map[string]bool{}}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(rec, sdktrace.WithMaxExportBatchSize(64)),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "kafka-e2e"))))
	tr := tp.Tracer("e2e")
	for i := range traces {
		rctx, root := tr.Start(ctx, "root-"+strconv.Itoa(i))
		for j := range spans - 1 {
			_, sp := tr.Start(rctx, "child-"+strconv.Itoa(j))
			sp.End()
		}
		root.End()
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("tracer provider: %v", err)
	}
	return rec.acked
}

// recordingExporter notes the spans its exporter exported without error:
// those the collector acknowledged.
type recordingExporter struct {
	sdktrace.SpanExporter
	acked map[string]bool
}

func (e *recordingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err == nil {
		for _, s := range spans {
			e.acked[s.SpanContext().TraceID().String()+"/"+s.SpanContext().SpanID().String()] = true
		}
	}
	return err
}

// topicSpans reads the topic until it holds every span of want (failing
// after a deadline) and returns how many times each span was seen; every
// message is checked to hold only its key's trace.
func topicSpans(t testing.TB, brokers []string, want map[string]bool) map[string]int {
	t.Helper()
	var got map[string]int
	for deadline := time.Now().Add(60 * time.Second); ; {
		got = map[string]int{}
		for _, r := range readTopicAtLeast(t, brokers, 1) {
			spans, _ := otelSpans(t, r.Value)
			for _, sp := range spans {
				if sp[:32] != string(r.Key) {
					t.Fatalf("span %s in a message keyed %s", sp, r.Key)
				}
				got[sp]++
			}
		}
		missing := 0
		for sp := range want {
			if got[sp] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged spans not in kafka", missing, len(want))
		}
	}
}

// TestKafkaSinkCollectorEndToEnd: OTLP/gRPC from the official exporter →
// a collector with the Kafka sink → the topic: every acknowledged span is
// there once, in a message of its trace; health reports kafka.
func TestKafkaSinkCollectorEndToEnd(t *testing.T) {
	kc := newSinkCluster(t, 3, 0)
	c := kafkaCollector(t, kafkaTestConfig(t, kc.ListenAddrs()))
	acked := sendSpans(t, c.GRPCAddr(), 30, 5)
	if len(acked) != 150 {
		t.Fatalf("%d spans acknowledged, want 150", len(acked))
	}
	got := topicSpans(t, kc.ListenAddrs(), acked)
	for sp, n := range got {
		if !acked[sp] {
			t.Errorf("span %s in kafka was never sent", sp)
		}
		if n != 1 {
			t.Errorf("span %s in kafka %d times", sp, n)
		}
	}
	if st, ok := c.Health().Report().Components["kafka"]; !ok || st.Status != collector.StatusOK {
		t.Errorf("health of kafka: %+v (reported: %v)", st, ok)
	}
	if _, ok := c.Health().Report().Components["storage"]; ok {
		t.Error("a collector writing to kafka reports storage")
	}
}

// TestKafkaSinkCrashReplay: spans acknowledged while Kafka is away stay in
// the WAL across a crash (a shutdown that writes nothing, as after
// SIGKILL the WAL holds what it acknowledged and its last commit); the
// next start replays them into Kafka once it is there. Spans that reached
// Kafka before the crash may come again (the ingester's writes are
// idempotent); none is missing.
func TestKafkaSinkCrashReplay(t *testing.T) {
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	kc := newSinkCluster(t, 2, port, kfake.DataDir(t.TempDir()))
	cfg := kafkaTestConfig(t, []string{addr})
	c1 := kafkaCollector(t, cfg)
	before := sendSpans(t, c1.GRPCAddr(), 5, 4)
	topicSpans(t, kc.ListenAddrs(), before) // these reached kafka

	kc.Close()
	during := sendSpans(t, c1.GRPCAddr(), 10, 4)
	if len(during) != 40 {
		t.Fatalf("%d spans acknowledged while kafka was away, want 40 (the WAL takes them)", len(during))
	}
	crashed, cancel := context.WithCancel(context.Background())
	cancel()
	c1.Shutdown(crashed) // drains nothing: the rest stays in the WAL

	kc2 := newSinkCluster(t, 2, port)
	kafkaCollector(t, cfg)
	// A new (empty) cluster: it can only hold what the WAL replayed.
	got := topicSpans(t, kc2.ListenAddrs(), during)
	for sp := range during {
		if got[sp] != 1 {
			t.Errorf("span %s in kafka %d times after the replay, want 1", sp, got[sp])
		}
	}
}

// otelTraces builds, with pdata, a request of two resources: trace A only
// in the first resource's scope, trace B across both resources.
func otelTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	idA := pcommon.TraceID{0xa1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	idB := pcommon.TraceID{0xb2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	n := byte(0)
	for r, ids := range [][]pcommon.TraceID{{idA, idB, idA}, {idB, idB}} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		rs.Resource().Attributes().PutStr("service.name", "otel-"+strconv.Itoa(r))
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("io.opentelemetry.test")
		ss.Scope().SetVersion("2.0")
		for _, id := range ids {
			n++
			sp := ss.Spans().AppendEmpty()
			sp.SetTraceID(id)
			sp.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 1, n})
			sp.SetName("op-" + strconv.Itoa(int(n)))
			sp.SetKind(ptrace.SpanKindServer)
			sp.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(n)))
			sp.SetEndTimestamp(pcommon.Timestamp(1_700_000_000_000_001_000 + int64(n)))
			sp.Attributes().PutInt("n", int64(n))
		}
	}
	return td
}

// TestKafkaSinkOTelInterop: Tracer's messages for a request carry, per
// key, the spans, resources and scopes of the OpenTelemetry Collector
// exporter's messages for it, with the same key (hex trace id), and a
// trace the exporter sends whole is byte for byte the same message; the
// exporter's messages, taken in as requests, come out unchanged. Every
// message decodes with the kafka receiver's unmarshaler.
func TestKafkaSinkOTelInterop(t *testing.T) {
	td := otelTraces()
	req, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	otelKeys, otelValues := collector.OTelExporterMessages(t, td)

	kc := newSinkCluster(t, 2, 0)
	s := startKafkaSink(t, sinkKafkaConfig(kc.ListenAddrs()), collector.Settings{})
	s.Add(wal.Record{Offset: 1, Data: req})
	for i, v := range otelValues {
		s.Add(wal.Record{Offset: wal.Offset(2 + i), Data: v})
	}
	flushSink(t, s)
	recs := readTopic(t, kc.ListenAddrs(), 2+len(otelValues))

	// The first two messages are Tracer's for req (A, then B); then the
	// exporter's messages passed through, in order per key.
	byKey := map[string][][]byte{}
	for _, r := range recs {
		byKey[string(r.Key)] = append(byKey[string(r.Key)], r.Value)
	}
	wantByKey := map[string][][]byte{}
	for i, k := range otelKeys {
		wantByKey[k] = append(wantByKey[k], otelValues[i])
	}
	if len(byKey) != 2 || len(wantByKey) != 2 {
		t.Fatalf("keys %d (Tracer) and %d (exporter), want 2", len(byKey), len(wantByKey))
	}
	for k, want := range wantByKey {
		got := byKey[k]
		if len(got) != 1+len(want) {
			t.Fatalf("key %s: %d messages, want %d", k, len(got), 1+len(want))
		}
		ours, passed := got[0], got[1:]
		for i := range want {
			if !bytes.Equal(passed[i], want[i]) {
				t.Errorf("key %s: the exporter's message %d did not come out as it went in", k, i)
			}
		}
		// Same spans and resources as the exporter's messages together.
		var wantSpans, wantSvcs []string
		for _, v := range want {
			sp, svc := otelSpans(t, v)
			wantSpans, wantSvcs = append(wantSpans, sp...), append(wantSvcs, svc...)
		}
		gotSpans, gotSvcs := otelSpans(t, ours)
		sort.Strings(wantSpans)
		sort.Strings(gotSpans)
		if fmt.Sprint(gotSpans) != fmt.Sprint(wantSpans) || fmt.Sprint(gotSvcs) != fmt.Sprint(wantSvcs) {
			t.Errorf("key %s: spans %v of %v, want %v of %v", k, gotSpans, gotSvcs, wantSpans, wantSvcs)
		}
		if len(want) == 1 && !bytes.Equal(ours, want[0]) {
			t.Errorf("key %s: a trace of one resource and scope differs from the exporter's message", k)
		}
	}
}

// TestKafkaSinkProduceErrors: a broker that refuses the messages makes
// Flush fail with the broker's error and what to do about it, without
// dropping the batch; the next Flush sends again what was refused, and
// nothing twice.
func TestKafkaSinkProduceErrors(t *testing.T) {
	kc := newSinkCluster(t, 2, 0)
	reg := prometheus.NewRegistry()
	m, err := collector.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	s := startKafkaSink(t, sinkKafkaConfig(kc.ListenAddrs()), collector.Settings{Metrics: m, Logger: quietLogger()})
	refuse := make(chan bool, 1)
	refuse <- true
	kc.ControlKey(int16(kmsg.Produce), func(r kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		select {
		case <-refuse:
		default:
			return nil, nil, false // the cluster handles it
		}
		req := r.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		refuse <- true // until the test says otherwise
		return resp, nil, true
	})
	_, rec := mixedRequest(t, 0, 4, 2, 10)
	s.Add(wal.Record{Offset: 1, Data: rec})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err = s.Flush(ctx)
	cancel()
	if err == nil {
		t.Fatal("Flush succeeded though the broker refused every message")
	}
	if !strings.Contains(err.Error(), "TOPIC_AUTHORIZATION_FAILED") || !strings.Contains(err.Error(), "grant client") {
		t.Errorf("error %q does not say what failed and what to do", err)
	}
	if got := counterValue(t, reg, "tracer_collector_kafka_produce_errors_total", nil); got < 1 {
		t.Errorf("produce_errors_total = %v after a refusal", got)
	}
	<-refuse // accept from now on
	flushSink(t, s)
	readTopic(t, kc.ListenAddrs(), 4)
}

// TestKafkaSinkMissingTopic: a topic that does not exist fails the flush
// with what to do; with allow_auto_topic_creation the producer creates it.
func TestKafkaSinkMissingTopic(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	_, rec := mixedRequest(t, 0, 2, 2, 10)

	s := startKafkaSink(t, sinkKafkaConfig(kc.ListenAddrs()), collector.Settings{})
	s.Add(wal.Record{Offset: 1, Data: rec})
	// franz-go gives up on an unknown topic after 4 metadata requests, at
	// least 5s apart at times.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	err = s.Flush(ctx)
	cancel()
	if err == nil || !strings.Contains(err.Error(), `create topic "otlp_spans"`) {
		t.Fatalf("Flush to a missing topic: %v, want an error that says to create it", err)
	}

	k := sinkKafkaConfig(kc.ListenAddrs())
	k.Producer.AllowAutoTopicCreation = true
	auto := startKafkaSink(t, k, collector.Settings{})
	auto.Add(wal.Record{Offset: 1, Data: rec})
	flushSink(t, auto)
	readTopic(t, kc.ListenAddrs(), 2)
}
