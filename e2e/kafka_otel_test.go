package e2e

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"

	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/badger"
)

// Interoperability of Tracer's Kafka sink and ingester with the real
// OpenTelemetry Collector (issue 16): its kafka exporter and receiver
// (opentelemetry-collector-contrib exporter/kafkaexporter and
// receiver/kafkareceiver v0.165.1), built by scripts/otelcol-kafka.sh with
// the collector's builder (bench/otelcol-kafka-builder.yaml).

// otelcolKafkaEnv names that build; requireOTelcolEnv=1 makes its absence
// a failure instead of a skip.
const (
	otelcolKafkaEnv   = "TRACER_OTELCOL_KAFKA"
	requireOTelcolEnv = "TRACER_REQUIRE_OTELCOL"
)

// otelcolKafka returns the OpenTelemetry Collector build the test runs, or
// skips (fails under TRACER_REQUIRE_OTELCOL=1) when there is none.
func otelcolKafka(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(otelcolKafkaEnv)
	if bin == "" {
		msg := "no OpenTelemetry Collector with the Kafka receiver and exporter: build it with " +
			"scripts/otelcol-kafka.sh (it prints the path) and run with " + otelcolKafkaEnv + "=$(scripts/otelcol-kafka.sh)"
		if os.Getenv(requireOTelcolEnv) == "1" {
			t.Fatal(msg + " (" + requireOTelcolEnv + "=1)")
		}
		t.Skip(msg + ", or set " + requireOTelcolEnv + "=1 to make this a failure")
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() {
		t.Fatalf("%s=%s: not an executable (%v): build it with scripts/otelcol-kafka.sh", otelcolKafkaEnv, bin, err)
	}
	return bin
}

// startOTelcol runs the OpenTelemetry Collector build bin with config (a
// YAML document) and waits until its service says it is ready.
func startOTelcol(t *testing.T, bin, config, dir, name string) *proctest.Process {
	t.Helper()
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	p := proctest.Start(t, bin, []string{"--config", path}, filepath.Join(dir, name+".log"))
	// service/service.go (collector v0.165.0) logs this once every
	// pipeline has started.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(p.LogText(), "Everything is ready"); time.Sleep(50 * time.Millisecond) {
		select {
		case <-p.Exited():
			t.Fatalf("the OpenTelemetry Collector exited: %v\n%s", p.Wait(), p.LogText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the OpenTelemetry Collector is not ready after a minute\n%s", p.LogText())
		}
	}
	return p
}

// stopOTelcol stops the OpenTelemetry Collector with SIGTERM (it drains
// its queues) and checks that it exits cleanly.
func stopOTelcol(t *testing.T, p *proctest.Process) {
	t.Helper()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(time.Minute):
		t.Fatalf("the OpenTelemetry Collector has not stopped a minute after SIGTERM\n%s", p.LogText())
	}
	if err := p.Wait(); err != nil {
		t.Errorf("the OpenTelemetry Collector after SIGTERM: %v\n%s", err, p.LogText())
	}
}

// otelcolTelemetry is the OpenTelemetry Collector's own telemetry: logs
// only (its metrics would listen on :8888).
const otelcolTelemetry = `
  telemetry:
    logs:
      level: info
    metrics:
      level: none
`

// interopTraces and interopSpansEach are the traces each direction sends
// and their spans (a root and its children).
const (
	interopTraces    = 150
	interopSpansEach = 3
)

// seqIDs is an sdktrace.IDGenerator counting from 1: both directions send
// the same trace ids, so that where each writer puts a trace can be
// compared.
type seqIDs struct {
	mu           sync.Mutex
	traces, span uint64
}

var _ sdktrace.IDGenerator = (*seqIDs)(nil)

func (g *seqIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.traces++
	var tid trace.TraceID
	copy(tid[:8], "interop!")
	binary.BigEndian.PutUint64(tid[8:], g.traces)
	return tid, g.nextSpan()
}

func (g *seqIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.nextSpan()
}

func (g *seqIDs) nextSpan() trace.SpanID {
	g.span++
	var sid trace.SpanID
	binary.BigEndian.PutUint64(sid[:], g.span)
	return sid
}

