package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sink is an OTLP trace service that decodes every request with the
// generated types and remembers its spans.
type sink struct {
	mu       sync.Mutex
	requests int
	spans    map[[24]byte]int // trace id + span id -> times seen
	reply    []byte           // response to send
	fail     bool
}

func (s *sink) export(req []byte) ([]byte, error) {
	if s.fail {
		return nil, status.Error(codes.Unavailable, "down")
	}
	var m coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(req, &m); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	for _, rs := range m.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				var k [24]byte
				copy(k[:16], sp.TraceId)
				copy(k[16:], sp.SpanId)
				s.spans[k]++
			}
		}
	}
	return s.reply, nil
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func serve(t *testing.T, s *sink) string {
	t.Helper()
	s.spans = map[[24]byte]int{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(rawCodec{}))
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Export",
			Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				var req rawBytes
				if err := dec(&req); err != nil {
					return nil, err
				}
				resp, err := s.export(req)
				return rawBytes(resp), err
			},
		}},
	}, s)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func runLoad(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out)
	return out.String(), err
}

func TestRunSendsEveryRequestWithNewTraces(t *testing.T) {
	s := &sink{}
	addr := serve(t, s)
	out, err := runLoad(t, "-endpoint", addr, "-senders", "3", "-requests", "40", "-spans", "100", "-distinct", "4", "-duration", "0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "requests 40 spans 4000 rejected 0 failed 0 ") {
		t.Errorf("output %q, want 40 requests, 4000 spans", out)
	}
	if got := s.count(); got != 40 {
		t.Errorf("server got %d requests, want 40", got)
	}
	// Requests are re-sent with new trace ids: no span arrives twice.
	if len(s.spans) != 4000 {
		t.Errorf("server got %d distinct spans, want 4000", len(s.spans))
	}
	for k, n := range s.spans {
		if n != 1 {
			t.Fatalf("span %x arrived %d times", k, n)
		}
	}
}

func TestRunPacedAndBoundedByDuration(t *testing.T) {
	s := &sink{}
	addr := serve(t, s)
	out, err := runLoad(t, "-endpoint", addr, "-senders", "2", "-rate", "20000", "-spans", "50", "-duration", "300ms")
	if err != nil {
		t.Fatal(err)
	}
	var req, spans int
	if _, err := fmtSscan(out, &req, &spans); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if got := s.count(); req == 0 || spans != req*50 || got != req {
		t.Errorf("output %q, server got %d requests: want the same non-zero count of 50-span requests", out, got)
	}
}

func TestRunCountsRejectedSpans(t *testing.T) {
	// partial_success { rejected_spans: 7 }
	s := &sink{reply: []byte{0x0a, 0x02, 0x08, 0x07}}
	addr := serve(t, s)
	out, err := runLoad(t, "-endpoint", addr, "-senders", "1", "-requests", "3", "-spans", "10", "-duration", "0")
	if err != nil {
		t.Fatal(err)
	}
	if want := "requests 3 spans 9 rejected 21 failed 0 "; !strings.HasPrefix(out, want) {
		t.Errorf("output %q, want prefix %q", out, want)
	}
}

func TestRunFailsWhenEveryRequestFails(t *testing.T) {
	s := &sink{fail: true}
	addr := serve(t, s)
	out, err := runLoad(t, "-endpoint", addr, "-senders", "2", "-requests", "4", "-spans", "10", "-duration", "0")
	if err == nil || status.Code(errorsUnwrapAll(err)) != codes.Unavailable {
		t.Errorf("err = %v, want the Unavailable of the server", err)
	}
	if !strings.HasPrefix(out, "requests 4 spans 0 rejected 0 failed 4 ") {
		t.Errorf("output %q, want 4 failed requests", out)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-senders", "0"},
		{"-rate", "-1"},
		{"-duration", "0"},
	} {
		if _, err := runLoad(t, args...); err == nil {
			t.Errorf("run(%q) = nil error, want one", args)
		}
	}
}

func TestBuildRequestsDecodeAsBuilt(t *testing.T) {
	reqs, err := buildRequests(3, 512, 8, 1, nowForTest)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		var m coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(r.body, &m); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		n, services := 0, map[string]bool{}
		for _, rs := range m.ResourceSpans {
			for _, a := range rs.Resource.Attributes {
				if a.Key == "service.name" {
					services[a.Value.GetStringValue()] = true
				}
			}
			for _, ss := range rs.ScopeSpans {
				n += len(ss.Spans)
			}
		}
		if n != 512 || r.spans != 512 {
			t.Errorf("request %d holds %d spans (says %d), want 512", i, n, r.spans)
		}
		if len(services) < 2 || len(r.ids) < 512 {
			t.Errorf("request %d: %d services, %d trace id occurrences; want several services and one id per span at least", i, len(services), len(r.ids))
		}
		before := bytes.Clone(r.body)
		r.renew(42)
		if bytes.Equal(before, r.body) {
			t.Errorf("request %d: renew changed nothing", i)
		}
		r.renew(0)
		if !bytes.Equal(before, r.body) {
			t.Errorf("request %d: renew(0) does not restore the ids as built", i)
		}
	}
}
