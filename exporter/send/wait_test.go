package send

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func unavailable() answer {
	return func(context.Context, int) (*coltracepb.ExportTraceServiceResponse, error) {
		return nil, status.Error(codes.Unavailable, "down for maintenance")
	}
}

// With every breaker open, Send sleeps until the first half-open time
// rather than spinning, and gives up when the next try would pass
// MaxElapsed.
func TestAllOpenWaitsForHalfOpen(t *testing.T) {
	srv := startGRPC(t, unavailable())
	clk := newFakeClock()
	s := newTestSender(t, Config{
		Endpoints: []Endpoint{srv.endpoint()},
		Breaker:   BreakerConfig{Failures: 1, OpenFor: 10 * time.Second},
		Retry:     RetryConfig{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxElapsed: 25 * time.Second},
	}, clk)
	_, err := s.Send(context.Background(), request(t, 1), 1)
	if err == nil || IsPermanent(err) {
		t.Fatalf("Send error = %v, want a retryable one", err)
	}
	if !strings.Contains(err.Error(), "down for maintenance") || !strings.Contains(err.Error(), "would elapse") {
		t.Errorf("error %q should give the last failure and say MaxElapsed stopped it", err)
	}
	// Attempts at 0s, 10s, 20s (each a half-open probe after the first);
	// the one at 30s would pass 25s.
	if got := srv.calls(); got != 3 {
		t.Errorf("server got %d attempts, want 3", got)
	}
	sl := clk.slept()
	if len(sl) != 2 {
		t.Fatalf("slept %v, want 2 sleeps", sl)
	}
	for _, d := range sl {
		if d != 10*time.Second {
			t.Errorf("slept %v, want exactly until the half-open time (10s)", d)
		}
	}
}

