package send

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/collector"
)

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

// TestTracerCollectorReceiver sends to the real "tracer collector" OTLP
// receiver in-process, over both protocols: the bytes reach its intake as
// sent, and its backpressure (Unavailable with RetryInfo, 503 with
// Retry-After) is retried after the delay it asks for.
func TestTracerCollectorReceiver(t *testing.T) {
	cfg := collector.NewDefaultConfig()
	cfg.Receivers.GRPC.Endpoint = "127.0.0.1:0"
	cfg.Receivers.HTTP.Endpoint = "127.0.0.1:0"
	cfg.Limits.RetryAfter = 3 * time.Second
	in := &intake{}
	rcv := collector.NewOTLPReceiver(cfg.Receivers, cfg.Limits, in, collector.Settings{Logger: quiet()})
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
	eps := []Endpoint{
		{Address: rcv.GRPCAddr(), Protocol: GRPC, Insecure: true},
		{Address: "http://" + rcv.HTTPAddr() + "/v1/traces", Protocol: HTTPProtobuf},
		{Address: rcv.GRPCAddr(), Protocol: GRPC, Insecure: true, Compression: "gzip"},
		{Address: "http://" + rcv.HTTPAddr(), Protocol: HTTPProtobuf, Compression: "gzip"},
	}
	body := request(t, 100)
	for i, ep := range eps {
		t.Run(string(ep.Protocol)+"/"+ep.Compression, func(t *testing.T) {
			s := newTestSender(t, Config{Endpoints: []Endpoint{ep}}, newFakeClock())
			res, err := s.Send(context.Background(), body, 100)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rejected != 0 || res.Attempts != 1 {
				t.Errorf("Result = %+v", res)
			}
			in.mu.Lock()
			got, spans := in.bodies[i], in.spans[i]
			in.mu.Unlock()
			if !bytes.Equal(got, body) || spans != 100 {
				t.Errorf("intake got %d bytes with %d spans, want the %d bytes sent with 100", len(got), spans, len(body))
			}
		})
	}
	// Two spans with an all-zero trace id: the receiver takes the rest
	// and says so in a partial success.
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(request(t, 10), &req); err != nil {
		t.Fatal(err)
	}
	for _, sp := range req.ResourceSpans[0].ScopeSpans[0].Spans[:2] {
		sp.TraceId = make([]byte, 16)
	}
	partial, err := proto.Marshal(&req)
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range eps[:2] {
		t.Run("partial/"+string(ep.Protocol), func(t *testing.T) {
			s := newTestSender(t, Config{Endpoints: []Endpoint{ep}}, newFakeClock())
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
			clk := newFakeClock()
			s := newTestSender(t, Config{Endpoints: []Endpoint{ep}, Breaker: BreakerConfig{Failures: 100}, Retry: RetryConfig{MaxElapsed: 10 * time.Second}}, clk)
			_, err := s.Send(context.Background(), body, 100)
			if err == nil || IsPermanent(err) {
				t.Fatalf("Send to a full collector = %v, want a retryable error", err)
			}
			// Attempts at 0, 3s, 6s, 9s; 12s would pass 10s.
			sl := clk.slept()
			if len(sl) != 3 {
				t.Errorf("slept %v, want 3 sleeps", sl)
			}
			for _, d := range sl {
				if d < 3*time.Second {
					t.Errorf("slept %v, less than the collector's retry delay of 3s", d)
				}
			}
		})
	}
}
