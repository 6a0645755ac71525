package e2e

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/badger"
)

const (
	kafkaTopic     = "otlp_spans"
	kafkaGroup     = "tracer-ingester"
	kafkaSpansEach = 3 // spans per trace
)

// startKafka starts an in-process Kafka cluster (franz-go's kfake, the
// wire protocol on 127.0.0.1) with the topic in partitions partitions.
func startKafka(t *testing.T, partitions int32) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, kafkaTopic))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// e2eTraceID is trace i's id in run (a prefix of 4 letters).
func e2eTraceID(run string, i int) pcommon.TraceID {
	var id pcommon.TraceID
	copy(id[:], fmt.Sprintf("%.4s%012d", run, i))
	return id
}

// otelKafkaMessage is trace i as the OpenTelemetry Collector's kafka
// exporter writes it with partition_traces_by_id: one trace per message,
// keyed by the trace id in hex, the value an ExportTraceServiceRequest from
// ptrace.ProtoMarshaler (exporter/kafkaexporter/kafka_exporter.go,
// internal/marshaler/pdata_marshaler.go).
func otelKafkaMessage(t *testing.T, run, service string, i int) *kgo.Record {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("e2e-kafka")
	tid := e2eTraceID(run, i)
	start := time.Now().Add(-time.Minute)
	for j := range kafkaSpansEach {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{byte(j + 1), 9, 9, 9, 9, 9, 9, 9})
		sp.SetName(fmt.Sprintf("op-%d", j))
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
	}
	value, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Error(err)
	}
	return &kgo.Record{Topic: kafkaTopic, Key: []byte(hex.EncodeToString(tid[:])), Value: value}
}

// scrape sums the series of the named metric on a telemetry endpoint's
// /metrics.
func scrape(t *testing.T, telAddr, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + telAddr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// checkStoredOnce checks that each of the traces ids is stored in store
// with each of its kafkaSpansEach spans once, by id and in a search of
// service (which holds these traces only).
func checkStoredOnce(t *testing.T, store storage.Reader, service string, ids []storage.TraceID) {
	t.Helper()
	ctx := context.Background()
	missing, n := 0, len(ids)
	for i, id := range ids {
		tr, err := store.Trace(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			missing++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Spans) != kafkaSpansEach {
			t.Errorf("trace %d: %d spans, want %d once each", i, len(tr.Spans), kafkaSpansEach)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d traces missing", missing, n)
	}
	traces, err := store.FindTraces(ctx, storage.Query{Service: service, Limit: storage.DefaultMaxTraces})
	if err != nil {
		t.Fatal(err)
	}
	spans, distinct := 0, map[string]bool{}
	for _, tr := range traces {
		for _, s := range tr.Spans {
			spans++
			distinct[s.TraceID.String()+s.SpanID.String()] = true
		}
	}
	if want := min(n, storage.DefaultMaxTraces); len(traces) != want || spans != want*kafkaSpansEach || len(distinct) != spans {
		t.Errorf("search: %d traces, %d spans, %d distinct; want %d, %d, %d", len(traces), spans, len(distinct), want, want*kafkaSpansEach, want*kafkaSpansEach)
	}
}

// TestIngesterKilled runs the built "tracer ingester" on badger against a
// kfake cluster while a producer writes OTel-shaped messages, SIGKILLs it
// once it has written some, restarts it on the same store and group, and
// checks that every span is stored once.
func TestIngesterKilled(t *testing.T) {
	bin := proctest.BuildTracer(t)
	c := startKafka(t, 3)
	brokers := c.ListenAddrs()
	dir := t.TempDir()
	badgerDir := filepath.Join(dir, "badger")
	args := func(tel string) []string {
		return []string{"ingester", "--kafka-brokers", strings.Join(brokers, ","), "--storage", "badger", "--badger-dir", badgerDir,
			"--telemetry-endpoint", tel, "--batch-size", "60", "--batch-timeout", "20ms",
			"--kafka-session-timeout", "6s", "--kafka-heartbeat-interval", "500ms", "--kafka-rebalance-timeout", "10s"}
	}

	prod, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	const run, service, n = "kill", "e2e-ingester", 1200
	var produced atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; i < n; i += 20 {
			select {
			case <-stop:
				return
			default:
			}
			recs := make([]*kgo.Record, 0, 20)
			for j := i; j < i+20; j++ {
				recs = append(recs, otelKafkaMessage(t, run, service, j))
			}
			if err := prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
				t.Errorf("produce: %v", err)
				return
			}
			produced.Store(int64(i + 20))
			time.Sleep(10 * time.Millisecond)
		}
	})
	defer func() { close(stop); wg.Wait() }()

	tel := proctest.FreeAddr(t)
	p := proctest.Start(t, bin, args(tel), filepath.Join(dir, "ingester-1.log"))
	p.WaitHealthy(t, tel)
	for deadline := time.Now().Add(time.Minute); scrape(t, tel, "tracer_ingester_spans_written_total") == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the ingester wrote nothing in a minute\n%s", p.LogText())
		}
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.Wait()
	if got := produced.Load(); got >= n {
		t.Logf("the producer had finished (%d traces) when the ingester was killed", got)
	}

	tel2 := proctest.FreeAddr(t)
	p2 := proctest.Start(t, bin, args(tel2), filepath.Join(dir, "ingester-2.log"))
	p2.WaitHealthy(t, tel2)
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		done, state := groupCommitted(t, brokers, kafkaGroup)
		if done && produced.Load() == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the group has not committed everything in 2 minutes: %s (%d traces produced)\n%s", state, produced.Load(), p2.LogText())
		}
	}
	if err := p2.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p2.Wait(); err != nil {
		t.Errorf("ingester after SIGTERM: %v\n%s", err, p2.LogText())
	}
	if log := p2.LogText(); strings.Contains(log, "panic") || !strings.Contains(log, "ingester stopped") {
		t.Errorf("ingester log: want a clean stop\n%s", log)
	}
	ids := make([]storage.TraceID, n)
	for i := range ids {
		ids[i] = storage.TraceID(e2eTraceID(run, i))
	}
	store, err := badger.Open(badgerDir)
	if err != nil {
		t.Fatalf("open badger: %v", err)
	}
	defer store.Close()
	checkStoredOnce(t, store, service, ids)
}

// groupCommitted reports whether group has committed every partition of
// kafkaTopic that holds messages to its end.
func groupCommitted(t *testing.T, brokers []string, group string) (bool, string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return false, err.Error()
	}
	ends, err := adm.ListEndOffsets(ctx, kafkaTopic)
	if err != nil {
		return false, err.Error()
	}
	done := true
	var b strings.Builder
	ends.Each(func(o kadm.ListedOffset) {
		c, ok := offs.Lookup(kafkaTopic, o.Partition)
		fmt.Fprintf(&b, "p%d %d/%d ", o.Partition, c.At, o.Offset)
		// An empty partition has nothing to commit: a group never does.
		if o.Offset != 0 && (!ok || c.At != o.Offset) {
			done = false
		}
	})
	return done, b.String()
}
