package send

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestBytesArriveAsSent(t *testing.T) {
	body := request(t, 64)
	for _, gz := range []string{"", "gzip"} {
		t.Run("grpc/"+gz, func(t *testing.T) {
			srv := startGRPC(t, ok())
			ep := srv.endpoint()
			ep.Compression = gz
			ep.Headers = map[string]string{"x-tenant": "acme"}
			s := newTestSender(t, Config{Endpoints: []Endpoint{ep}}, realClock{})
			res, err := s.Send(context.Background(), body, 64)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if res.Endpoint != srv.addr || res.Attempts != 1 || res.Rejected != 0 {
				t.Errorf("Result = %+v, want endpoint %s, 1 attempt, 0 rejected", res, srv.addr)
			}
			if got := srv.body(0); !bytes.Equal(got, body) {
				t.Errorf("server got %d bytes, different from the %d sent", len(got), len(body))
			}
			if got := srv.metadata(0).Get("user-agent"); len(got) != 1 || !strings.HasPrefix(got[0], userAgent+" ") {
				t.Errorf("user-agent metadata = %q, want %s and gRPC's", got, userAgent)
			}
			if got := srv.metadata(0).Get("x-tenant"); len(got) != 1 || got[0] != "acme" {
				t.Errorf("x-tenant metadata = %q, want [acme]", got)
			}
		})
		t.Run("http/"+gz, func(t *testing.T) {
			srv := startHTTP(t, httpOK())
			ep := srv.endpoint() // no path: /v1/traces
			ep.Compression = gz
			ep.Headers = map[string]string{"X-Tenant": "acme"}
			s := newTestSender(t, Config{Endpoints: []Endpoint{ep}}, realClock{})
			res, err := s.Send(context.Background(), body, 64)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if res.Endpoint != ep.Address || res.Attempts != 1 {
				t.Errorf("Result = %+v", res)
			}
			got, h, path := srv.request(0)
			if !bytes.Equal(got, body) {
				t.Errorf("server got %d bytes, different from the %d sent", len(got), len(body))
			}
			if got := h.Get("Content-Type"); got != contentTypeProto {
				t.Errorf("Content-Type = %q, want %q", got, contentTypeProto)
			}
			if got, want := h.Get("Content-Encoding"), gz; got != want {
				t.Errorf("Content-Encoding = %q, want %q", got, want)
			}
			if got := h.Get("User-Agent"); got != userAgent {
				t.Errorf("User-Agent = %q, want %q", got, userAgent)
			}
			if got := h.Get("X-Tenant"); got != "acme" {
				t.Errorf("X-Tenant = %q", got)
			}
			if got := path; got != "POST /v1/traces" {
				t.Errorf("request = %q, want POST /v1/traces", got)
			}
		})
	}
}

func TestFailoverToSecond(t *testing.T) {
	for _, proto := range []Protocol{GRPC, HTTPProtobuf} {
		t.Run(string(proto), func(t *testing.T) {
			dead := Endpoint{Address: closedPort(t), Protocol: proto, Insecure: true}
			var second Endpoint
			var calls func() int
			if proto == GRPC {
				srv := startGRPC(t, ok())
				second, calls = srv.endpoint(), srv.calls
			} else {
				srv := startHTTP(t, httpOK())
				second, calls = srv.endpoint(), srv.calls
			}
			clk := newFakeClock()
			s := newTestSender(t, Config{Endpoints: []Endpoint{dead, second}, Breaker: BreakerConfig{Failures: 2, OpenFor: time.Minute}}, clk)
			body := request(t, 3)
			for i := range 5 {
				res, err := s.Send(context.Background(), body, 3)
				if err != nil {
					t.Fatalf("Send %d: %v", i, err)
				}
				if res.Endpoint != second.Address {
					t.Fatalf("Send %d went to %s, want the second endpoint %s", i, res.Endpoint, second.Address)
				}
				// The first two Sends try the dead one first; then its
				// breaker is open and it is skipped.
				want := 2
				if i >= 2 {
					want = 1
				}
				if res.Attempts != want {
					t.Errorf("Send %d: %d attempts, want %d", i, res.Attempts, want)
				}
			}
			if got := calls(); got != 5 {
				t.Errorf("second endpoint got %d requests, want 5", got)
			}
			if got := s.eps[0].br.state(); got != stateOpen {
				t.Errorf("dead endpoint's breaker is %v, want open", got)
			}
			if len(clk.slept()) != 0 {
				t.Errorf("Send slept %v; failover should not wait", clk.slept())
			}
		})
	}
}

