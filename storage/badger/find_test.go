package badger

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tracerdev/tracer/storage"
)

// TestTopK compares topK with sorting everything, on random hits where
// traces repeat.
func TestTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		k := 1 + r.IntN(10)
		best := map[storage.TraceID]int64{}
		top := newTopK(k)
		for range r.IntN(100) {
			id := storage.TraceID{byte(r.IntN(30))}
			start := r.Int64N(50)
			if s, ok := best[id]; !ok || start > s {
				best[id] = start
			}
			if top.wants(id, start) {
				top.add(id, start)
			}
		}
		type hit struct {
			id    storage.TraceID
			start int64
		}
		var all []hit
		for id, s := range best {
			all = append(all, hit{id, s})
		}
		slices.SortFunc(all, func(a, b hit) int {
			if c := cmp.Compare(b.start, a.start); c != 0 {
				return c
			}
			return cmp.Compare(a.id[0], b.id[0])
		})
		all = all[:min(len(all), k)]
		got := top.sorted()
		if len(got) != len(all) {
			t.Fatalf("round %d: %d traces, want %d", round, len(got), len(all))
		}
		// Ties at the cut may keep either trace: compare start times.
		for i := range got {
			if best[got[i]] != all[i].start {
				t.Fatalf("round %d: result %d starts at %d, want %d", round, i, best[got[i]], all[i].start)
			}
		}
	}
}