// sendInterop sends interopTraces traces of interopSpansEach spans, with
// string, int and bool attributes, through the official OTLP/gRPC exporter
// to endpoint, and returns the spans as the SDK ended them.
func sendInterop(t *testing.T, endpoint, service string) tracetest.SpanStubs {
	t.Helper()
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	sent := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithIDGenerator(&seqIDs{}),
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(20*time.Millisecond), sdktrace.WithMaxExportBatchSize(100)),
		sdktrace.WithSyncer(sent),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service), attribute.String("interop.resource", "kept"))),
	)
	tracer := tp.Tracer("e2e-kafka-otel")
	for i := range interopTraces {
		ctx, root := tracer.Start(ctx, "root", trace.WithAttributes(attribute.Int("i", i), attribute.Bool("root", true)))
		for j := range interopSpansEach - 1 {
			_, ch := tracer.Start(ctx, "child", trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(attribute.Int("j", j), attribute.String("interop.s", fmt.Sprintf("value %d/%d", i, j))))
			ch.End()
		}
		root.End()
	}
	// The in-memory exporter forgets its spans at Shutdown: take them first.
	spans := sent.GetSpans()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("the OTLP exporter: %v", err)
	}
	if len(spans) != interopTraces*interopSpansEach {
		t.Fatalf("the SDK ended %d spans, want %d", len(spans), interopTraces*interopSpansEach)
	}
	return spans
}

// attrMap is attrs as key -> value text (attribute.Value.String).
func attrMap(attrs []attribute.KeyValue) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m[string(a.Key)] = a.Value.String()
	}
	return m
}

// sameAttrs reports how got (key -> value text) differs from want, or "".
func sameAttrs(got, want map[string]string) string {
	var diffs []string
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			diffs = append(diffs, fmt.Sprintf("%s=%q want %q", k, g, v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("extra %s=%q", k, v))
		}
	}
	return strings.Join(diffs, ", ")
}

// parentHex is s's parent span id in hex as OTLP carries it: empty for a
// root span.
func parentHex(s tracetest.SpanStub) string {
	if !s.Parent.SpanID().IsValid() {
		return ""
	}
	return s.Parent.SpanID().String()
}

// spanKey identifies a span by trace and span id.
func spanKey(tid, sid []byte) string { return hex.EncodeToString(tid) + "/" + hex.EncodeToString(sid) }

// readTopic returns every record of kafkaTopic, read directly (no
// group) from the start to the end offsets of now.
func readTopic(t *testing.T, brokers []string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(kafkaTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, kafkaTopic)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(0)
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	var recs []*kgo.Record
	for int64(len(recs)) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of the topic's %d records in a minute", len(recs), want)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Errorf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	return recs
}

// traceIDKey matches the key the OpenTelemetry Collector's kafka exporter
// gives a trace's message with partition_traces_by_id: the trace id in
// lowercase hex (kafka_exporter.go, traceutil.TraceIDToHexOrEmptyString).
var traceIDKey = regexp.MustCompile(`^[0-9a-f]{32}$`)

// checkMessageShape checks each of recs, written by who, for the shape the
// OpenTelemetry Collector's kafka exporter gives messages with encoding
// otlp_proto and partition_traces_by_id (exporter/kafkaexporter
// v0.165.1 kafka_exporter.go partitionData, internal/marshaler
// pdata_marshaler.go): the value an ExportTraceServiceRequest holding one
// trace, keyed by its id in hex, no headers (the exporter writes some only
// with include_metadata_keys, record_headers or signal_header, all off by
// default). It returns trace id -> the partitions its messages went to.
func checkMessageShape(t *testing.T, who string, recs []*kgo.Record) map[string]map[int32]bool {
	t.Helper()
	if len(recs) == 0 {
		t.Errorf("%s wrote no message", who)
	}
	parts := map[string]map[int32]bool{}
	bad := 0
	for _, r := range recs {
		fail := func(format string, a ...any) {
			if bad++; bad <= 5 {
				t.Errorf("%s's message at %d/%d (key %q): %s", who, r.Partition, r.Offset, r.Key, fmt.Sprintf(format, a...))
			}
		}
		if !traceIDKey.Match(r.Key) {
			fail("the key is not a trace id in lowercase hex")
		}
		if len(r.Headers) != 0 {
			fail("headers %v, want none", r.Headers)
		}
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(r.Value)
		if err != nil {
			fail("the value is not an OTLP ExportTraceServiceRequest: %v", err)
			continue
		}
		ids := map[string]bool{}
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					tid := sp.TraceID()
					ids[hex.EncodeToString(tid[:])] = true
				}
			}
		}
		if len(ids) != 1 || !ids[string(r.Key)] {
			fail("holds the traces %v, want the key's trace alone", ids)
		}
		if parts[string(r.Key)] == nil {
			parts[string(r.Key)] = map[int32]bool{}
		}
		parts[string(r.Key)][r.Partition] = true
	}
	for k, ps := range parts {
		if len(ps) != 1 {
			t.Errorf("%s wrote trace %s to partitions %v, want one", who, k, ps)
		}
	}
	return parts
}

