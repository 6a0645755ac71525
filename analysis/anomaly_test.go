package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// anomT0 is the start of the synthetic baselines: a whole minute.
var anomT0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// minuteAt is the start of minute m after anomT0, in unix nanoseconds.
func minuteAt(m int) int64 { return anomT0.Add(time.Duration(m) * time.Minute).UnixNano() }

// redGen makes one synthetic series: calls per minute, log-normal
// durations around median with sigma 0.3, errors with probability errRate;
// change, when set, alters minute m's parameters.
type redGen struct {
	calls   int
	median  time.Duration
	errRate float64
	change  func(m int, calls *int, median *time.Duration, errRate *float64)
}

func (g redGen) series(r *rand.Rand, service, op string, from, to int) storage.REDSeries {
	s := storage.REDSeries{Service: service, Operation: op}
	for m := from; m < to; m++ {
		calls, med, er := g.calls, g.median, g.errRate
		if g.change != nil {
			g.change(m, &calls, &med, &er)
		}
		p := storage.REDPoint{Time: minuteAt(m)}
		for range calls {
			d := time.Duration(float64(med) * math.Exp(0.3*r.NormFloat64()))
			p.Latency.Add(d)
			p.Calls++
			if r.Float64() < er {
				p.Errors++
			}
		}
		if p.Calls > 0 {
			s.Points = append(s.Points, p)
		}
	}
	return s
}

// baseline and current windows of the RED tests: two hours, then one.
const (
	redBaseFrom, redBaseTo = 0, 120
	redCurFrom, redCurTo   = 120, 180
)

func redPair(seed uint64, g redGen) (base, cur []storage.REDSeries) {
	r := rand.New(rand.NewPCG(seed, 1))
	return []storage.REDSeries{g.series(r, "api", "GET /", redBaseFrom, redBaseTo)},
		[]storage.REDSeries{g.series(r, "api", "GET /", redCurFrom, redCurTo)}
}

func from(at int, f func(calls *int, median *time.Duration, errRate *float64)) func(int, *int, *time.Duration, *float64) {
	return func(m int, c *int, d *time.Duration, e *float64) {
		if m >= at {
			f(c, d, e)
		}
	}
}

func TestDetectLatency(t *testing.T) {
	normal := redGen{calls: 100, median: 10 * time.Millisecond, errRate: 0.01}
	tests := []struct {
		name  string
		gen   redGen
		opts  AnomalyOptions
		since int     // minute, when an anomaly is wanted
		ratio float64 // its Current / Baseline, roughly
	}{
		{"twice as slow from minute 150", redGen{calls: 100, median: 10 * time.Millisecond, change: from(150, func(_ *int, d *time.Duration, _ *float64) { *d *= 2 })}, AnomalyOptions{}, 150, 2},
		{"half as slow from minute 165", redGen{calls: 100, median: 10 * time.Millisecond, change: from(165, func(_ *int, d *time.Duration, _ *float64) { *d /= 2 })}, AnomalyOptions{}, 165, 0.5},
		{"p50 three times as slow", redGen{calls: 100, median: 10 * time.Millisecond, change: from(130, func(_ *int, d *time.Duration, _ *float64) { *d *= 3 })}, AnomalyOptions{Quantile: 0.5}, 130, 3},
		{"noise only", normal, AnomalyOptions{}, -1, 0},
		{"slow but under MinCalls", redGen{calls: 10, median: 10 * time.Millisecond, change: from(150, func(_ *int, d *time.Duration, _ *float64) { *d *= 5 })}, AnomalyOptions{}, -1, 0},
		{"slow for two minutes only", redGen{calls: 100, median: 10 * time.Millisecond, change: func(m int, _ *int, d *time.Duration, _ *float64) {
			if m == 150 || m == 151 {
				*d *= 5
			}
		}}, AnomalyOptions{}, -1, 0},
		{"slow for two minutes, MinPoints 2", redGen{calls: 100, median: 10 * time.Millisecond, change: func(m int, _ *int, d *time.Duration, _ *float64) {
			if m == 150 || m == 151 {
				*d *= 5
			}
		}}, AnomalyOptions{MinPoints: 2}, 150, 5},
		{"10% slower is within the spread floor", redGen{calls: 1000, median: 10 * time.Millisecond, change: from(150, func(_ *int, d *time.Duration, _ *float64) { *d = *d * 110 / 100 })}, AnomalyOptions{}, -1, 0},
		{"slow minutes among quiet ones still a run", redGen{calls: 100, median: 10 * time.Millisecond, change: func(m int, c *int, d *time.Duration, _ *float64) {
			if m >= 150 {
				*d *= 2
			}
			if m >= 150 && m%2 == 1 {
				*c = 5 // under MinCalls: skipped, the run goes on
			}
		}}, AnomalyOptions{}, 150, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, cur := redPair(7, tt.gen)
			got := DetectLatency(base, cur, tt.opts)
			if tt.since < 0 {
				if len(got) != 0 {
					t.Fatalf("got %+v, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d anomalies %+v, want 1", len(got), got)
			}
			a := got[0]
			if a.Kind != AnomalyLatency || a.Service != "api" || a.Operation != "GET /" {
				t.Errorf("got %s %s %q, want latency api \"GET /\"", a.Kind, a.Service, a.Operation)
			}
			if a.Since != minuteAt(tt.since) {
				t.Errorf("since minute %d, want %d", (a.Since-minuteAt(0))/int64(time.Minute), tt.since)
			}
			if a.Last < a.Since {
				t.Errorf("last %d before since %d", a.Last, a.Since)
			}
			thr := DefaultAnomalyOptions().Threshold
			if (tt.ratio > 1 && a.Score < thr) || (tt.ratio < 1 && a.Score > -thr) {
				t.Errorf("score %.1f, want beyond %v in the direction of %v", a.Score, thr, tt.ratio)
			}
			if r := a.Current / a.Baseline; math.Abs(r/tt.ratio-1) > 0.15 {
				t.Errorf("current/baseline %.2f (%v/%v), want about %v", r, time.Duration(a.Current), time.Duration(a.Baseline), tt.ratio)
			}
			if a.Count == 0 {
				t.Error("count 0")
			}
		})
	}
}

