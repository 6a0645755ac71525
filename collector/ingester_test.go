package collector_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/backend"
	"github.com/tracerdev/tracer/storage/badger"
	"github.com/tracerdev/tracer/storage/memory"
)

const (
	kafkaTopic    = "otlp_spans"
	kafkaService  = "kafka-test"
	spansPerTrace = 3
)

// newKafka starts an in-process Kafka cluster (kfake: the wire protocol on
// 127.0.0.1) with the topic in partitions partitions.
func newKafka(t testing.TB, partitions int32) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, kafkaTopic))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// ingesterConfig is an ingester config for the cluster with small batches
// and short retry and group timings.
func ingesterConfig(c *kfake.Cluster) collector.Config {
	cfg := collector.NewDefaultConfig()
	cfg.Kafka.Brokers = c.ListenAddrs()
	cfg.Storage.Type = backend.TypeMemory // the writer is given; no backend is opened
	cfg.Batch.Size = 100
	cfg.Batch.Timeout = 20 * time.Millisecond
	cfg.Retry.InitialInterval = 5 * time.Millisecond
	cfg.Retry.MaxInterval = 50 * time.Millisecond
	cfg.Kafka.Consumer.SessionTimeout = 10 * time.Second
	cfg.Kafka.Consumer.HeartbeatInterval = 200 * time.Millisecond
	cfg.Kafka.Consumer.RebalanceTimeout = 10 * time.Second
	return cfg
}

// startIngester starts an ingester, shut down at the end of the test
// unless the test did.
func startIngester(t testing.TB, cfg collector.Config, w storage.Writer) *collector.Ingester {
	t.Helper()
	in, err := collector.NewIngester(cfg, w, quietLogger())
	if err != nil {
		t.Fatalf("NewIngester: %v", err)
	}
	if err := in.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := in.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return in
}

// newProducer returns a producing client for the cluster.
func newProducer(t testing.TB, c *kfake.Cluster) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(kafkaTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// kafkaTraceID is trace i's id.
func kafkaTraceID(i int) pcommon.TraceID {
	var id pcommon.TraceID
	copy(id[:], fmt.Sprintf("kt%014d", i))
	return id
}

// otelMessage is trace i as the OpenTelemetry Collector's kafka exporter
// writes it with partition_traces_by_id: one trace per message, keyed by
// the trace id in hex, the value ptrace.ProtoMarshaler's bytes
// (exporter/kafkaexporter/kafka_exporter.go's partitionData,
// internal/marshaler/pdata_marshaler.go), and with include_metadata_keys a
// header per client metadata value (internal/kafkaclient/headers.go), which
// the ingester ignores as the OTel receiver does by default.
func otelMessage(t testing.TB, i int) *kgo.Record {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", kafkaService)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("ingester-test")
	tid := kafkaTraceID(i)
	start := time.Now().Add(-time.Minute)
	for j := range spansPerTrace {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{byte(j + 1), 1, 2, 3, 4, 5, 6, 7})
		if j > 0 {
			sp.SetParentSpanID(pcommon.SpanID{1, 1, 2, 3, 4, 5, 6, 7})
		}
		sp.SetName(fmt.Sprintf("op-%d", j))
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(j) * time.Millisecond)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(j+5) * time.Millisecond)))
		sp.Attributes().PutInt("trace.index", int64(i))
	}
	value, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Key: []byte(hex.EncodeToString(tid[:])), Value: value,
		Headers: []kgo.RecordHeader{{Key: "tenant", Value: []byte("acme")}}}
}

