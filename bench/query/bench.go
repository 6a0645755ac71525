package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tracerdev/tracer/query"
	"github.com/tracerdev/tracer/storage"
)

// benchOptions shape the measurement.
type benchOptions struct {
	hours       time.Duration // the data set's time range, which searches cover
	runs        int
	maxKindTime time.Duration
	only        string
	limit       int
	seed        uint64
}

// heavyRuns is the number of runs of dependencies and RED, which read a
// whole day each.
func heavyRuns(runs int) int { return max(runs/4, min(runs, 5)) }

// callTimeout bounds one storage call or HTTP request.
const callTimeout = 2 * time.Minute

// result is one kind's measurement.
type result struct {
	kind, route string
	budget      time.Duration
	store, api  []time.Duration // one per run, sorted
	results     int             // summed over the runs, as the storage calls returned them
	mismatches  int             // runs where the API's count differed from the storage's
	mismatch    string          // the first of them
	err         error
}

// bench samples the stored data, serves the API over store on a loopback
// port and measures every kind.
func bench(ctx context.Context, store storage.ReadStore, o benchOptions, log *slog.Logger, progress io.Writer) ([]result, error) {
	if o.maxKindTime <= 0 {
		o.maxKindTime = time.Hour
	}
	smp, err := sampleStore(ctx, store, o.hours)
	if err != nil {
		return nil, fmt.Errorf("sample the stored data: %w", err)
	}
	fmt.Fprintf(progress, "bench/query: data %s to %s, %d services, %d operations, %d trace ids sampled\n",
		smp.start.Format(time.RFC3339), smp.end.Format(time.RFC3339), len(smp.services), len(smp.ops), len(smp.ids))

	api, err := query.New(store, query.DefaultConfig(), log)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Close()
		<-served
	}()
	client := &http.Client{Timeout: callTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}}
	defer client.CloseIdleConnections()
	h := &httpAPI{base: "http://" + ln.Addr().String(), client: client}

	r := rand.New(rand.NewPCG(o.seed, 0xbe4c))
	var out []result
	for _, k := range kinds(store, smp, o) {
		if !strings.Contains(k.name, o.only) {
			continue
		}
		fmt.Fprintf(progress, "bench/query: %s (%s), %d runs\n", k.name, k.route, k.runs)
		res := measure(ctx, h, k, r, o.maxKindTime)
		if res.err != nil {
			fmt.Fprintf(progress, "bench/query: %s: %v\n", k.name, res.err)
		}
		out = append(out, res)
		if err := ctx.Err(); err != nil {
			return out, err
		}
	}
	return out, nil
}

// sample is what the query parameters are drawn from.
type sample struct {
	start, end time.Time // the data's range, whole minutes
	services   []string
	ops        []string // every operation name of every service
	opsOf      map[string][]string
	ids        []storage.TraceID
}

// sampleStore finds what the store holds through its Reader, so that the
// benchmark runs the same on data it just loaded and on data loaded by an
// earlier run: the services and operations, the time range (the newest
// trace's start rounded up to the minute, back by hours), and up to a
// thousand trace ids spread over the range.
func sampleStore(ctx context.Context, s storage.Reader, hours time.Duration) (sample, error) {
	var smp sample
	services, err := s.Services(ctx)
	if err != nil {
		return smp, fmt.Errorf("services: %w", err)
	}
	if len(services) == 0 {
		return smp, errors.New("the store holds no service: load data first (drop -skip-load)")
	}
	smp.services, smp.opsOf = services, make(map[string][]string)
	for _, svc := range services {
		ops, err := s.Operations(ctx, svc, storage.KindUnspecified)
		if err != nil {
			return smp, fmt.Errorf("operations of %s: %w", svc, err)
		}
		for _, op := range ops {
			smp.opsOf[svc] = append(smp.opsOf[svc], op.Name)
			smp.ops = append(smp.ops, op.Name)
		}
		smp.opsOf[svc] = slices.Compact(smp.opsOf[svc])
	}
	slices.Sort(smp.ops)
	smp.ops = slices.Compact(smp.ops)

	now := time.Now()
	newest, err := s.FindTraces(ctx, storage.Query{StartMin: now.Add(-365 * 24 * time.Hour), StartMax: now.Add(time.Hour), Limit: 1})
	if err != nil {
		return smp, fmt.Errorf("newest trace: %w", err)
	}
	if len(newest) == 0 || len(newest[0].Spans) == 0 {
		return smp, errors.New("no trace started in the last year")
	}
	last := newest[0].Spans[0].StartTime
	for _, sp := range newest[0].Spans {
		last = max(last, sp.StartTime)
	}
	smp.end = time.Unix(0, last).UTC().Truncate(time.Minute).Add(time.Minute)
	smp.start = smp.end.Add(-hours)

	const windows = 50
	width := hours / windows
	seen := make(map[storage.TraceID]bool)
	for i := range windows {
		from := smp.start.Add(time.Duration(i) * width)
		trs, err := s.FindTraces(ctx, storage.Query{StartMin: from, StartMax: from.Add(width), Limit: 20})
		if err != nil {
			return smp, fmt.Errorf("trace ids: %w", err)
		}
		for _, tr := range trs {
			if !seen[tr.ID] {
				seen[tr.ID] = true
				smp.ids = append(smp.ids, tr.ID)
			}
		}
	}
	if len(smp.ids) == 0 {
		return smp, fmt.Errorf("no trace in [%s, %s]", smp.start.Format(time.RFC3339), smp.end.Format(time.RFC3339))
	}
	return smp, nil
}

