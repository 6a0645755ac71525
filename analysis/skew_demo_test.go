package analysis

import (
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// skewDemoTraces records a search, a prefix search and a process request
// through the example services with service-b's clock off by skew.
func skewDemoTraces(t *testing.T, skew time.Duration) map[storage.TraceID][]storage.Span {
	t.Helper()
	traces := recordDemo(t, skew, []string{"example", "pay*"}, 1)
	if len(traces) != 3 {
		t.Fatalf("%d traces, want 3", len(traces))
	}
	return traces
}

// Traces recorded from the example services, service-b's clock off by a
// known skew: every pair's interval contains the true skew (the real call
// latencies only widen it), service-b's estimate contains it, and with no
// skew nothing is reported.
func TestSkewDemo(t *testing.T) {
	tests := []struct {
		name string
		skew time.Duration
	}{
		{"service-b ahead", 250 * time.Millisecond},
		{"service-b behind", -80 * time.Millisecond},
		{"no skew", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			skewSeen := 0
			for id, spans := range skewDemoTraces(t, tt.skew) {
				tr := NewTrace(spans)
				r := Skew(NewCausal(tr))
				truth := func(i int32) time.Duration {
					if tr.Instances[i].ID == "svc-b" {
						return tt.skew
					}
					return 0
				}
				if tr.Instances[r.Reference].ID != "svc-a" {
					t.Fatalf("trace %v: reference %+v, want svc-a", id, tr.Instances[r.Reference])
				}
				seen, abSkewed := map[string]bool{}, false
				for _, p := range r.Pairs {
					name := tr.Instances[p.A].ID + ">" + tr.Instances[p.B].ID
					seen[name] = true
					want := truth(p.B) - truth(p.A)
					if !p.Skew.Contains(want) {
						t.Errorf("trace %v: %s: skew %+v does not contain %v", id, name, p.Skew, want)
					}
					if p.Skewed() != (want != 0 && !p.Skew.Contains(0)) {
						t.Errorf("trace %v: %s: skewed %v with skew %v, interval %+v", id, name, p.Skewed(), want, p.Skew)
					}
					if tt.skew == 0 && p.Skewed() {
						t.Errorf("trace %v: %s: violations %+v with no skew", id, name, p.Violations)
					}
					// service-a calls service-b and waits for it: both
					// directions bound the pair.
					if name == "svc-a>svc-b" || name == "svc-b>svc-a" {
						if !p.Skew.HasLo || !p.Skew.HasHi {
							t.Errorf("trace %v: %s: %+v, want both bounds", id, name, p.Skew)
						}
						abSkewed = p.Skewed()
					}
				}
				if !seen["svc-a>svc-b"] && !seen["svc-b>svc-a"] {
					t.Errorf("trace %v: no pair of service-a and service-b in %v", id, seen)
				}
				for i, is := range r.Instances {
					if !is.Range.Contains(truth(int32(i))) {
						t.Errorf("trace %v: %s: range %+v does not contain %v", id, tr.Instances[i].ID, is.Range, truth(int32(i)))
					}
					if is.Contradicted {
						t.Errorf("trace %v: %s contradicted", id, tr.Instances[i].ID)
					}
					if tt.skew == 0 && is.Offset != 0 {
						t.Errorf("trace %v: %s: offset %v with no skew", id, tr.Instances[i].ID, is.Offset)
					}
				}
				if abSkewed {
					// The timestamps of service-a and service-b contradict
					// their orders (a skew beyond the latencies: a slow
					// first call, connection set-up included, may hide
					// it): service-b is shifted, towards the true skew.
					b := r.Instances[instanceOfID(t, tr, "svc-b")]
					if b.Offset == 0 || (b.Offset > 0) != (tt.skew > 0) {
						t.Errorf("trace %v: service-b offset %v, want one towards %v", id, b.Offset, tt.skew)
					}
					skewSeen++
				}
				checkAdjusted(t, r, tr)
			}
			// Of three traces, the skew shows in at least one.
			if tt.skew != 0 && skewSeen == 0 {
				t.Errorf("no trace shows service-b's skew of %v", tt.skew)
			}
		})
	}
}

func instanceOfID(t *testing.T, tr *Trace, id string) int32 {
	t.Helper()
	for i, in := range tr.Instances {
		if in.ID == id {
			return int32(i)
		}
	}
	t.Fatalf("no instance %q", id)
	return -1
}
