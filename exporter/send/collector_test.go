package send_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/exporter/send"
)

// This file is an external test package: collector imports exporter/send
// (the agent's forwarding sink), so only send_test may import collector.

// intake is a collector.Intake that keeps what it is given, or refuses
// while full is set.
type intake struct {
	mu     sync.Mutex
	bodies [][]byte
	spans  []int
	full   bool
}

func (in *intake) Consume(_ context.Context, body []byte, spans int) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.full {
		return collector.ErrFull
	}
	in.bodies = append(in.bodies, bytes.Clone(body))
	in.spans = append(in.spans, spans)
	return nil
}

func (in *intake) last() ([]byte, int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.bodies[len(in.bodies)-1], in.spans[len(in.spans)-1]
}

// spans is an ExportTraceServiceRequest of n spans, the first zero of them
// with an all-zero (invalid) trace id.
func spans(t *testing.T, n, zero int) []byte {
	t.Helper()
	sp := make([]*tracepb.Span, n)
	for i := range sp {
		id := bytes.Repeat([]byte{byte(i + 1)}, 16)
		if i < zero {
			id = make([]byte, 16)
		}
		sp[i] = &tracepb.Span{TraceId: id, SpanId: bytes.Repeat([]byte{byte(i + 1)}, 8), Name: "op",
			StartTimeUnixNano: 1_700_000_000_000_000_000, EndTimeUnixNano: 1_700_000_000_001_000_000}
	}
	b, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: sp}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newSender(t *testing.T, cfg send.Config) *send.Sender {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := send.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestTracerCollectorReceiver sends to the real "tracer collector" OTLP
// receiver in-process, over both protocols: the bytes reach its intake as
// sent, its partial success is reported, and its backpressure
// (Unavailable with RetryInfo, 503 with Retry-After) is waited for.
func TestTracerCollectorReceiver(t *testing.T) {
	cfg := collector.NewDefaultConfig()
	cfg.Receivers.GRPC.Endpoint = "127.0.0.1:0"
	cfg.Receivers.HTTP.Endpoint = "127.0.0.1:0"
	cfg.Limits.RetryAfter = time.Hour
	in := &intake{}
	rcv := collector.NewOTLPReceiver(cfg.Receivers, cfg.Limits, in, collector.Settings{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := rcv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rcv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	eps := []send.Endpoint{
		{Address: rcv.GRPCAddr(), Protocol: send.GRPC, Insecure: true},
		{Address: "http://" + rcv.HTTPAddr() + "/v1/traces", Protocol: send.HTTPProtobuf},
		{Address: rcv.GRPCAddr(), Protocol: send.GRPC, Insecure: true, Compression: "gzip"},
		{Address: "http://" + rcv.HTTPAddr(), Protocol: send.HTTPProtobuf, Compression: "gzip"},
	}
	body := spans(t, 100, 0)
	for _, ep := range eps {
		t.Run(string(ep.Protocol)+"/"+ep.Compression, func(t *testing.T) {
			s := newSender(t, send.Config{Endpoints: []send.Endpoint{ep}})
			res, err := s.Send(context.Background(), body, 100)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rejected != 0 || res.Attempts != 1 {
				t.Errorf("Result = %+v", res)
			}
			if got, n := in.last(); !bytes.Equal(got, body) || n != 100 {
				t.Errorf("intake got %d bytes with %d spans, want the %d bytes sent with 100", len(got), n, len(body))
			}
		})
	}
	partial := spans(t, 10, 2)
	for _, ep := range eps[:2] {
		t.Run("partial/"+string(ep.Protocol), func(t *testing.T) {
			s := newSender(t, send.Config{Endpoints: []send.Endpoint{ep}})
			res, err := s.Send(context.Background(), partial, 10)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rejected != 2 || res.Message == "" || res.Attempts != 1 {
				t.Errorf("Result = %+v, want 2 rejected with a message, not retried", res)
			}
		})
	}

	in.mu.Lock()
	in.full = true
	in.mu.Unlock()
	for _, ep := range eps[:2] {
		t.Run("backpressure/"+string(ep.Protocol), func(t *testing.T) {
			s := newSender(t, send.Config{Endpoints: []send.Endpoint{ep}})
			// The collector asks for an hour: a Send with a minute
			// left stops after one attempt instead of retrying sooner.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := s.Send(ctx, body, 100)
			if err == nil || send.IsPermanent(err) {
				t.Fatalf("Send to a full collector = %v, want a retryable error", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "after 1 attempts") || !strings.Contains(msg, "deadline comes before") {
				t.Errorf("error %q: want one attempt, then the deadline before the collector's retry delay", msg)
			}
		})
	}
}