// kind is one kind of query: how to draw the next run's parameters, and its
// budget.
type kind struct {
	name   string
	route  string // the API route, for the table
	budget time.Duration
	runs   int
	next   func(r *rand.Rand) call
}

// call is one run of a kind: the storage call and the HTTP request that
// should answer the same.
type call struct {
	store func(ctx context.Context) (int, error) // returns the result count
	path  string                                 // with its query string
	count func(body []byte) (int, error)         // the result count of the API's answer
}

// measure runs k: one warm-up run, then k.runs runs (or as many as fit in
// maxTime), each the storage call and the HTTP request with the same
// parameters, alternating which goes first.
func measure(ctx context.Context, h *httpAPI, k kind, r *rand.Rand, maxTime time.Duration) result {
	res := result{kind: k.name, route: k.route, budget: k.budget}
	one := func(c call, storeFirst bool) (ds, da time.Duration, ns, na int, err error) {
		var status int
		var body []byte
		for j := range 2 {
			if (j == 0) == storeFirst {
				cctx, cancel := context.WithTimeout(ctx, callTimeout)
				t0 := time.Now()
				ns, err = c.store(cctx)
				ds = time.Since(t0)
				cancel()
				if err != nil {
					return 0, 0, 0, 0, fmt.Errorf("storage: %w", err)
				}
				continue
			}
			t0 := time.Now()
			status, body, err = h.get(ctx, c.path)
			da = time.Since(t0)
			if err != nil {
				return 0, 0, 0, 0, fmt.Errorf("GET %s: %w", c.path, err)
			}
		}
		if na, err = answerCount(status, body, c.count, ns); err != nil {
			return 0, 0, 0, 0, fmt.Errorf("GET %s: %w", c.path, err)
		}
		return ds, da, ns, na, nil
	}
	if _, _, _, _, err := one(k.next(r), true); err != nil {
		res.err = fmt.Errorf("warm-up: %w", err)
		return res
	}
	t0 := time.Now()
	for i := 0; i < k.runs && (i == 0 || time.Since(t0) < maxTime); i++ {
		c := k.next(r)
		ds, da, ns, na, err := one(c, i%2 == 0)
		if err != nil {
			res.err = fmt.Errorf("run %d: %w", i+1, err)
			break
		}
		res.store, res.api = append(res.store, ds), append(res.api, da)
		res.results += ns
		if ns != na {
			if res.mismatches == 0 {
				res.mismatch = fmt.Sprintf("GET %s answered %d, the storage call %d", c.path, na, ns)
			}
			res.mismatches++
		}
		if ctx.Err() != nil {
			break
		}
	}
	slices.Sort(res.store)
	slices.Sort(res.api)
	return res
}

// answerCount checks the API's answer and counts its results. A 404 is an
// empty answer when the storage call found nothing too (Jaeger's v3 routes
// answer an empty search so); otherwise it is an error, as every status
// but 200 is.
func answerCount(status int, body []byte, count func([]byte) (int, error), storeCount int) (int, error) {
	switch {
	case status == http.StatusNotFound && storeCount == 0:
		return 0, nil
	case status != http.StatusOK:
		return 0, fmt.Errorf("status %d: %s", status, excerpt(body))
	}
	n, err := count(body)
	if err != nil {
		return 0, fmt.Errorf("decode the answer: %w: %s", err, excerpt(body))
	}
	return n, nil
}

func excerpt(b []byte) string {
	const max = 300
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// httpAPI sends requests to the API's server.
type httpAPI struct {
	base   string
	client *http.Client
}

// get sends a GET for path and reads the whole answer.
func (h *httpAPI) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("read the answer: %w", err)
	}
	return resp.StatusCode, body, nil
}

// quantile returns the q-quantile of sorted d (nearest rank).
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(q*float64(len(d))+0.999999) - 1
	return d[min(max(i, 0), len(d)-1)]
}