// produce writes traces [from, to) and waits for Kafka's acknowledgement.
func produce(t testing.TB, cl *kgo.Client, from, to int) {
	t.Helper()
	recs := make([]*kgo.Record, 0, to-from)
	for i := from; i < to; i++ {
		recs = append(recs, otelMessage(t, i))
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// waitStored waits (bounded) until the traces [0, n) are all stored.
func waitStored(t testing.TB, r storage.Reader, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := countStored(t, r, n)
		if got == n*spansPerTrace {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d spans stored after %v", got, n*spansPerTrace, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countStored counts the distinct stored spans of traces [0, n).
func countStored(t testing.TB, r storage.Reader, n int) int {
	t.Helper()
	total := 0
	for i := range n {
		tid := kafkaTraceID(i)
		tr, err := r.Trace(context.Background(), storage.TraceID(tid))
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("Trace: %v", err)
		}
		seen := map[storage.SpanID]bool{}
		for _, s := range tr.Spans {
			seen[s.SpanID] = true
		}
		total += len(seen)
	}
	return total
}

// checkOnce checks that query results show each of traces [0, n) with
// each of its spans exactly once: by id, and in a search.
func checkOnce(t testing.TB, r storage.Reader, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		tr, err := r.Trace(ctx, storage.TraceID(kafkaTraceID(i)))
		if err != nil {
			t.Fatalf("trace %d: %v", i, err)
		}
		if len(tr.Spans) != spansPerTrace {
			t.Errorf("trace %d: %d spans returned, want %d once each", i, len(tr.Spans), spansPerTrace)
		}
	}
	traces, err := r.FindTraces(ctx, storage.Query{Service: kafkaService, Limit: n + 1})
	if err != nil {
		t.Fatalf("FindTraces: %v", err)
	}
	spans, ids := 0, map[string]bool{}
	for _, tr := range traces {
		for _, s := range tr.Spans {
			spans++
			ids[s.TraceID.String()+"/"+s.SpanID.String()] = true
		}
	}
	if len(traces) != n || spans != n*spansPerTrace || len(ids) != n*spansPerTrace {
		t.Errorf("search: %d traces, %d spans, %d distinct; want %d, %d, %d", len(traces), spans, len(ids), n, n*spansPerTrace, n*spansPerTrace)
	}
}

// committed returns the group's committed offsets and the topic's end
// offsets, by partition.
func committed(t testing.TB, c *kfake.Cluster, group string) (commits, ends map[int32]int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	commits = map[int32]int64{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.Topic == kafkaTopic {
			commits[o.Partition] = o.At
		}
	})
	listed, err := adm.ListEndOffsets(ctx, kafkaTopic)
	if err != nil {
		t.Fatalf("end offsets: %v", err)
	}
	ends = map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { ends[o.Partition] = o.Offset })
	return commits, ends
}

