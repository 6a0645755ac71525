package demo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTarget stands in for service-a: it answers as service-a's input
// checks do (checkParam), and counts what it got.
type fakeTarget struct {
	mu       sync.Mutex
	byPath   map[string]int
	bad      int // answered 400
	traced   int // requests that carried trace context
	inFlight int
	maxIn    int
	block    chan struct{} // when set, requests wait for it (or their end)
}

func (f *fakeTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.byPath == nil {
		f.byPath = map[string]int{}
	}
	f.byPath[r.URL.Path]++
	if r.Header.Get("traceparent") != "" {
		f.traced++
	}
	f.inFlight++
	f.maxIn = max(f.maxIn, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if f.block != nil {
		select {
		case <-f.block:
		case <-r.Context().Done():
			return
		}
	}
	var msg string
	switch r.URL.Path {
	case "/api/v1/search":
		msg = checkParam("q", r.URL.Query().Get("q"), maxQueryLen)
	case "/api/v1/process":
		msg = checkParam("data", r.URL.Query().Get("data"), maxDataLen)
	default:
		http.NotFound(w, r)
		return
	}
	if msg != "" {
		f.mu.Lock()
		f.bad++
		f.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, errorAnswer{Error: msg})
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (f *fakeTarget) counts() (byPath map[string]int, bad, traced, inFlight int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	byPath = map[string]int{}
	for k, v := range f.byPath {
		byPath[k] = v
	}
	return byPath, f.bad, f.traced, f.inFlight
}

func (f *fakeTarget) maxInFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxIn
}

// runTraffic runs RunTraffic with a deadline far beyond any test's
// duration, and fails the test if that deadline, not RunTraffic, ended it.
func runTraffic(t *testing.T, ctx context.Context, cfg TrafficConfig) TrafficStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	stats, err := RunTraffic(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatal("RunTraffic ran for a minute: it did not stop by itself")
	}
	return stats
}

func TestTrafficStopsByItself(t *testing.T) {
	target := &fakeTarget{}
	srv := httptest.NewServer(target)
	defer srv.Close()

	const (
		rate        = 200.0
		duration    = 500 * time.Millisecond
		concurrency = 4
	)
	var progress atomic.Int32
	stats := runTraffic(t, context.Background(), TrafficConfig{
		Target: srv.URL, Rate: rate, Duration: duration, Concurrency: concurrency,
		Interval: 50 * time.Millisecond,
		Progress: func(TrafficStats) { progress.Add(1) },
	})
	byPath, bad, traced, _ := target.counts()
	got := byPath["/api/v1/search"] + byPath["/api/v1/process"]
	t.Logf("%s; target got %v", stats, byPath)

	// Open-loop pacing: at most a tick per 1/rate over the duration (twice
	// that, for a bound that cannot flake), plus the requests in flight.
	if limit := int(rate*duration.Seconds()*2) + concurrency; got > limit {
		t.Errorf("target got %d requests in %s at %v/s, want at most %d", got, duration, rate, limit)
	}
	if got < len(trafficMix)/5 {
		t.Errorf("target got %d requests, want at least %d (the first ones of the mix)", got, len(trafficMix)/5)
	}
	if stats.Elapsed < duration {
		t.Errorf("elapsed %s, want at least the duration %s", stats.Elapsed, duration)
	}
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"sent vs requests the target got", stats.Sent, int64(got)},
		{"answered vs sent", stats.Requests, stats.Sent},
		{"kinds vs sent", stats.Search + stats.Process + stats.Bad, stats.Sent},
		{"4xx vs bad requests sent", stats.Status4xx, stats.Bad},
		{"4xx vs 400s answered", stats.Status4xx, int64(bad)},
		{"2xx vs valid requests", stats.Status2xx, stats.Search + stats.Process},
		{"failed", stats.Failed, 0},
		{"not answered", stats.NoAnswer, 0},
		{"canceled", stats.Canceled, 0},
		{"traced requests", int64(traced), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
		}
	}
	if stats.Search == 0 || stats.Process == 0 || stats.Bad == 0 {
		t.Errorf("mix: %d search, %d process, %d bad; want some of each", stats.Search, stats.Process, stats.Bad)
	}
	if stats.Search <= stats.Process || stats.Process < stats.Bad {
		t.Errorf("mix: %d search, %d process, %d bad; want mostly searches, a few bad", stats.Search, stats.Process, stats.Bad)
	}
	if stats.P50 <= 0 || stats.P99 < stats.P50 {
		t.Errorf("latency p50 %s p99 %s, want 0 < p50 <= p99", stats.P50, stats.P99)
	}
	if progress.Load() == 0 {
		t.Error("Progress was never called")
	}
}