// traceSink is an OTLP/gRPC TraceService that keeps every span it is sent.
type traceSink struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans map[string][]sinkSpan // by spanKey: each time it came
}

// sinkSpan is a span as traceSink received it.
type sinkSpan struct {
	service, resourceAttr, name, parent string
	attrs                               map[string]string
}

func (s *traceSink) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		res := pbAttrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				k := spanKey(sp.GetTraceId(), sp.GetSpanId())
				s.spans[k] = append(s.spans[k], sinkSpan{
					service: res["service.name"], resourceAttr: res["interop.resource"], name: sp.GetName(),
					parent: hex.EncodeToString(sp.GetParentSpanId()), attrs: pbAttrs(sp.GetAttributes()),
				})
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// received returns how many distinct spans have arrived.
func (s *traceSink) received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.spans)
}

// pbAttrs is attrs as key -> value text, as attribute.Value.String writes
// strings, ints and bools (the types sendInterop sends).
func pbAttrs(attrs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		switch v := a.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[a.GetKey()] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			m[a.GetKey()] = strconv.FormatInt(v.IntValue, 10)
		case *commonpb.AnyValue_BoolValue:
			m[a.GetKey()] = strconv.FormatBool(v.BoolValue)
		default:
			m[a.GetKey()] = fmt.Sprintf("unexpected %T", v)
		}
	}
	return m
}

