package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// TrafficConfig configures the traffic generator.
type TrafficConfig struct {
	// Target is service-a's base URL, such as http://localhost:8000.
	Target string
	// Rate is requests per second over all workers.
	Rate float64
	// Duration is how long to send; 0 sends until ctx is done.
	Duration time.Duration
	// Concurrency is the number of requests in flight at most.
	Concurrency int
	// Progress, when set, is called about every Interval with the totals.
	Progress func(TrafficStats)
	// Interval is how often Progress is called (default 5s).
	Interval time.Duration
	// Timeout bounds each request (default 10s).
	Timeout time.Duration
	// Logger gets a line at the start and one at the end (nil: none).
	Logger *slog.Logger
}

// TrafficStats counts what the generator sent.
type TrafficStats struct {
	Requests int64 // answered, whatever the status
	Failed   int64 // answered with a 5xx, or not answered
	Elapsed  time.Duration

	// Sent counts the requests started: Requests plus NoAnswer plus
	// Canceled, and the requests still in flight when the totals were
	// taken.
	Sent int64
	// Canceled counts the requests stopped by ctx before their answer;
	// they are not failures.
	Canceled int64
	// Skipped counts the moments a request was due while Concurrency
	// requests were in flight: the generator skips it rather than queue
	// it, so a slow target sees the same rate and a shorter run, not a
	// burst later.
	Skipped int64
	// Search, Process and Bad count the requests sent of each kind: a
	// search, a process request, and a request that is invalid on purpose
	// (which service-a answers with a 400).
	Search, Process, Bad int64
	// Status2xx, Status4xx and Status5xx count the answers by status
	// class; NoAnswer the requests that got none (connection refused,
	// timeout).
	Status2xx, Status4xx, Status5xx, NoAnswer int64
	// P50 and P99 are latencies of the answered requests (estimated from
	// a bounded sample on long runs).
	P50, P99 time.Duration
}

// String is a one-line summary of s.
func (s TrafficStats) String() string {
	return fmt.Sprintf("%d sent in %s (%d search, %d process, %d bad), %d answered: %d 2xx, %d 4xx, %d 5xx; %d not answered, %d canceled, %d skipped (all busy); p50 %s, p99 %s",
		s.Sent, s.Elapsed.Round(time.Millisecond), s.Search, s.Process, s.Bad,
		s.Requests, s.Status2xx, s.Status4xx, s.Status5xx, s.NoAnswer, s.Canceled, s.Skipped,
		s.P50.Round(10*time.Microsecond), s.P99.Round(10*time.Microsecond))
}

// The defaults of TrafficConfig's optional fields.
const (
	defaultTrafficInterval = 5 * time.Second
	defaultTrafficTimeout  = 10 * time.Second
	// latencySample bounds the latencies kept for the percentiles.
	latencySample = 10000
)

// requestKind is one kind of request in the mix.
type requestKind int

const (
	kindSearch requestKind = iota
	kindProcess
	kindBad
)

// trafficMix is the order of request kinds, repeated: mostly searches,
// some process requests, a few bad requests. Each kind comes early, so even
// a short run hits both routes and a 400.
var trafficMix = []requestKind{
	kindSearch, kindProcess, kindSearch, kindBad, kindSearch,
	kindSearch, kindSearch, kindProcess, kindSearch, kindSearch,
	kindSearch, kindSearch, kindProcess, kindSearch, kindSearch,
	kindSearch, kindSearch, kindSearch, kindProcess, kindSearch,
}

// vocabulary is what searches ask for: few enough words that service-c's
// cache hits sometimes.
var vocabulary = []string{
	"example", "tracer", "clock", "span", "trace", "order", "user", "cart",
	"invoice", "payment", "shipping", "stock", "price", "review", "search",
	"report",
}

// RunTraffic sends a mix of search and process requests to cfg.Target at
// cfg.Rate until cfg.Duration has passed or ctx is done, and returns the
// totals.
//
// It is open-loop: a request is due every 1/Rate seconds whatever the
// answers, the first at once. When Concurrency requests are in flight, a due
// request is skipped and counted (TrafficStats.Skipped). The mix is mostly
// searches for words of a small vocabulary (sometimes two words, sometimes
// a prefix), some process requests and a few invalid ones that service-a
// answers with a 400. The requests carry no trace context: service-a
// starts each trace. After Duration RunTraffic waits for the requests in
// flight; when ctx is done it cancels them (TrafficStats.Canceled).
func RunTraffic(ctx context.Context, cfg TrafficConfig) (TrafficStats, error) {
	base, err := trafficTarget(cfg.Target)
	if err != nil {
		return TrafficStats{}, err
	}
	switch {
	case !(cfg.Rate > 0) || cfg.Rate > 1e6:
		return TrafficStats{}, fmt.Errorf("traffic: rate %v: want requests per second in (0, 1e6]", cfg.Rate)
	case cfg.Concurrency < 1:
		return TrafficStats{}, fmt.Errorf("traffic: concurrency %d: want at least 1", cfg.Concurrency)
	case cfg.Duration < 0:
		return TrafficStats{}, fmt.Errorf("traffic: duration %s: want 0 (until stopped) or more", cfg.Duration)
	case cfg.Interval < 0 || cfg.Timeout < 0:
		return TrafficStats{}, errors.New("traffic: interval and timeout cannot be negative")
	}
	interval := orDefault(cfg.Interval, defaultTrafficInterval)
	timeout := orDefault(cfg.Timeout, defaultTrafficTimeout)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	// A plain client: no otelhttp, no propagators.
	transport := &http.Transport{
		MaxIdleConnsPerHost: cfg.Concurrency,
		IdleConnTimeout:     30 * time.Second,
	}
	defer transport.CloseIdleConnections()
	g := &generator{
		client: &http.Client{Transport: transport, Timeout: timeout},
		base:   base,
		start:  time.Now(),
	}

	var deadline <-chan time.Time
	if cfg.Duration > 0 {
		t := time.NewTimer(cfg.Duration)
		defer t.Stop()
		deadline = t.C
	}
	every := time.Duration(float64(time.Second) / cfg.Rate)
	if every <= 0 {
		every = time.Nanosecond
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	report := time.NewTicker(interval)
	defer report.Stop()

	log.Info("traffic started", "target", base.String(), "rate", cfg.Rate, "duration", cfg.Duration, "concurrency", cfg.Concurrency)
	slots := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	var n int
	send := func() {
		select {
		case slots <- struct{}{}:
		default:
			g.skip()
			return
		}
		kind := trafficMix[n%len(trafficMix)]
		n++
		wg.Go(func() {
			defer func() { <-slots }()
			g.send(ctx, kind)
		})
	}
	send()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-deadline:
			break loop
		case <-ticker.C:
			send()
		case <-report.C:
			if cfg.Progress != nil {
				cfg.Progress(g.stats())
			}
		}
	}
	wg.Wait()
	stats := g.stats()
	log.Info("traffic stopped", "stats", stats.String())
	return stats, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// trafficTarget parses and checks a base URL.
