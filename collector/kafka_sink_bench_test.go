package collector

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/wal"
)

// benchSplitRequest is a request of 512 spans (4 scopes of 128) in 64
// traces, ~200 bytes each.
func benchSplitRequest(b *testing.B) []byte {
	b.Helper()
	req := splitTestRequest(128, 120)
	n := 0
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				sp.TraceId = splitTID(n % 64)
				n++
			}
		}
	}
	data, err := proto.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkKafkaSplit: the sink's splitter on the wire bytes, one message
// per trace.
func BenchmarkKafkaSplit(b *testing.B) {
	data := benchSplitRequest(b)
	var s splitter
	var msgs []traceMessage
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var err error
		if msgs, _, err = s.split(msgs[:0], data, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/512, "ns/span")
}

// BenchmarkKafkaSplitOTel is the peer: what the OpenTelemetry Collector's
// kafka exporter does with partition_traces_by_id for the same request,
// from the bytes (the OTLP receiver's ptrace unmarshal) to one marshalled
// message per resource, scope and trace (batchpersignal.SplitTraces, then
// ptrace.ProtoMarshaler, as exporter/kafkaexporter/kafka_exporter.go).
func BenchmarkKafkaSplitOTel(b *testing.B) {
	data := benchSplitRequest(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(data)
		if err != nil {
			b.Fatal(err)
		}
		otelExporterMessages(b, td)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/512, "ns/span")
}

// BenchmarkKafkaSinkFlush: the sink's whole path, Add (split) and Flush
// (produce, acks=all, wait) of batches of 16 records of 512 spans, to an
// in-process kfake broker that discards what it is sent (its own work is
// in the figure too). No peer in process: see BenchmarkKafkaSplitOTel for
// the OpenTelemetry Collector exporter's split and marshal.
func BenchmarkKafkaSinkFlush(b *testing.B) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "otlp_spans"), kfake.BlackholeProduce())
	if err != nil {
		b.Fatal(err)
	}
	defer kc.Close()
	k := defaultKafkaConfig()
	k.Brokers = kc.ListenAddrs()
	k.Producer.Linger = time.Millisecond
	s, err := NewKafkaSink(k, Settings{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(ctx)
	data := benchSplitRequest(b)
	b.ReportAllocs()
	b.SetBytes(16 * int64(len(data)))
	for b.Loop() {
		for i := range 16 {
			s.Add(wal.Record{Offset: wal.Offset(i + 1), Data: data})
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(16*512), "ns/span")
}
