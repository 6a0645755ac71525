package otlp

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/storage"
)

const benchSpans = 512

// benchRequest is a typical HTTP-server request of 512 spans, about 225
// bytes each on the wire.
func benchRequest(b *testing.B) []byte {
	ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", Version: "0.72.0"}}
	for i := 0; i < benchSpans; i++ {
		start := uint64(1_700_000_000_000_000_000 + i*1_000_000)
		ss.Spans = append(ss.Spans, &tracepb.Span{
			TraceId: tid(i / 8), SpanId: sid(i), ParentSpanId: sid(i + 1000),
			Name: "GET /api/users/{id}", Kind: tracepb.Span_SPAN_KIND_SERVER,
			StartTimeUnixNano: start, EndTimeUnixNano: start + 1_234_567,
			Attributes: []*commonpb.KeyValue{
				str("http.request.method", "GET"),
				str("http.route", "/api/users/{id}"),
				i64("http.response.status_code", 200),
				str("url.path", fmt.Sprintf("/api/users/%d", 10000+i)),
			},
			Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
		})
	}
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			str("service.name", "users"), str("service.version", "1.4.2"),
			str("host.name", "users-7d9f8c-x2x4q"), str("telemetry.sdk.language", "go"),
		}},
		ScopeSpans: []*tracepb.ScopeSpans{ss},
	}}}
	return marshal(b, req)
}

// cpuTime is the process's user+system CPU time. The benchmarks report CPU
// per span next to wall time, because on a shared machine wall time also
// counts the time other processes held the CPU.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportPerSpan(b *testing.B, body []byte, cpu0 time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchSpans, "ns/span")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/benchSpans, "cpu-ns/span")
	b.ReportMetric(float64(len(body))/benchSpans, "B/span-wire")
}

func BenchmarkScan(b *testing.B) {
	body := benchRequest(b)
	lim := DefaultLimits()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		res, err := Scan(body, lim)
		if err != nil || res.Accepted != benchSpans {
			b.Fatalf("%+v %v", res, err)
		}
	}
	reportPerSpan(b, body, cpu0)
}

func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct {
		name   string
		decode func([]storage.Span, []byte, Limits) ([]storage.Span, DecodeStats, error)
	}{{"copy", Decode}, {"immutable", DecodeImmutable}} {
		b.Run(bc.name, func(b *testing.B) {
			body := benchRequest(b)
			lim := DefaultLimits()
			dst := make([]storage.Span, 0, benchSpans)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				var err error
				dst, _, err = bc.decode(dst[:0], body, lim)
				if err != nil || len(dst) != benchSpans {
					b.Fatalf("%d %v", len(dst), err)
				}
			}
			reportPerSpan(b, body, cpu0)
		})
	}
}

// BenchmarkProtoUnmarshal is the peer: google.golang.org/protobuf into the
// generated OTLP types.
func BenchmarkProtoUnmarshal(b *testing.B) {
	body := benchRequest(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			b.Fatal(err)
		}
	}
	reportPerSpan(b, body, cpu0)
}

// BenchmarkFromJSON converts the benchmark request in OTLP/JSON; the
// reference is the generic-map-and-protojson conversion it replaced.
func BenchmarkFromJSON(b *testing.B) {
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(benchRequest(b), &req); err != nil {
		b.Fatal(err)
	}
	body := otlpJSON(b, &req)
	for _, bc := range []struct {
		name string
		conv func([]byte) error
	}{
		{"stream", func(body []byte) error { _, err := FromJSON(body); return err }},
		{"reference", func(body []byte) error { _, err := refFromJSON(body); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if err := bc.conv(body); err != nil {
					b.Fatal(err)
				}
			}
			reportPerSpan(b, body, cpu0)
		})
	}
}