func TestDetectLatencyGuards(t *testing.T) {
	slow := redGen{calls: 100, median: 10 * time.Millisecond, change: from(150, func(_ *int, d *time.Duration, _ *float64) { *d *= 4 })}
	r := rand.New(rand.NewPCG(3, 3))
	tests := []struct {
		name      string
		base, cur []storage.REDSeries
		want      int
	}{
		{"baseline under MinBaseline steps", []storage.REDSeries{slow.series(r, "api", "GET /", 0, 9)}, []storage.REDSeries{slow.series(r, "api", "GET /", 120, 180)}, 0},
		{"baseline of another operation", []storage.REDSeries{slow.series(r, "api", "POST /", 0, 120)}, []storage.REDSeries{slow.series(r, "api", "GET /", 120, 180)}, 0},
		{"no baseline", nil, []storage.REDSeries{slow.series(r, "api", "GET /", 120, 180)}, 0},
		{"no current", []storage.REDSeries{slow.series(r, "api", "GET /", 0, 120)}, nil, 0},
		{"baseline of ten steps is enough", []storage.REDSeries{slow.series(r, "api", "GET /", 0, 10)}, []storage.REDSeries{slow.series(r, "api", "GET /", 120, 180)}, 1},
		{"baseline pooled from two windows", []storage.REDSeries{slow.series(r, "api", "GET /", 0, 5), slow.series(r, "api", "GET /", 60, 65)}, []storage.REDSeries{slow.series(r, "api", "GET /", 120, 180)}, 1},
		{"empty histograms", []storage.REDSeries{{Service: "api", Points: []storage.REDPoint{{Time: 1, Calls: 100}}}}, []storage.REDSeries{{Service: "api", Points: []storage.REDPoint{{Time: 2, Calls: 100}}}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DetectLatency(tt.base, tt.cur, AnomalyOptions{}); len(got) != tt.want {
				t.Fatalf("got %d anomalies %+v, want %d", len(got), got, tt.want)
			}
		})
	}
}