func TestFailBack(t *testing.T) {
	first := startGRPC(t, ok())
	second := startGRPC(t, ok())
	clk := newFakeClock()
	s := newTestSender(t, Config{
		Endpoints: []Endpoint{first.endpoint(), second.endpoint()},
		Breaker:   BreakerConfig{Failures: 1, OpenFor: 10 * time.Second},
		Timeout:   5 * time.Second,
	}, clk)
	body := request(t, 2)
	send := func() Result {
		t.Helper()
		res, err := s.Send(context.Background(), body, 2)
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		return res
	}
	if res := send(); res.Endpoint != first.addr {
		t.Fatalf("first Send went to %s, want %s", res.Endpoint, first.addr)
	}
	first.stop()
	if res := send(); res.Endpoint != second.addr {
		t.Fatalf("with the first down, Send went to %s", res.Endpoint)
	}
	if got := s.eps[0].br.state(); got != stateOpen {
		t.Fatalf("first's breaker is %v, want open", got)
	}
	first.start(t, first.addr)
	// gRPC reconnects in the background after a failed connection
	// attempt (TRANSIENT_FAILURE, where RPCs fail fast); an IDLE channel
	// (the connection was lost) connects for the probe's RPC.
	conn := s.eps[0].t.(*grpcTransport).conn
	waitFor(t, "the channel to the restarted server", func() bool {
		st := conn.GetState()
		return st == connectivity.Ready || st == connectivity.Idle
	})
	// Still open: traffic stays on the second.
	if res := send(); res.Endpoint != second.addr || res.Attempts != 1 {
		t.Fatalf("while first's breaker is open, Send = %+v", res)
	}
	clk.Advance(10 * time.Second)
	// Half-open: the next Send is the probe; it succeeds and closes it.
	before := first.calls()
	res := send()
	if res.Endpoint != first.addr {
		t.Fatalf("probe Send went to %s, want fail-back to %s", res.Endpoint, first.addr)
	}
	if got := first.calls() - before; got != 1 {
		t.Errorf("first got %d requests for the probe, want 1", got)
	}
	if got := s.eps[0].br.state(); got != stateClosed {
		t.Errorf("first's breaker is %v after the probe, want closed", got)
	}
	for range 3 {
		if res := send(); res.Endpoint != first.addr {
			t.Fatalf("after fail-back Send went to %s", res.Endpoint)
		}
	}
}

func TestSpread(t *testing.T) {
	srvs := []*grpcServer{startGRPC(t, ok()), startGRPC(t, ok()), startGRPC(t, ok())}
	var eps []Endpoint
	for _, s := range srvs {
		eps = append(eps, s.endpoint())
	}
	s := newTestSender(t, Config{Endpoints: eps, Spread: true}, newFakeClock())
	body := request(t, 1)
	for range 30 {
		if _, err := s.Send(context.Background(), body, 1); err != nil {
			t.Fatal(err)
		}
	}
	for i, srv := range srvs {
		if got := srv.calls(); got != 10 {
			t.Errorf("endpoint %d got %d of 30 requests, want 10", i, got)
		}
	}
	// An endpoint down: once its breaker is open the others share the
	// traffic evenly.
	srvs[1].stop()
	for s.eps[1].br.state() != stateOpen {
		if _, err := s.Send(context.Background(), body, 1); err != nil {
			t.Fatal(err)
		}
	}
	a0, c0 := srvs[0].calls(), srvs[2].calls()
	for range 20 {
		if _, err := s.Send(context.Background(), body, 1); err != nil {
			t.Fatal(err)
		}
	}
	if a, c := srvs[0].calls()-a0, srvs[2].calls()-c0; a != 10 || c != 10 {
		t.Errorf("with the middle endpoint down the others got %d and %d of 20, want 10 and 10", a, c)
	}
}