func TestTrafficConcurrency(t *testing.T) {
	target := &fakeTarget{block: make(chan struct{})}
	srv := httptest.NewServer(target)
	defer srv.Close()

	// Every request waits until the generator has skipped one for want of a
	// free slot; then the test stops it through ctx.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	stats := runTraffic(t, ctx, TrafficConfig{
		Target: srv.URL, Rate: 200, Duration: 30 * time.Second, Concurrency: 2,
		Interval: 10 * time.Millisecond,
		Progress: func(s TrafficStats) {
			if _, _, _, in := target.counts(); s.Skipped > 0 && in == 2 {
				once.Do(func() {
					close(target.block)
					cancel()
				})
			}
		},
	})
	maxIn := target.maxInFlight()
	t.Logf("%s; at most %d in flight", stats, maxIn)
	if maxIn != 2 {
		t.Errorf("at most %d requests in flight at once, want the concurrency 2", maxIn)
	}
	if stats.Skipped == 0 {
		t.Error("no request skipped, want the ones due while 2 were in flight")
	}
	if stats.Failed != 0 {
		t.Errorf("%d failed, want 0: requests stopped by ctx are not failures", stats.Failed)
	}
	if stats.Sent < 2 || stats.Sent != stats.Requests+stats.Canceled {
		t.Errorf("sent %d, answered %d, canceled %d: want at least 2 sent, each answered or canceled", stats.Sent, stats.Requests, stats.Canceled)
	}
}

func TestTrafficNoTarget(t *testing.T) {
	// A target that refuses connections: every request fails.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	stats := runTraffic(t, context.Background(), TrafficConfig{Target: url, Rate: 100, Duration: 100 * time.Millisecond, Concurrency: 2})
	if stats.Sent == 0 || stats.NoAnswer != stats.Sent || stats.Failed != stats.Sent || stats.Requests != 0 {
		t.Errorf("%s; want every request sent unanswered and failed", stats)
	}
}

func TestTrafficConfig(t *testing.T) {
	ok := TrafficConfig{Target: "http://127.0.0.1:1", Rate: 1, Concurrency: 1}
	tests := []struct {
		name string
		edit func(*TrafficConfig)
		want string
	}{
		{"no target", func(c *TrafficConfig) { c.Target = "" }, "want a base URL"},
		{"target without scheme", func(c *TrafficConfig) { c.Target = "localhost:8000" }, "want a base URL"},
		{"target of another scheme", func(c *TrafficConfig) { c.Target = "ftp://localhost" }, "want a base URL"},
		{"zero rate", func(c *TrafficConfig) { c.Rate = 0 }, "rate 0"},
		{"negative rate", func(c *TrafficConfig) { c.Rate = -1 }, "rate -1"},
		{"huge rate", func(c *TrafficConfig) { c.Rate = 1e9 }, "rate 1e+09"},
		{"zero concurrency", func(c *TrafficConfig) { c.Concurrency = 0 }, "concurrency 0"},
		{"negative duration", func(c *TrafficConfig) { c.Duration = -time.Second }, "duration -1s"},
		{"negative interval", func(c *TrafficConfig) { c.Interval = -time.Second }, "cannot be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			_, err := RunTraffic(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "traffic: ") {
				t.Errorf("got %v, want a traffic: error containing %q", err, tt.want)
			}
		})
	}
}

func TestTrafficAgainstServiceA(t *testing.T) {
	addr, _, _ := startFakeBusiness(t)
	base, stop := startServiceA(t, ServiceAConfig{Telemetry: Telemetry{Exporter: newRecorder()}, ServiceB: addr})
	stats := runTraffic(t, context.Background(), TrafficConfig{Target: base, Rate: 100, Duration: 300 * time.Millisecond, Concurrency: 4})
	t.Log(stats)
	if stats.Requests != stats.Sent || stats.Status4xx != stats.Bad || stats.Status2xx != stats.Search+stats.Process || stats.Failed != 0 {
		t.Errorf("%s; want every request answered, the bad ones with a 4xx, the others with a 2xx", stats)
	}
	stop()
}