// Under concurrent Sends a half-open breaker lets exactly one probe
// through; the others wait for its outcome (not spinning) and then use the
// endpoint its success closed.
func TestHalfOpenOneProbe(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	down := true
	srv := startGRPC(t, func(ctx context.Context, n int) (*coltracepb.ExportTraceServiceResponse, error) {
		mu.Lock()
		d := down
		mu.Unlock()
		if d {
			return nil, status.Error(codes.Unavailable, "down")
		}
		if n == 1 { // the probe: held until the test lets go
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return &coltracepb.ExportTraceServiceResponse{}, nil
	})
	clk := newFakeClock()
	s := newTestSender(t, Config{
		Endpoints: []Endpoint{srv.endpoint()},
		Breaker:   BreakerConfig{Failures: 1, OpenFor: time.Hour},
		Retry:     RetryConfig{MaxElapsed: 30 * time.Minute},
	}, clk)
	body := request(t, 1)
	if _, err := s.Send(context.Background(), body, 1); err == nil {
		t.Fatal("Send to a down endpoint succeeded")
	}
	if got := s.eps[0].br.state(); got != stateOpen {
		t.Fatalf("breaker %v, want open", got)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	clk.Advance(time.Hour)
	clk.blockSleeps()

	type outcome struct {
		res Result
		err error
	}
	results := make(chan outcome, 3)
	send := func() {
		res, err := s.Send(context.Background(), body, 1)
		results <- outcome{res, err}
	}
	go send() // the probe
	waitFor(t, "the probe to reach the server", func() bool { return srv.calls() == 2 })
	go send()
	go send()
	waitFor(t, "two Sends to wait for the probe", func() bool { return len(clk.slept()) == 2 })
	if got := srv.calls(); got != 2 {
		t.Fatalf("server got %d requests while the probe was in flight, want 2 (1 failure + 1 probe)", got)
	}
	close(release)
	for range 3 {
		o := <-results
		if o.err != nil || o.res.Attempts != 1 {
			t.Errorf("Send = %+v, %v; want success at the first attempt", o.res, o.err)
		}
	}
	if got := srv.calls(); got != 4 {
		t.Errorf("server got %d requests, want 4", got)
	}
	if got := len(clk.slept()); got != 2 {
		t.Errorf("%d sleeps, want 2: one per waiting Send", got)
	}
}

// Send returns by its ctx's deadline: it does not start a wait that would
// outlast it, and a hanging server is cut by Timeout.
func TestContextDeadline(t *testing.T) {
	t.Run("backoff past the deadline", func(t *testing.T) {
		srv := startGRPC(t, func(context.Context, int) (*coltracepb.ExportTraceServiceResponse, error) {
			return nil, retryInfoErr(codes.Unavailable, time.Hour)
		})
		s := newTestSender(t, Config{Endpoints: []Endpoint{srv.endpoint()}}, realClock{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := s.Send(ctx, request(t, 1), 1)
		if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "deadline comes before") {
			t.Fatalf("Send error = %v, want a retryable error saying the deadline comes first", err)
		}
		if srv.calls() != 1 {
			t.Errorf("server got %d requests, want 1", srv.calls())
		}
	})
	t.Run("canceled while waiting", func(t *testing.T) {
		srv := startGRPC(t, unavailable())
		s := newTestSender(t, Config{Endpoints: []Endpoint{srv.endpoint()}, Retry: RetryConfig{InitialInterval: time.Hour, MaxInterval: time.Hour}}, realClock{})
		s.randN = func(n int64) int64 { return n - 1 }
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			waitFor(t, "the first attempt", func() bool { return srv.calls() == 1 })
			cancel()
		}()
		_, err := s.Send(ctx, request(t, 1), 1)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Send error = %v, want context.Canceled", err)
		}
	})
	t.Run("hanging server", func(t *testing.T) {
		srv := startGRPC(t, func(ctx context.Context, _ int) (*coltracepb.ExportTraceServiceResponse, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
		clk := newFakeClock()
		s := newTestSender(t, Config{
			Endpoints: []Endpoint{srv.endpoint()},
			Timeout:   50 * time.Millisecond,
			Breaker:   BreakerConfig{Failures: 2, OpenFor: time.Minute},
			Retry:     RetryConfig{MaxElapsed: 90 * time.Second},
		}, clk)
		_, err := s.Send(context.Background(), request(t, 1), 1)
		if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "DeadlineExceeded") {
			t.Fatalf("Send error = %v, want the attempt's DeadlineExceeded", err)
		}
		// Two timeouts open the breaker, the probe a minute later
		// times out too, and the next would pass MaxElapsed.
		if got := srv.calls(); got != 3 {
			t.Errorf("server got %d attempts, want 3", got)
		}
	})
	t.Run("hanging HTTP server", func(t *testing.T) {
		srv := startHTTP(t, func(ctx context.Context, _ int) (int, http.Header, []byte) {
			<-ctx.Done()
			return http.StatusOK, nil, nil
		})
		s := newTestSender(t, Config{
			Endpoints: []Endpoint{srv.endpoint()},
			Timeout:   50 * time.Millisecond,
			Retry:     RetryConfig{MaxElapsed: time.Nanosecond},
		}, newFakeClock())
		_, err := s.Send(context.Background(), request(t, 1), 1)
		if err == nil || IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send error = %v, want a retryable timeout", err)
		}
	})
}

func TestClose(t *testing.T) {
	srv := startGRPC(t, func(context.Context, int) (*coltracepb.ExportTraceServiceResponse, error) {
		return nil, retryInfoErr(codes.Unavailable, time.Hour)
	})
	s, err := New(Config{Endpoints: []Endpoint{srv.endpoint()}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Send(context.Background(), request(t, 1), 1)
		done <- err
	}()
	waitFor(t, "the first attempt", func() bool { return srv.calls() == 1 })
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("waiting Send returned %v on Close, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Send(context.Background(), request(t, 1), 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if srv.calls() != 1 {
		t.Errorf("server got %d requests, want 1", srv.calls())
	}
}

func TestNeverUsedSenderCloses(t *testing.T) {
	s, err := New(Config{Endpoints: []Endpoint{{Address: closedPort(t), Protocol: GRPC, Insecure: true}}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if s.eps[0].t != nil {
		t.Error("New connected; connections are made on first use")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAvailable(t *testing.T) {
	srv := startGRPC(t, unavailable())
	clk := newFakeClock()
	s := newTestSender(t, Config{
		Endpoints: []Endpoint{srv.endpoint()},
		Breaker:   BreakerConfig{Failures: 1, OpenFor: 10 * time.Second},
		Retry:     RetryConfig{MaxElapsed: time.Second},
	}, clk)
	if !s.Available() {
		t.Fatal("a fresh Sender is not available")
	}
	if _, err := s.Send(context.Background(), request(t, 1), 1); err == nil {
		t.Fatal("Send succeeded")
	}
	if s.Available() {
		t.Error("available with its only breaker open")
	}
	clk.Advance(10 * time.Second)
	if !s.Available() {
		t.Error("not available with its breaker half-open")
	}
}

// Concurrent Sends while both endpoints flap (real clock, short
// intervals): every Send ends accepted, each by exactly one server, with
// the bytes as sent. Run with -race.
func TestConcurrentFlapping(t *testing.T) {
	flaky := func(ctx context.Context, n int) (*coltracepb.ExportTraceServiceResponse, error) {
		if n%3 != 2 {
			return nil, status.Error(codes.Unavailable, "flapping")
		}
		return &coltracepb.ExportTraceServiceResponse{}, nil
	}
	a, b := startGRPC(t, flaky), startHTTP(t, func(_ context.Context, n int) (int, http.Header, []byte) {
		if n%2 == 0 {
			return http.StatusServiceUnavailable, nil, nil
		}
		return http.StatusOK, nil, nil
	})
	s := newTestSender(t, Config{
		Endpoints: []Endpoint{a.endpoint(), b.endpoint()},
		Breaker:   BreakerConfig{Failures: 2, OpenFor: 2 * time.Millisecond},
		Retry:     RetryConfig{InitialInterval: time.Millisecond, MaxInterval: 4 * time.Millisecond},
	}, realClock{})
	body := request(t, 4)
	const workers, each = 6, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				_, err := s.Send(ctx, body, 4)
				cancel()
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Send: %v", err)
	}
	accepted := 0
	a.mu.Lock()
	for i, got := range a.bodies {
		if !bytes.Equal(got, body) {
			t.Errorf("gRPC request %d differs from the body sent", i)
		}
		if i%3 == 2 {
			accepted++
		}
	}
	a.mu.Unlock()
	b.mu.Lock()
	for i, got := range b.bodies {
		if !bytes.Equal(got, body) {
			t.Errorf("HTTP request %d differs from the body sent", i)
		}
		if i%2 == 1 {
			accepted++
		}
	}
	b.mu.Unlock()
	if accepted != workers*each {
		t.Errorf("servers accepted %d requests, want %d (one per Send)", accepted, workers*each)
	}
}

// An endpoint that accepts TCP connections and never speaks holds an
// attempt only for Timeout; the Send fails over to the next one.
func TestSilentEndpointFailsOver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close() // never accepts: the kernel completes the handshake
	second := startGRPC(t, ok())
	for _, proto := range []Protocol{GRPC, HTTPProtobuf} {
		t.Run(string(proto), func(t *testing.T) {
			silent := Endpoint{Address: ln.Addr().String(), Protocol: proto, Insecure: true}
			s := newTestSender(t, Config{
				Endpoints: []Endpoint{silent, second.endpoint()},
				Timeout:   500 * time.Millisecond, // the healthy second endpoint must answer within it too
			}, newFakeClock())
			res, err := s.Send(context.Background(), request(t, 1), 1)
			if err != nil {
				t.Fatal(err)
			}
			if res.Endpoint != second.addr || res.Attempts != 2 {
				t.Errorf("Result = %+v, want the second endpoint at the 2nd attempt", res)
			}
		})
	}
}

func TestFencedReader(t *testing.T) {
	body := []byte("0123456789")
	r := &fencedReader{b: body}
	buf := make([]byte, 4)
	if n, err := r.Read(buf); n != 4 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	again := r.reopen()
	all, err := io.ReadAll(again)
	if err != nil || string(all) != string(body) {
		t.Fatalf("reopened reader read %q, %v", all, err)
	}
	r.fence()
	if _, err := r.Read(buf); !errors.Is(err, errFenced) {
		t.Errorf("Read after fence: %v, want errFenced", err)
	}
	if _, err := r.reopen().Read(buf); !errors.Is(err, errFenced) {
		t.Errorf("reopened Read after fence: %v, want errFenced", err)
	}
}