func retryInfoErr(c codes.Code, d time.Duration) error {
	st, err := status.New(c, "busy").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

func TestGRPCRetryInfoHonoured(t *testing.T) {
	srv := startGRPC(t, func(_ context.Context, n int) (*coltracepb.ExportTraceServiceResponse, error) {
		if n < 2 {
			return nil, retryInfoErr(codes.Unavailable, 7*time.Second)
		}
		return &coltracepb.ExportTraceServiceResponse{}, nil
	})
	clk := newFakeClock()
	s := newTestSender(t, Config{Endpoints: []Endpoint{srv.endpoint()}, Breaker: BreakerConfig{Failures: 10}}, clk)
	res, err := s.Send(context.Background(), request(t, 1), 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 || srv.calls() != 3 {
		t.Errorf("attempts = %d, server calls = %d, want 3 and 3", res.Attempts, srv.calls())
	}
	sl := clk.slept()
	if len(sl) != 2 {
		t.Fatalf("slept %v, want 2 sleeps", sl)
	}
	for _, d := range sl {
		if d < 7*time.Second {
			t.Errorf("slept %v between attempts, less than the server's RetryInfo of 7s", d)
		}
	}
}

func TestGRPCStatusClassification(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		retryable bool
	}{
		{"Unavailable", status.Error(codes.Unavailable, "down"), true},
		{"Aborted", status.Error(codes.Aborted, "x"), true},
		{"DeadlineExceeded", status.Error(codes.DeadlineExceeded, "x"), true},
		{"OutOfRange", status.Error(codes.OutOfRange, "x"), true},
		{"DataLoss", status.Error(codes.DataLoss, "x"), true},
		{"Canceled", status.Error(codes.Canceled, "x"), true},
		{"ResourceExhausted with RetryInfo", retryInfoErr(codes.ResourceExhausted, time.Second), true},
		{"ResourceExhausted", status.Error(codes.ResourceExhausted, "too big"), false},
		{"InvalidArgument", status.Error(codes.InvalidArgument, "bad span"), false},
		{"Unauthenticated", status.Error(codes.Unauthenticated, "who"), false},
		{"Internal", status.Error(codes.Internal, "x"), false},
		{"Unimplemented", status.Error(codes.Unimplemented, "x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startGRPC(t, func(_ context.Context, n int) (*coltracepb.ExportTraceServiceResponse, error) {
				if n == 0 {
					return nil, tt.err
				}
				return &coltracepb.ExportTraceServiceResponse{}, nil
			})
			s := newTestSender(t, Config{Endpoints: []Endpoint{srv.endpoint()}}, newFakeClock())
			res, err := s.Send(context.Background(), request(t, 1), 1)
			if tt.retryable {
				if err != nil || res.Attempts != 2 {
					t.Errorf("Send = %+v, %v; want success on the 2nd attempt", res, err)
				}
				return
			}
			if !IsPermanent(err) {
				t.Fatalf("Send error = %v, want a PermanentError", err)
			}
			if srv.calls() != 1 {
				t.Errorf("server got %d requests, want 1: permanent errors are not retried", srv.calls())
			}
			var pe *PermanentError
			if errors.As(err, &pe); pe.Endpoint != srv.addr {
				t.Errorf("PermanentError.Endpoint = %q, want %q", pe.Endpoint, srv.addr)
			}
		})
	}
}