func trafficTarget(target string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSuffix(target, "/"))
	if err != nil {
		return nil, fmt.Errorf("traffic: target: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("traffic: target %q: want a base URL such as http://localhost:8000", target)
	}
	return u, nil
}

// generator sends requests and keeps the totals.
type generator struct {
	client *http.Client
	base   *url.URL
	start  time.Time

	mu        sync.Mutex
	s         TrafficStats
	latencies []time.Duration // a uniform sample of at most latencySample
	answered  int             // latencies offered to the sample
}

func (g *generator) skip() {
	g.mu.Lock()
	g.s.Skipped++
	g.mu.Unlock()
}

// send sends one request of kind and counts its outcome.
func (g *generator) send(ctx context.Context, kind requestKind) {
	u := g.request(kind)
	g.mu.Lock()
	g.s.Sent++
	switch kind {
	case kindSearch:
		g.s.Search++
	case kindProcess:
		g.s.Process++
	default:
		g.s.Bad++
	}
	g.mu.Unlock()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil { // cannot happen: the URL is built from a parsed one
		g.count(0, 0)
		return
	}
	begin := time.Now()
	resp, err := g.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			g.mu.Lock()
			g.s.Canceled++ // stopped, not failed
			g.mu.Unlock()
			return
		}
		g.count(0, 0)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	g.count(resp.StatusCode, time.Since(begin))
}

// request builds the URL of one request of kind.
func (g *generator) request(kind requestKind) string {
	u := *g.base
	q := url.Values{}
	switch kind {
	case kindSearch:
		u.Path += "/api/v1/search"
		q.Set("q", searchQuery())
	case kindProcess:
		u.Path += "/api/v1/process"
		q.Set("data", processData())
	default:
		switch rand.N(3) {
		case 0:
			u.Path += "/api/v1/search" // no q
		case 1:
			u.Path += "/api/v1/search"
			q.Set("q", strings.Repeat("x", maxQueryLen+1))
		default:
			u.Path += "/api/v1/process"
			q.Set("data", strings.Repeat("d", maxDataLen+1))
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// searchQuery is a word of the vocabulary, sometimes two, sometimes a
// prefix ("pay*").
func searchQuery() string {
	w := vocabulary[rand.N(len(vocabulary))]
	switch r := rand.N(10); {
	case r == 0:
		return w + " " + vocabulary[rand.N(len(vocabulary))]
	case r == 1:
		return w[:min(3, len(w))] + "*"
	default:
		return w
	}
}

// processData is a small record such as "order-42=paid".
func processData() string {
	states := [...]string{"new", "paid", "shipped", "returned"}
	return fmt.Sprintf("%s-%d=%s", vocabulary[rand.N(len(vocabulary))], rand.N(1000), states[rand.N(len(states))])
}

// count records an answer with its status (0: none) and latency.
func (g *generator) count(status int, latency time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if status == 0 {
		g.s.NoAnswer++
		g.s.Failed++
		return
	}
	g.s.Requests++
	switch status / 100 {
	case 2:
		g.s.Status2xx++
	case 4:
		g.s.Status4xx++
	case 5:
		g.s.Status5xx++
		g.s.Failed++
	}
	g.answered++
	if len(g.latencies) < latencySample {
		g.latencies = append(g.latencies, latency)
	} else if i := rand.N(g.answered); i < latencySample { // reservoir sampling
		g.latencies[i] = latency
	}
}

// stats returns the totals so far.
func (g *generator) stats() TrafficStats {
	g.mu.Lock()
	s := g.s
	l := slices.Clone(g.latencies)
	g.mu.Unlock()
	s.Elapsed = time.Since(g.start)
	if len(l) > 0 {
		slices.Sort(l)
		s.P50 = l[(len(l)-1)*50/100]
		s.P99 = l[(len(l)-1)*99/100]
	}
	return s
}