// waitAllCommitted waits (bounded) until the group has committed every
// partition to its end.
func waitAllCommitted(t testing.TB, c *kfake.Cluster, group string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		commits, ends := committed(t, c, group)
		done := true
		for p, end := range ends {
			if commits[p] != end {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed %v, want the end offsets %v", commits, ends)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric sums the series of the named metric in g.
func metric(t testing.TB, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}

// TestIngesterStoresEverySpan: messages shaped as the OpenTelemetry
// Collector's kafka exporter writes them, over three partitions, are all
// stored once, and every partition is committed to its end.
func TestIngesterStoresEverySpan(t *testing.T) {
	c := newKafka(t, 3)
	const n = 300
	produce(t, newProducer(t, c), 0, n)
	store := memory.New()
	cfg := ingesterConfig(c)
	in := startIngester(t, cfg, store)
	waitStored(t, store, n, time.Minute)
	waitAllCommitted(t, c, cfg.Kafka.Consumer.GroupID)
	checkOnce(t, store, n)
	g := in.Gatherer()
	if got := metric(t, g, "tracer_ingester_messages_consumed_total"); got != n {
		t.Errorf("messages consumed: %v, want %d", got, n)
	}
	if got := metric(t, g, "tracer_ingester_spans_written_total"); got != n*spansPerTrace {
		t.Errorf("spans written: %v, want %d", got, n*spansPerTrace)
	}
	if got := metric(t, g, "tracer_ingester_partition_lag"); got != 0 {
		t.Errorf("lag: %v, want 0", got)
	}
	if got := metric(t, g, "tracer_ingester_partitions_assigned"); got != 3 {
		t.Errorf("partitions assigned: %v, want 3", got)
	}
	if r := in.Health().Report(); !r.Ready {
		t.Errorf("health: %+v, want ready", r)
	}
}

// TestIngesterSkipsMalformed: messages that are not OTLP are counted and
// committed, and the valid ones around them on the same partition are
// stored.
func TestIngesterSkipsMalformed(t *testing.T) {
	c := newKafka(t, 1)
	p := newProducer(t, c)
	const n = 40
	bad := [][]byte{[]byte("not protobuf at all"), {0x0a, 0xff, 0xff, 0xff}, []byte(`{"resourceSpans":[]}`)}
	for i := range n {
		produce(t, p, i, i+1)
		if i%10 == 0 {
			if err := p.ProduceSync(context.Background(), &kgo.Record{Value: bad[(i/10)%len(bad)]}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	store := memory.New()
	cfg := ingesterConfig(c)
	in := startIngester(t, cfg, store)
	waitStored(t, store, n, time.Minute)
	waitAllCommitted(t, c, cfg.Kafka.Consumer.GroupID)
	checkOnce(t, store, n)
	// The JSON text is valid protobuf wire format by chance? It is not:
	// '{' is field 15 with wire type 3 (a group), which Scan refuses.
	if got := metric(t, in.Gatherer(), "tracer_ingester_messages_malformed_total"); got != 4 {
		t.Errorf("malformed: %v, want 4", got)
	}
}

// failingWriter fails every write while down is set.
type failingWriter struct {
	storage.Writer
	down     atomic.Bool
	failures atomic.Int64
}

func (f *failingWriter) WriteSpans(ctx context.Context, spans []storage.Span) error {
	if f.down.Load() {
		f.failures.Add(1)
		return errors.New("storage is down (test)")
	}
	return f.Writer.WriteSpans(ctx, spans)
}

// TestIngesterStorageDown: while storage fails, nothing is committed and
// health shows storage retrying; once it is back, every span is stored
// once and the offsets are committed.
func TestIngesterStorageDown(t *testing.T) {
	c := newKafka(t, 2)
	const n = 200
	produce(t, newProducer(t, c), 0, n)
	store := memory.New()
	w := &failingWriter{Writer: store}
	w.down.Store(true)
	cfg := ingesterConfig(c)
	in := startIngester(t, cfg, w)
	for deadline := time.Now().Add(30 * time.Second); w.failures.Load() < 10; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d failed writes in 30s, want the ingester to retry", w.failures.Load())
		}
	}
	if commits, _ := committed(t, c, cfg.Kafka.Consumer.GroupID); len(commits) != 0 {
		t.Errorf("committed %v while storage is down, want nothing", commits)
	}
	if st := in.Health().Report().Components["storage"]; st.Status != collector.StatusRetrying {
		t.Errorf("storage health %+v, want retrying", st)
	}
	if got := metric(t, in.Gatherer(), "tracer_ingester_storage_retrying"); got != 1 {
		t.Errorf("storage_retrying %v, want 1", got)
	}
	w.down.Store(false)
	waitStored(t, store, n, time.Minute)
	waitAllCommitted(t, c, cfg.Kafka.Consumer.GroupID)
	checkOnce(t, store, n)
	if st := in.Health().Report().Components["storage"]; st.Status != collector.StatusOK {
		t.Errorf("storage health %+v after recovery, want ok", st)
	}
}

// hangingWriter writes the first allow calls, then blocks every call
// until its context ends: a process that hangs mid-stream.
type hangingWriter struct {
	storage.Writer
	allow  atomic.Int64
	stalls atomic.Int64
}

func (s *hangingWriter) WriteSpans(ctx context.Context, spans []storage.Span) error {
	if s.allow.Add(-1) < 0 {
		s.stalls.Add(1)
		<-ctx.Done()
		return ctx.Err()
	}
	return s.Writer.WriteSpans(ctx, spans)
}

// TestIngesterKilledMidStream: an ingester stopped mid-stream without
// committing its batch in flight (its write hangs; Shutdown's deadline has
// passed) leaves the rest uncommitted; a new ingester of the same group on
// the reopened badger store resumes from the last commit: every span is
// stored, and shown once.
func TestIngesterKilledMidStream(t *testing.T) {
	c := newKafka(t, 2)
	const n = 1000
	produce(t, newProducer(t, c), 0, n)
	dir := t.TempDir()
	store, err := badger.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := &hangingWriter{Writer: store}
	w.allow.Store(5) // 5 batches of at most 100 spans: at most half
	cfg := ingesterConfig(c)
	cfg.Storage.WriteTimeout = time.Hour // the hang outlasts the "kill"
	in, err := collector.NewIngester(cfg, w, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); w.stalls.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the ingester wrote no stalled batch in 30s")
		}
	}
	killed, cancel := context.WithCancel(context.Background())
	cancel()
	if err := in.Shutdown(killed); err == nil {
		t.Error("Shutdown past its deadline with a hung write: nil error, want one saying the batch stays uncommitted")
	}
	commits, ends := committed(t, c, cfg.Kafka.Consumer.GroupID)
	var sumCommits, sumEnds int64
	for p := range ends {
		sumCommits += commits[p]
		sumEnds += ends[p]
	}
	if sumCommits >= sumEnds {
		t.Fatalf("committed %v of %v after the kill, want a part", commits, ends)
	}
	stored := countStored(t, store, n)
	if int64(stored) < sumCommits*spansPerTrace {
		t.Errorf("%d spans stored, fewer than the %d committed messages hold: committed before writing", stored, sumCommits*spansPerTrace)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store, err = badger.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	in2 := startIngester(t, cfg, store)
	waitStored(t, store, n, time.Minute)
	waitAllCommitted(t, c, cfg.Kafka.Consumer.GroupID)
	checkOnce(t, store, n)
	ctx, cancelShut := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelShut()
	if err := in2.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

// TestIngesterRebalance: while a producer keeps writing, a second ingester
// joins the group (partitions move to it) and leaves again (they move
// back): every span is stored, and shown once.
func TestIngesterRebalance(t *testing.T) {
	c := newKafka(t, 4)
	p := newProducer(t, c)
	store := memory.New()
	cfg := ingesterConfig(c)
	a := startIngester(t, cfg, store)

	var produced atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i += 10 {
			select {
			case <-stop:
				return
			default:
			}
			recs := make([]*kgo.Record, 0, 10)
			for j := i; j < i+10; j++ {
				recs = append(recs, otelMessage(t, j))
			}
			if err := p.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
				t.Errorf("produce: %v", err)
				return
			}
			produced.Store(int64(i + 10))
			time.Sleep(5 * time.Millisecond)
		}
	})
	waitMetric := func(in *collector.Ingester, name string, want float64) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); metric(t, in.Gatherer(), name) != want; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s = %v after a minute, want %v", name, metric(t, in.Gatherer(), name), want)
			}
		}
	}
	waitMetric(a, "tracer_ingester_partitions_assigned", 4)
	for produced.Load() < 200 {
		time.Sleep(10 * time.Millisecond)
	}

	b, err := collector.NewIngester(cfg, store, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitMetric(b, "tracer_ingester_partitions_assigned", 2)
	waitMetric(a, "tracer_ingester_partitions_assigned", 2)
	before := produced.Load()
	for produced.Load() < before+200 {
		time.Sleep(10 * time.Millisecond)
	}
	if metric(t, b.Gatherer(), "tracer_ingester_spans_written_total") == 0 {
		t.Error("the second ingester wrote nothing while it owned two partitions")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitMetric(a, "tracer_ingester_partitions_assigned", 4)
	before = produced.Load()
	for produced.Load() < before+200 {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	n := int(produced.Load())
	waitStored(t, store, n, time.Minute)
	waitAllCommitted(t, c, cfg.Kafka.Consumer.GroupID)
	checkOnce(t, store, n)
	if got := metric(t, a.Gatherer(), "tracer_ingester_rebalances_total"); got < 3 {
		t.Errorf("rebalance callbacks of the first ingester: %v, want at least 3 (assigned, revoked, assigned)", got)
	}
}

// nopWriter stores nothing.
type nopWriter struct{ spans atomic.Int64 }

func (w *nopWriter) WriteSpans(_ context.Context, spans []storage.Span) error {
	w.spans.Add(int64(len(spans)))
	return nil
}

// BenchmarkIngester measures the ingester's cost from kfake to a writer
// that stores nothing, per message of one trace of spansPerTrace spans (as
// the collector's Kafka sink and the OTel exporter write them): the
// messages are produced first, then the ingester reads them all. The
// in-process broker's work is in the figure too.
func BenchmarkIngester(b *testing.B) {
	c := newKafka(b, 4)
	p := newProducer(b, c)
	for i := 0; i < b.N; i += 1000 {
		produce(b, p, i, min(i+1000, b.N))
	}
	w := &nopWriter{}
	cfg := ingesterConfig(c)
	cfg.Batch.Size = 8192
	cfg.Batch.Timeout = 200 * time.Millisecond
	b.ReportAllocs()
	b.ResetTimer()
	startIngester(b, cfg, w)
	for w.spans.Load() < int64(b.N)*spansPerTrace {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
}

// TestIngesterRebalanceWhileStorageDown: an ingester whose writes keep
// failing yields to a rebalance (it pauses its retries for it) instead of
// holding it past the rebalance timeout and being kicked from the group:
// a second ingester gets its share of the partitions, the first loses none
// to a timeout, and once storage is back every span is stored once.
func TestIngesterRebalanceWhileStorageDown(t *testing.T) {
	c := newKafka(t, 4)
	const n = 400
	produce(t, newProducer(t, c), 0, n)
	store := memory.New()
	w := &failingWriter{Writer: store}
	w.down.Store(true)
	cfg := ingesterConfig(c)
	cfg.Kafka.Consumer.RebalanceTimeout = 3 * time.Second
	a := startIngester(t, cfg, w)
	for deadline := time.Now().Add(30 * time.Second); w.failures.Load() < 5; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no failed writes in 30s")
		}
	}
	b := startIngester(t, cfg, w)
	for deadline := time.Now().Add(time.Minute); metric(t, b.Gatherer(), "tracer_ingester_partitions_assigned") != 2 ||
		metric(t, a.Gatherer(), "tracer_ingester_partitions_assigned") != 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("partitions: a %v, b %v after a minute, want 2 and 2",
				metric(t, a.Gatherer(), "tracer_ingester_partitions_assigned"), metric(t, b.Gatherer(), "tracer_ingester_partitions_assigned"))
		}
	}
	if commits, _ := committed(t, c, cfg.Kafka.Consumer.GroupID); len(commits) != 0 {
		t.Errorf("committed %v while storage is down, want nothing", commits)
	}
	w.down.Store(false)
	waitStored(t, store, n, time.Minute)
	waitAllCommitted(t, c, cfg.Kafka.Consumer.GroupID)
	checkOnce(t, store, n)
	for name, in := range map[string]*collector.Ingester{"a": a, "b": b} {
		mfs, err := in.Gatherer().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "tracer_ingester_rebalances_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == "lost" && m.GetCounter().GetValue() != 0 {
					t.Errorf("ingester %s lost its partitions %v times (kicked from the group), want 0", name, m.GetCounter().GetValue())
				}
			}
		}
	}
}
