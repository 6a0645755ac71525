package badger

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// BenchmarkStore1M loads 1,000,000 spans (100,000 traces of 10 spans over
// the last 24 hours, 10 services, 50 operations, 10 attributes a span with
// the resource's) into a temporary store, then measures each query kind and
// reports its p50 and p99. It takes minutes, so it runs only when
// TRACER_BENCH_1M is set:
//
//	TRACER_BENCH_1M=1 go test -run '^$' -bench Store1M -benchtime 100x ./storage/badger/
func BenchmarkStore1M(b *testing.B) {
	if os.Getenv("TRACER_BENCH_1M") == "" {
		b.Skip("set TRACER_BENCH_1M=1 to load 1M spans and measure the queries")
	}
	const traces, perTrace = 100_000, 10
	ctx := context.Background()
	s := open(b, b.TempDir(), WithSyncWrites(false))
	now := time.Now()
	g := newBigGen(now.Add(-24*time.Hour), 24*time.Hour, traces)
	var ids []storage.TraceID
	t0 := time.Now()
	batch := make([]storage.Span, 0, 1000)
	for i := range traces {
		tr := g.trace(i, perTrace)
		ids = append(ids, tr[0].TraceID)
		batch = append(batch, tr...)
		if len(batch) >= 1000 {
			if err := s.WriteSpans(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := s.WriteSpans(ctx, batch); err != nil {
		b.Fatal(err)
	}
	load := time.Since(t0)
	b.Logf("loaded %d spans in %s (%.0f spans/s, no fsync)", traces*perTrace, load.Round(time.Millisecond), float64(traces*perTrace)/load.Seconds())

	r := rand.New(rand.NewPCG(5, 6))
	svc := func() string { return g.services[r.IntN(len(g.services))] }
	op := func(s string) string {
		i := slices.Index(g.services, s)
		return g.ops[i][r.IntN(len(g.ops[i]))]
	}
	type query struct {
		name string
		run  func() (int, error)
	}
	find := func(q func() storage.Query) func() (int, error) {
		return func() (int, error) {
			tr, err := s.FindTraces(ctx, q())
			return len(tr), err
		}
	}
	queries := []query{
		{"Trace", func() (int, error) {
			tr, err := s.Trace(ctx, ids[r.IntN(len(ids))])
			return len(tr.Spans), err
		}},
		{"StreamTrace", func() (int, error) {
			n := 0
			_, err := s.StreamTrace(ctx, ids[r.IntN(len(ids))], func(b []storage.Span) error { n += len(b); return nil })
			return n, err
		}},
		{"FindTraces/service", find(func() storage.Query { return storage.Query{Service: svc()} })},
		{"FindTraces/service+operation", find(func() storage.Query { sv := svc(); return storage.Query{Service: sv, Operation: op(sv)} })},
		{"FindTraces/attribute", find(func() storage.Query {
			return storage.Query{Attributes: map[string]string{"http.route": "/route/" + strconv.Itoa(r.IntN(20))}}
		})},
		{"FindTraces/rare attribute", find(func() storage.Query {
			return storage.Query{Attributes: map[string]string{"user.id": strconv.Itoa(r.IntN(10000))}}
		})},
		{"FindTraces/service+attribute", find(func() storage.Query {
			return storage.Query{Service: svc(), Attributes: map[string]string{"http.status_code": "500"}}
		})},
		{"FindTraces/service+duration", find(func() storage.Query {
			return storage.Query{Service: svc(), DurationMin: 250 * time.Millisecond}
		})},
		{"FindTraces/service+operation+duration 6h", find(func() storage.Query {
			sv := svc()
			return storage.Query{Service: sv, Operation: op(sv), DurationMin: 100 * time.Millisecond, DurationMax: time.Second, StartMin: now.Add(-12 * time.Hour), StartMax: now.Add(-6 * time.Hour)}
		})},
		{"FindTraces/status error", find(func() storage.Query { return storage.Query{Service: svc(), Status: storage.OnlyError} })},
		{"FindTraces/resource attribute", find(func() storage.Query {
			return storage.Query{ResourceAttributes: map[string]string{"host.name": "host-" + strconv.Itoa(r.IntN(20))}}
		})},
		{"FindTraceIDs/service", func() (int, error) {
			ids, err := s.FindTraceIDs(ctx, storage.Query{Service: svc()})
			return len(ids), err
		}},
		{"FindTraceSummaries/service limit 100", func() (int, error) {
			sums, err := s.FindTraceSummaries(ctx, storage.Query{Service: svc(), Limit: 100})
			return len(sums), err
		}},
		{"Dependencies/24h", func() (int, error) {
			d, err := s.Dependencies(ctx, time.Now(), 24*time.Hour)
			return len(d), err
		}},
		{"RED/24h step 1h by operation", func() (int, error) {
			sr, err := s.RED(ctx, storage.REDQuery{Start: now.Add(-24 * time.Hour), End: now, Step: time.Hour, GroupByOperation: true})
			return len(sr), err
		}},
		{"RED/24h step 1m all services", func() (int, error) {
			sr, err := s.RED(ctx, storage.REDQuery{Start: now.Add(-24 * time.Hour), End: now, Step: time.Minute})
			return len(sr), err
		}},
		{"RED/24h step 5m one service by operation", func() (int, error) {
			sr, err := s.RED(ctx, storage.REDQuery{Services: []string{svc()}, Start: now.Add(-24 * time.Hour), End: now, Step: 5 * time.Minute, GroupByOperation: true})
			return len(sr), err
		}},
		{"AttributeKeys/24h", func() (int, error) {
			k, err := s.AttributeKeys(ctx, storage.AttributeQuery{Start: now.Add(-24 * time.Hour), End: now})
			return len(k), err
		}},
		{"AttributeValues/24h service", func() (int, error) {
			v, err := s.AttributeValues(ctx, storage.AttributeQuery{Service: svc(), Key: "http.route", Start: now.Add(-24 * time.Hour), End: now})
			return len(v), err
		}},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			var lat []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				t := time.Now()
				n, err := q.run()
				lat = append(lat, time.Since(t))
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 && q.name != "FindTraces/service+operation+duration 6h" {
					b.Fatalf("%s: empty answer", q.name)
				}
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.5), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}

// bigGen makes the spans of BenchmarkStore1M: traces in start order over
// a window, 10 services of 5 operations each.
type bigGen struct {
	r        *rand.Rand
	start    time.Time
	window   time.Duration
	traces   int
	services []string
	ops      [][]string
	res      [][]storage.Attribute // per service and host
}

func newBigGen(start time.Time, window time.Duration, traces int) *bigGen {
	g := &bigGen{r: rand.New(rand.NewPCG(1, 2)), start: start, window: window, traces: traces}
	for i := range 10 {
		svc := "service-" + strconv.Itoa(i)
		g.services = append(g.services, svc)
		var ops []string
		for j := range 5 {
			ops = append(ops, "/api/"+svc+"/op-"+strconv.Itoa(j))
		}
		g.ops = append(g.ops, ops)
		for h := range 20 {
			g.res = append(g.res, []storage.Attribute{
				{Key: "service.name", Value: svc},
				{Key: "host.name", Value: "host-" + strconv.Itoa(h)},
				{Key: "telemetry.sdk.language", Value: "go"},
			})
		}
	}
	return g
}

func (g *bigGen) trace(i, n int) []storage.Span {
	r := g.r
	var tid storage.TraceID
	for tid.IsZero() {
		tid = storage.TraceID{}
		for j := range tid {
			tid[j] = byte(r.Uint32())
		}
	}
	t0 := g.start.UnixNano() + int64(g.window)*int64(i)/int64(g.traces) + r.Int64N(int64(time.Second))
	spans := make([]storage.Span, 0, n)
	for k := range n {
		si := r.IntN(len(g.services))
		sp := storage.Span{
			TraceID:   tid,
			SpanID:    storage.SpanID{byte(k + 1), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), 1},
			Name:      g.ops[si][r.IntN(5)],
			Kind:      storage.KindServer,
			StartTime: t0 + int64(k)*int64(time.Millisecond),
			Service:   g.services[si],
			Resource:  g.res[si*20+r.IntN(20)],
			Attributes: []storage.Attribute{
				{Key: "http.method", Value: [...]string{"GET", "POST", "PUT"}[r.IntN(3)]},
				{Key: "http.status_code", Type: storage.TypeInt, Value: [...]string{"200", "200", "200", "200", "404", "500"}[r.IntN(6)]},
				{Key: "http.route", Value: "/route/" + strconv.Itoa(r.IntN(20))},
				{Key: "user.id", Value: strconv.Itoa(r.IntN(10000))},
				{Key: "net.peer.name", Value: "peer-" + strconv.Itoa(r.IntN(50))},
				{Key: "rpc.system", Value: "grpc"},
				{Key: "thread.id", Type: storage.TypeInt, Value: strconv.Itoa(r.IntN(64))},
			},
		}
		if k > 0 {
			sp.ParentSpanID = spans[r.IntN(k)].SpanID
			if r.IntN(2) == 0 {
				sp.Kind = storage.KindClient
			}
		}
		d := time.Duration(r.ExpFloat64() * float64(50*time.Millisecond))
		sp.EndTime = sp.StartTime + int64(d) + 1000
		if r.IntN(33) == 0 {
			sp.StatusCode = storage.StatusError
		}
		spans = append(spans, sp)
	}
	return spans
}