// TestKafkaOTelCollector runs Tracer's Kafka sink and ingester against the
// real OpenTelemetry Collector, both ways, through one kfake cluster each
// (four partitions):
//
//   - otel-to-tracer: the official OTLP/gRPC exporter -> the OpenTelemetry
//     Collector (otlp receiver -> kafka exporter, otlp_proto,
//     partition_traces_by_id) -> Kafka -> "tracer ingester" (badger):
//     every span is stored once, with its attributes and resource;
//     otel-to-tracer-unkeyed does the same with the exporter's default,
//     partition_traces_by_id false.
//   - tracer-to-otel: the official OTLP/gRPC exporter -> "tracer collector
//     --sink kafka" -> Kafka -> the OpenTelemetry Collector (kafka receiver,
//     otlp_proto -> otlp_grpc exporter) -> an OTLP/gRPC server in the test:
//     every span arrives once, with its attributes and resource.
//
// Both runs send the same trace ids; the messages each writer left in
// Kafka, read back with franz-go, have the same shape (one trace per
// message keyed by its id in hex, no headers), and a trace goes to the same
// partition whichever writes it, so that a topic written by both keeps each
// trace on one partition.
func TestKafkaOTelCollector(t *testing.T) {
	otelcol := otelcolKafka(t)
	bin := proctest.BuildTracer(t)
	var otelRecs, tracerRecs []*kgo.Record

	// byID is the exporter's partition_traces_by_id: false is its
	// default (messages as the batches came, unkeyed, several traces
	// each), which the ingester must read too.
	otelToTracer := func(t *testing.T, byID bool) []*kgo.Record {
		c := startKafka(t, 4)
		brokers := c.ListenAddrs()
		dir := t.TempDir()
		grpcAddr := proctest.FreeAddr(t)
		// exporter/kafkaexporter v0.165.1 config.go: traces.topic,
		// traces.encoding, partition_traces_by_id; record_partitioner
		// left at its default (sticky_key, the sarama_compat hasher).
		oc := startOTelcol(t, otelcol, fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
exporters:
  kafka:
    brokers: [%s]
    traces:
      topic: %s
      encoding: otlp_proto
    partition_traces_by_id: %t
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [kafka]
`+otelcolTelemetry, grpcAddr, strings.Join(brokers, ", "), kafkaTopic, byID), dir, "otelcol")

		badgerDir := filepath.Join(dir, "badger")
		tel := proctest.FreeAddr(t)
		in := proctest.Start(t, bin, []string{"ingester", "--kafka-brokers", strings.Join(brokers, ","),
			"--storage", "badger", "--badger-dir", badgerDir, "--telemetry-endpoint", tel,
			"--batch-size", "100", "--batch-timeout", "20ms"}, filepath.Join(dir, "ingester.log"))
		in.WaitHealthy(t, tel)

		const service = "e2e-otel-to-tracer"
		sent := sendInterop(t, grpcAddr, service)
		// The exporter's sending queue drains before it stops.
		stopOTelcol(t, oc)
		recs := readTopic(t, brokers)
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
			done, state := groupCommitted(t, brokers, kafkaGroup)
			if done {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the ingester has not committed everything in 2 minutes: %s\n%s", state, in.LogText())
			}
		}
		for _, m := range []string{"tracer_ingester_messages_malformed_total", "tracer_ingester_spans_invalid_total"} {
			if v := scrape(t, tel, m); v != 0 {
				t.Errorf("%s = %v, want 0: the ingester refused what the OpenTelemetry Collector wrote\n%s", m, v, in.LogText())
			}
		}
		if err := in.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := in.Wait(); err != nil {
			t.Errorf("ingester after SIGTERM: %v\n%s", err, in.LogText())
		}

		store, err := badger.Open(badgerDir)
		if err != nil {
			t.Fatalf("open badger: %v", err)
		}
		defer store.Close()
		ctx := context.Background()
		stored := map[string][]storage.Span{}
		traces := map[storage.TraceID]bool{}
		for _, s := range sent {
			traces[storage.TraceID(s.SpanContext.TraceID())] = true
		}
		for id := range traces {
			tr, err := store.Trace(ctx, id)
			if err != nil {
				t.Errorf("trace %s: %v", id, err)
				continue
			}
			for _, sp := range tr.Spans {
				k := spanKey(sp.TraceID[:], sp.SpanID[:])
				stored[k] = append(stored[k], sp)
			}
		}
		bad := 0
		for _, want := range sent {
			tid, sid := want.SpanContext.TraceID(), want.SpanContext.SpanID()
			got := stored[spanKey(tid[:], sid[:])]
			problem := ""
			switch {
			case len(got) != 1:
				problem = fmt.Sprintf("stored %d times, want once", len(got))
			case got[0].Name != want.Name || got[0].ParentSpanID != storage.SpanID(want.Parent.SpanID()) || got[0].Service != service:
				problem = fmt.Sprintf("stored as %q (parent %s, service %q), want %q (parent %s, service %q)",
					got[0].Name, got[0].ParentSpanID, got[0].Service, want.Name, want.Parent.SpanID(), service)
			default:
				attrs := map[string]string{}
				for _, a := range got[0].Attributes {
					attrs[a.Key] = a.Value
				}
				res := map[string]string{}
				for _, a := range got[0].Resource {
					res[a.Key] = a.Value
				}
				if d := sameAttrs(attrs, attrMap(want.Attributes)); d != "" {
					problem = "attributes: " + d
				} else if res["interop.resource"] != "kept" {
					problem = fmt.Sprintf("resource attributes %v, want interop.resource=kept", res)
				}
			}
			if problem != "" {
				if bad++; bad <= 10 {
					t.Errorf("span %s/%s: %s", tid, sid, problem)
				}
			}
		}
		if bad > 0 || len(stored) != len(sent) {
			t.Errorf("%d of %d spans not stored once as sent; %d distinct spans stored", bad, len(sent), len(stored))
		}
		return recs
	}
	t.Run("otel-to-tracer", func(t *testing.T) { otelRecs = otelToTracer(t, true) })
	t.Run("otel-to-tracer-unkeyed", func(t *testing.T) { otelToTracer(t, false) })

	t.Run("tracer-to-otel", func(t *testing.T) {
		c := startKafka(t, 4)
		brokers := c.ListenAddrs()
		dir := t.TempDir()

		sink := &traceSink{spans: map[string][]sinkSpan{}}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		collectortrace.RegisterTraceServiceServer(srv, sink)
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		defer func() {
			srv.Stop()
			<-served
		}()

		// receiver/kafkareceiver v0.165.1 config.go: traces.topics,
		// traces.encoding; the group starts at the earliest offset, so
		// that it gets what Tracer wrote whenever it joined.
		const group = "otel-collector"
		oc := startOTelcol(t, otelcol, fmt.Sprintf(`
receivers:
  kafka:
    brokers: [%s]
    group_id: %s
    initial_offset: earliest
    traces:
      topics: [%s]
      encoding: otlp_proto
exporters:
  otlp_grpc:
    endpoint: %s
    tls:
      insecure: true
service:
  pipelines:
    traces:
      receivers: [kafka]
      exporters: [otlp_grpc]
`+otelcolTelemetry, strings.Join(brokers, ", "), group, kafkaTopic, ln.Addr()), dir, "otelcol")

		grpcAddr, colTel := proctest.FreeAddr(t), proctest.FreeAddr(t)
		col := proctest.Start(t, bin, []string{"collector", "--sink", "kafka", "--kafka-brokers", strings.Join(brokers, ","),
			"--grpc-endpoint", grpcAddr, "--http-endpoint", "", "--telemetry-endpoint", colTel,
			"--wal-dir", filepath.Join(dir, "wal"), "--batch-timeout", "20ms",
		}, filepath.Join(dir, "collector.log"))
		col.WaitHealthy(t, colTel)

		const service = "e2e-tracer-to-otel"
		sent := sendInterop(t, grpcAddr, service)
		// The collector drains its WAL into Kafka before it stops.
		if err := col.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := col.Wait(); err != nil {
			t.Errorf("collector after SIGTERM: %v\n%s", err, col.LogText())
		}
		tracerRecs = readTopic(t, brokers)
		for deadline := time.Now().Add(2 * time.Minute); sink.received() < len(sent); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d spans reached the OTLP server through the OpenTelemetry Collector in 2 minutes\n%s",
					sink.received(), len(sent), oc.LogText())
			}
		}
		// Everything read is committed (auto-commit, each second) and, once
		// the collector has stopped, exported: a message read twice would
		// show now.
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
			done, state := groupCommitted(t, brokers, group)
			if done {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the OpenTelemetry Collector's group has not committed everything in a minute: %s\n%s", state, oc.LogText())
			}
		}
		stopOTelcol(t, oc)

		sink.mu.Lock()
		defer sink.mu.Unlock()
		bad := 0
		for _, want := range sent {
			tid, sid := want.SpanContext.TraceID(), want.SpanContext.SpanID()
			got := sink.spans[spanKey(tid[:], sid[:])]
			problem := ""
			switch {
			case len(got) != 1:
				problem = fmt.Sprintf("arrived %d times, want once", len(got))
			case got[0].name != want.Name || got[0].service != service || got[0].resourceAttr != "kept":
				problem = fmt.Sprintf("arrived as %q (service %q, interop.resource %q), want %q (%q, kept)",
					got[0].name, got[0].service, got[0].resourceAttr, want.Name, service)
			case got[0].parent != parentHex(want):
				problem = fmt.Sprintf("parent %q, want %q", got[0].parent, parentHex(want))
			default:
				if d := sameAttrs(got[0].attrs, attrMap(want.Attributes)); d != "" {
					problem = "attributes: " + d
				}
			}
			if problem != "" {
				if bad++; bad <= 10 {
					t.Errorf("span %s/%s: %s", tid, sid, problem)
				}
			}
		}
		if bad > 0 || len(sink.spans) != len(sent) {
			t.Errorf("%d of %d spans did not arrive once as sent; %d distinct spans arrived", bad, len(sent), len(sink.spans))
		}
	})

	t.Run("same-shape", func(t *testing.T) {
		if len(otelRecs) == 0 || len(tracerRecs) == 0 {
			t.Fatalf("no messages to compare (OpenTelemetry Collector %d, Tracer %d): see the runs above", len(otelRecs), len(tracerRecs))
		}
		otelParts := checkMessageShape(t, "the OpenTelemetry Collector's kafka exporter", otelRecs)
		tracerParts := checkMessageShape(t, "Tracer's kafka sink", tracerRecs)
		t.Logf("messages: OpenTelemetry Collector %d, Tracer %d, for %d traces", len(otelRecs), len(tracerRecs), interopTraces)
		if len(otelParts) != interopTraces || len(tracerParts) != interopTraces {
			t.Errorf("traces keyed: OpenTelemetry Collector %d, Tracer %d; want %d each", len(otelParts), len(tracerParts), interopTraces)
		}
		differ := 0
		for k, ops := range otelParts {
			tps, ok := tracerParts[k]
			if !ok {
				continue
			}
			if fmt.Sprint(ops) != fmt.Sprint(tps) {
				if differ++; differ <= 5 {
					t.Errorf("trace %s: the OpenTelemetry Collector wrote it to partition %v, Tracer to %v", k, ops, tps)
				}
			}
		}
		if differ > 0 {
			t.Errorf("%d of %d traces go to another partition when Tracer writes them than when the OpenTelemetry Collector's kafka exporter does (with its default record_partitioner)", differ, len(otelParts))
		}
	})
}