// TestDetectNoiseOnly runs 200 seeded noisy series (latency and errors
// alike between windows, traffic from 20 to 400 calls a minute): nothing is
// an anomaly.
func TestDetectNoiseOnly(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 42))
	var base, cur []storage.REDSeries
	for i := range 200 {
		g := redGen{calls: 20 + r.IntN(380), median: time.Duration(1+r.IntN(500)) * time.Millisecond, errRate: 0.05 * r.Float64()}
		op := "op" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		base = append(base, g.series(r, "svc", op, redBaseFrom, redBaseTo))
		cur = append(cur, g.series(r, "svc", op, redCurFrom, redCurTo))
	}
	if got := DetectLatency(base, cur, AnomalyOptions{}); len(got) != 0 {
		t.Errorf("latency: got %d anomalies, first %+v", len(got), got[0])
	}
	if got := DetectErrors(base, cur, AnomalyOptions{}); len(got) != 0 {
		t.Errorf("errors: got %d anomalies, first %+v", len(got), got[0])
	}
	// The same noise, judged one step at a time, gives false alarms: the
	// run of MinPoints steps is what keeps them out (12,000 tests a kind).
	one := AnomalyOptions{MinPoints: 1}
	if l, e := len(DetectLatency(base, cur, one)), len(DetectErrors(base, cur, one)); l == 0 || e == 0 {
		t.Errorf("MinPoints 1: %d latency and %d error anomalies, want some of each", l, e)
	}
}

func TestDetectErrors(t *testing.T) {
	spike := func(at int, rate float64) func(int, *int, *time.Duration, *float64) {
		return from(at, func(_ *int, _ *time.Duration, e *float64) { *e = rate })
	}
	tests := []struct {
		name  string
		gen   redGen
		since int
		rate  float64
	}{
		{"1% to 20% from minute 140", redGen{calls: 100, median: time.Millisecond, errRate: 0.01, change: spike(140, 0.2)}, 140, 0.2},
		{"none to 10% from minute 170", redGen{calls: 100, median: time.Millisecond, change: spike(170, 0.1)}, 170, 0.1},
		{"1% to 1.5% is under MinRateIncrease", redGen{calls: 2000, median: time.Millisecond, errRate: 0.01, change: spike(140, 0.015)}, -1, 0},
		{"spike under MinCalls", redGen{calls: 10, median: time.Millisecond, errRate: 0.01, change: spike(140, 0.5)}, -1, 0},
		{"errors fall", redGen{calls: 100, median: time.Millisecond, errRate: 0.2, change: spike(140, 0)}, -1, 0},
		{"steady 30%", redGen{calls: 100, median: time.Millisecond, errRate: 0.3}, -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, cur := redPair(11, tt.gen)
			got := DetectErrors(base, cur, AnomalyOptions{})
			if tt.since < 0 {
				if len(got) != 0 {
					t.Fatalf("got %+v, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d anomalies %+v, want 1", len(got), got)
			}
			a := got[0]
			if a.Kind != AnomalyErrors || a.Service != "api" {
				t.Errorf("got %s %s, want errors api", a.Kind, a.Service)
			}
			if a.Since != minuteAt(tt.since) || a.Last != minuteAt(redCurTo-1) {
				t.Errorf("minutes [%d, %d], want [%d, %d]", (a.Since-minuteAt(0))/int64(time.Minute), (a.Last-minuteAt(0))/int64(time.Minute), tt.since, redCurTo-1)
			}
			if a.Score < DefaultAnomalyOptions().Threshold {
				t.Errorf("score %.1f under the threshold", a.Score)
			}
			if math.Abs(a.Current-tt.rate) > tt.rate/3 || a.Baseline >= a.Current {
				t.Errorf("rate %.3f from %.3f, want about %v", a.Current, a.Baseline, tt.rate)
			}
		})
	}
}

func TestDetectEdges(t *testing.T) {
	day := DependencyWindow{Start: anomT0, End: anomT0.Add(24 * time.Hour)}
	hour := DependencyWindow{Start: day.End, End: day.End.Add(time.Hour)}
	dep := func(p, c string, n uint64) storage.Dependency {
		return storage.Dependency{Parent: p, Child: c, CallCount: n}
	}
	tests := []struct {
		name      string
		base, cur []storage.Dependency
		want      []AnomalyKind
	}{
		{"steady", []storage.Dependency{dep("a", "b", 24000)}, []storage.Dependency{dep("a", "b", 1000)}, nil},
		{"new edge", []storage.Dependency{dep("a", "b", 24000)}, []storage.Dependency{dep("a", "b", 1000), dep("a", "c", 50)}, []AnomalyKind{AnomalyNewEdge}},
		{"new edge under MinCalls", nil, []storage.Dependency{dep("a", "c", 19)}, nil},
		{"gone edge", []storage.Dependency{dep("a", "b", 24000), dep("b", "c", 2400)}, []storage.Dependency{dep("a", "b", 1000)}, []AnomalyKind{AnomalyGoneEdge}},
		{"rare edge missing is not gone", []storage.Dependency{dep("b", "c", 240)}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, c := day, hour
			b.Deps, c.Deps = tt.base, tt.cur
			got := DetectEdges(b, c, AnomalyOptions{})
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want kinds %v", got, tt.want)
			}
			for i, a := range got {
				if a.Kind != tt.want[i] {
					t.Errorf("got %s, want %s", a.Kind, tt.want[i])
				}
				if a.Since != hour.Start.UnixNano() || a.Last != hour.End.UnixNano() {
					t.Errorf("got [%d, %d], want the current window", a.Since, a.Last)
				}
			}
		})
	}
	t.Run("the gone edge's expectation", func(t *testing.T) {
		got := DetectEdges(DependencyWindow{Start: day.Start, End: day.End, Deps: []storage.Dependency{dep("b", "c", 2400)}}, hour, AnomalyOptions{})
		if len(got) != 1 || got[0].Baseline != 100 || got[0].Score != -10 || got[0].Edge != (CallEdge{ParentService: "b", ChildService: "c"}) {
			t.Fatalf("got %+v, want b → c gone, 100 expected, score -10", got)
		}
	})
	t.Run("empty windows", func(t *testing.T) {
		if got := DetectEdges(DependencyWindow{}, DependencyWindow{Deps: []storage.Dependency{dep("a", "c", 50)}}, AnomalyOptions{}); got != nil {
			t.Fatalf("got %+v, want none", got)
		}
	})
}

func TestAnomalyOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    AnomalyOptions
		ok   bool
	}{
		{"zero", AnomalyOptions{}, true},
		{"defaults", DefaultAnomalyOptions(), true},
		{"negative threshold", AnomalyOptions{Threshold: -1}, false},
		{"quantile over 1", AnomalyOptions{Quantile: 1.5}, false},
		{"NaN spread", AnomalyOptions{MinSpread: math.NaN()}, false},
		{"negative examples", AnomalyOptions{MaxExamples: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.o.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate: %v, want ok %v", err, tt.ok)
			}
		})
	}
	t.Run("bad options act as defaults", func(t *testing.T) {
		base, cur := redPair(7, redGen{calls: 100, median: 10 * time.Millisecond, change: from(150, func(_ *int, d *time.Duration, _ *float64) { *d *= 2 })})
		got := DetectLatency(base, cur, AnomalyOptions{Threshold: math.NaN(), Quantile: -1, MinPoints: -3})
		want := DetectLatency(base, cur, AnomalyOptions{})
		if len(got) != 1 || len(want) != 1 || got[0].Since != want[0].Since || got[0].Score != want[0].Score {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	})
}

// TestDetectOddInput: points out of order, errors over calls, a step twice,
// empty series and nil traces neither panic nor mislead.
func TestDetectOddInput(t *testing.T) {
	g := redGen{calls: 100, median: 10 * time.Millisecond, errRate: 0.01, change: from(150, func(_ *int, d *time.Duration, e *float64) { *d *= 3; *e = 0.5 })}
	base, cur := redPair(5, g)
	slices.Reverse(cur[0].Points)
	cur[0].Points = append(cur[0].Points, cur[0].Points[0]) // minute 179 twice
	t.Run("unsorted current", func(t *testing.T) {
		got := DetectLatency(base, cur, AnomalyOptions{})
		if len(got) != 1 || got[0].Since != minuteAt(150) || got[0].Last != minuteAt(179) {
			t.Fatalf("got %+v, want one run from minute 150 to 179", got)
		}
	})
	t.Run("errors over calls count as calls", func(t *testing.T) {
		odd := slices.Clone(cur[0].Points)
		for i := range odd {
			odd[i].Errors = odd[i].Calls * 3
		}
		got := DetectErrors(base, []storage.REDSeries{{Service: "api", Operation: "GET /", Points: odd}}, AnomalyOptions{})
		if len(got) != 1 || got[0].Current != 1 {
			t.Fatalf("got %+v, want one anomaly at rate 1", got)
		}
	})
	t.Run("empty", func(t *testing.T) {
		empty := []storage.REDSeries{{Service: "api", Operation: "GET /"}}
		if got := append(DetectLatency(empty, empty, AnomalyOptions{}), DetectErrors(empty, empty, AnomalyOptions{})...); len(got) != 0 {
			t.Fatalf("got %+v", got)
		}
		if got := DetectStructure([]*Trace{nil, NewTrace(nil)}, []*Trace{NewTrace(nil), nil}, AnomalyOptions{}); len(got) != 0 {
			t.Fatalf("got %+v", got)
		}
	})
}
