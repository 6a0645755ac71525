package analysis

import (
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// The example services' call structure comes out ordered: every parent's
// start before its children's, every synchronous call's end before its
// caller's, every cross-process step decided by the clocks, and the causal
// order puts parents first although service b's timestamps are 2 s early.
func TestRelationDemo(t *testing.T) {
	// service-b's clock 2 s behind, so that timestamps contradict the
	// causal order.
	traces := recordDemo(t, -2*time.Second, []string{"example", "pay*"}, 1)
	if len(traces) != 3 {
		t.Fatalf("got %d traces, want 3", len(traces))
	}
	for id, spans := range traces {
		t.Run(id.String(), func(t *testing.T) {
			tr := NewTrace(spans)
			c := NewCausal(tr)
			services := map[string]bool{}
			for i := range tr.Len() {
				services[tr.Spans[i].Service] = true
				if !tr.ClockOK[i] {
					t.Errorf("span %q of %s has no clock", tr.Spans[i].Name, tr.Spans[i].Service)
				}
				p := int(tr.Parent[i])
				if p < 0 {
					continue
				}
				got := c.Relation(StartOf(p), StartOf(i))
				if got.Order != Before {
					t.Errorf("parent %q start vs child %q start: %v/%v, want before", tr.Spans[p].Name, tr.Spans[i].Name, got.Order, got.Reason)
				}
				if tr.Spans[p].Service != tr.Spans[i].Service && got.Reason != ReasonClock {
					t.Errorf("cross-process %q -> %q decided by %v, want the clock", tr.Spans[p].Name, tr.Spans[i].Name, got.Reason)
				}
				// A server span ends after it sent the answer: before the
				// client's end when the answer's clock shows the server's
				// end counter (nothing started on the server in between),
				// else possibly after it (the clock may even show that: the
				// server learnt of the client's later work before its span
				// ended).
				if tr.Spans[i].Kind == storage.KindServer && tr.Spans[p].Kind == storage.KindClient {
					got := c.Relation(EndOf(i), EndOf(p))
					seen := tr.Clocks[p].End.Get(tr.Clocks[i].Node) >= max(tr.Clocks[i].End.Get(tr.Clocks[i].Node), tr.Clocks[i].Tick)
					if seen && got.Order != Before {
						t.Errorf("server %q end vs client %q end: %v/%v (answer saw the server's end: %v)", tr.Spans[i].Name, tr.Spans[p].Name, got.Order, got.Reason, seen)
					}
				}
			}
			for _, want := range []string{"service-a", "service-b", "service-c"} {
				if !services[want] {
					t.Errorf("no span of %s", want)
				}
			}
			pos := make([]int, tr.Len())
			order := c.CausalOrder()
			if len(order) != tr.Len() {
				t.Fatalf("CausalOrder has %d spans, want %d", len(order), tr.Len())
			}
			for k, i := range order {
				pos[i] = k
			}
			skewed := false
			for i := range tr.Len() {
				if p := tr.Parent[i]; p >= 0 {
					if pos[p] > pos[i] {
						t.Errorf("CausalOrder puts %q after its child %q", tr.Spans[p].Name, tr.Spans[i].Name)
					}
					skewed = skewed || tr.Spans[p].StartTime > tr.Spans[i].StartTime
				}
			}
			if !skewed {
				t.Error("no child starts before its parent by the timestamps: the skew did not show")
			}
			// A search is synchronous: no span ends after the root's
			// answer, and service-a's own spans end before it. (A remote
			// server span ends after it sent its answer, so its end, and
			// the ends within it that no later tick follows, may be
			// unordered with the root's.)
			root := int(tr.Roots[0])
			if len(tr.Roots) != 1 || tr.Spans[root].Name != "GET /api/v1/search" {
				return
			}
			for i := range tr.Len() {
				if i == root {
					continue
				}
				got := c.Relation(EndOf(i), EndOf(root))
				if got.Order == After || tr.Instance[i] == tr.Instance[root] && got.Order != Before {
					t.Errorf("%q end vs the root's end: %v/%v", tr.Spans[i].Name, got.Order, got.Reason)
				}
			}
		})
	}
}
