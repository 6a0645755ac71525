package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// loadOptions shape the data set.
type loadOptions struct {
	spans      int
	perTrace   int // mean spans per trace
	extraAttrs int // attributes added to each span, from extraAttrs
	batch      int // spans per WriteSpans call
	hours      time.Duration
	seed       uint64
}

// extraAttrs are the attributes added to the generator's spans (which carry
// http.method, http.status_code, user.id and two vector clock attributes),
// so that a span has about ten, as instrumented services send.
var extraAttrs = []struct {
	key    string
	typ    storage.ValueType
	values func(r *rand.Rand) string
}{
	{"net.peer.name", storage.TypeString, func(r *rand.Rand) string { return "db-" + strconv.Itoa(r.IntN(10)) }},
	{"app.region", storage.TypeString, func(r *rand.Rand) string {
		return [...]string{"eu-west-1", "eu-central-1", "us-east-1", "ap-south-1"}[r.IntN(4)]
	}},
	{"customer.tier", storage.TypeString, func(r *rand.Rand) string {
		return [...]string{"free", "pro", "enterprise"}[r.IntN(3)]
	}},
	{"request.size", storage.TypeInt, func(r *rand.Rand) string { return strconv.Itoa(r.IntN(100_000)) }},
	{"rpc.system", storage.TypeString, func(r *rand.Rand) string { return "grpc" }},
}

// loadStats is what load did.
type loadStats struct {
	spans, traces int
	took          time.Duration
}

// load writes o.spans generated spans to w, spread evenly over o.hours
// ending at end, generating the next batch while the previous one is
// written, and reports progress on progress every few seconds.
func load(ctx context.Context, w storage.Writer, o loadOptions, end time.Time, progress io.Writer) (loadStats, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []storage.Span, 2)
	done := make(chan int) // the number of traces generated
	go func() {
		traces := 0
		defer func() { done <- traces }()
		defer close(batches)
		g := storagetest.NewGenerator(o.seed)
		r := rand.New(rand.NewPCG(o.seed, 0x5eed))
		begin := end.Add(-o.hours)
		cur := make([]storage.Span, 0, o.batch+2*o.perTrace)
		for made := 0; made < o.spans; {
			n := min(1+r.IntN(2*o.perTrace-1), o.spans-made)
			start := begin.Add(time.Duration(float64(o.hours) * float64(made) / float64(o.spans)))
			tr := g.Trace(start, n)
			for i := range tr {
				for _, a := range extraAttrs[:o.extraAttrs] {
					tr[i].Attributes = append(tr[i].Attributes, storage.Attribute{Key: a.key, Type: a.typ, Value: a.values(r)})
				}
			}
			cur = append(cur, tr...)
			made += n
			traces++
			if len(cur) >= o.batch || made == o.spans {
				select {
				case batches <- cur:
				case <-ctx.Done():
					return
				}
				cur = make([]storage.Span, 0, o.batch+2*o.perTrace)
			}
		}
	}()
	start := time.Now()
	written, lastReport := 0, start
	var werr error
	for b := range batches {
		if werr = w.WriteSpans(ctx, b); werr != nil {
			werr = fmt.Errorf("after %d spans: %w", written, werr)
			cancel()
			break
		}
		written += len(b)
		if now := time.Now(); now.Sub(lastReport) >= 5*time.Second {
			el := now.Sub(start)
			fmt.Fprintf(progress, "bench/query: loaded %d of %d spans (%.0f%%), %.0f spans/s, %s\n",
				written, o.spans, 100*float64(written)/float64(o.spans), float64(written)/el.Seconds(), el.Round(time.Second))
			lastReport = now
		}
	}
	for range batches { // let the generator see the cancel and stop
	}
	traces := <-done
	if werr == nil {
		werr = ctx.Err()
	}
	return loadStats{spans: written, traces: traces, took: time.Since(start)}, werr
}