func TestHTTPStatusClassification(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
		retryable  bool
		minSleep   time.Duration
	}{
		{http.StatusServiceUnavailable, "9", true, 9 * time.Second},
		{http.StatusTooManyRequests, "", true, 0},
		{http.StatusBadGateway, "", true, 0},
		{http.StatusGatewayTimeout, "3", true, 3 * time.Second},
		{http.StatusServiceUnavailable, "9223372036854775807", true, maxServerDelay},
		{http.StatusBadRequest, "", false, 0},
		{http.StatusUnauthorized, "", false, 0},
		{http.StatusNotFound, "", false, 0},
		{http.StatusRequestEntityTooLarge, "", false, 0},
		{http.StatusInternalServerError, "", false, 0},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv := startHTTP(t, func(_ context.Context, n int) (int, http.Header, []byte) {
				if n == 0 {
					h := http.Header{}
					if tt.retryAfter != "" {
						h.Set("Retry-After", tt.retryAfter)
					}
					return tt.status, h, []byte("nope")
				}
				return http.StatusOK, nil, nil
			})
			clk := newFakeClock()
			s := newTestSender(t, Config{Endpoints: []Endpoint{srv.endpoint()}}, clk)
			res, err := s.Send(context.Background(), request(t, 1), 1)
			if !tt.retryable {
				if !IsPermanent(err) || srv.calls() != 1 {
					t.Fatalf("Send error = %v after %d requests, want a PermanentError after 1", err, srv.calls())
				}
				if !strings.Contains(err.Error(), "nope") {
					t.Errorf("error %q does not quote the response body", err)
				}
				return
			}
			if err != nil || res.Attempts != 2 {
				t.Fatalf("Send = %+v, %v; want success on the 2nd attempt", res, err)
			}
			if sl := clk.slept(); len(sl) != 1 || sl[0] < tt.minSleep {
				t.Errorf("slept %v, want one sleep of at least %v (Retry-After)", sl, tt.minSleep)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 2 * time.Minute},
		{" 5 ", 5 * time.Second},
		{"-3", 0},
		{"soon", 0},
		{"Wed, 02 Dec 2026 05:00:30 GMT", 30 * time.Second},
		{"Wed, 02 Dec 2026 04:59:00 GMT", 0},
		{"99999999999999999999", 0},
		{"9223372036854775807", time.Duration(1<<63 - 1)},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.in, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestPartialSuccess(t *testing.T) {
	resp := &coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{RejectedSpans: 4, ErrorMessage: "4 spans without a trace id"}}
	grpcSrv := startGRPC(t, func(context.Context, int) (*coltracepb.ExportTraceServiceResponse, error) { return resp, nil })
	wire, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	httpSrv := startHTTP(t, func(context.Context, int) (int, http.Header, []byte) {
		return http.StatusOK, http.Header{"Content-Type": {contentTypeProto}}, wire
	})
	for _, ep := range []Endpoint{grpcSrv.endpoint(), httpSrv.endpoint()} {
		t.Run(string(ep.Protocol), func(t *testing.T) {
			s := newTestSender(t, Config{Endpoints: []Endpoint{ep}}, newFakeClock())
			res, err := s.Send(context.Background(), request(t, 10), 10)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rejected != 4 || res.Message != "4 spans without a trace id" || res.Attempts != 1 {
				t.Errorf("Result = %+v, want 4 rejected with the message, 1 attempt (not retried)", res)
			}
		})
	}
}

// HTTP fail-back with a real restart: the dead server's kept-alive
// connection is dropped and a new one made for the probe.
func TestFailBackHTTP(t *testing.T) {
	first := startHTTP(t, httpOK())
	second := startHTTP(t, httpOK())
	clk := newFakeClock()
	s := newTestSender(t, Config{
		Endpoints: []Endpoint{first.endpoint(), second.endpoint()},
		Breaker:   BreakerConfig{Failures: 1, OpenFor: 10 * time.Second},
	}, clk)
	body := request(t, 2)
	send := func() Result {
		t.Helper()
		res, err := s.Send(context.Background(), body, 2)
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		return res
	}
	firstEP := first.endpoint().Address
	if res := send(); res.Endpoint != firstEP {
		t.Fatalf("Send went to %s, want %s", res.Endpoint, firstEP)
	}
	first.stop()
	if res := send(); res.Endpoint != second.endpoint().Address {
		t.Fatalf("with the first down, Send went to %s", res.Endpoint)
	}
	first.start(t, first.addr, nil)
	if res := send(); res.Endpoint != second.endpoint().Address {
		t.Fatalf("with first's breaker open, Send went to %s", res.Endpoint)
	}
	clk.Advance(10 * time.Second)
	if res := send(); res.Endpoint != firstEP || res.Attempts != 1 {
		t.Fatalf("probe Send = %+v, want fail-back to %s at the first attempt", res, firstEP)
	}
	if got := s.eps[0].br.state(); got != stateClosed {
		t.Errorf("first's breaker %v after the probe, want closed", got)
	}
}

// Close while Sends run: every Send returns, accepted or ErrClosed.
func TestCloseDuringSends(t *testing.T) {
	srv := startGRPC(t, func(_ context.Context, n int) (*coltracepb.ExportTraceServiceResponse, error) {
		if n%2 == 0 {
			return nil, status.Error(codes.Unavailable, "busy")
		}
		return &coltracepb.ExportTraceServiceResponse{}, nil
	})
	s, err := New(Config{
		Endpoints: []Endpoint{srv.endpoint()},
		Logger:    quiet(),
		Retry:     RetryConfig{InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond},
		Breaker:   BreakerConfig{Failures: 1000, OpenFor: time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := request(t, 1)
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for range 4 {
		wg.Go(func() {
			for range 100 {
				if _, err := s.Send(context.Background(), body, 1); err != nil {
					errs <- err
				}
			}
		})
	}
	waitFor(t, "some requests", func() bool { return srv.calls() >= 20 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	closed := 0
	for err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Send during Close: %v, want ErrClosed", err)
		}
		closed++
	}
	if closed == 0 {
		t.Error("no Send saw the Close")
	}
}
