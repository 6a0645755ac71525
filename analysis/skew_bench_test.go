package analysis

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// skewedCalls records a trace of calls/2 synchronous calls (n spans)
// between instances "n0".."n{k-1}", each instance's clock off by a
// different amount: a random call tree, nested properly in time, played
// out without recursion.
func skewedCalls(n, k int, seed uint64) *Trace {
	off := map[string]int64{}
	for i := range k {
		off["n"+strconv.Itoa(i)] = int64(i%7-3) * 5 * ms
	}
	return randomCalls(n, k, rand.New(rand.NewPCG(seed, 1)), off, false)
}

// randomCalls records n/2 calls between instances "n0".."n{k-1}", clocks
// off by off, nested properly in time; with jitter, events are apart by
// random times (1µs to 2ms), else by 1µs. Instances whose offset map
// holds them under "noclock:"+name run without clocks.
func randomCalls(n, k int, rng *rand.Rand, off map[string]int64, jitter bool) *Trace {
	calls := n / 2
	parent := make([]int, calls)
	node := make([]string, calls)
	children := make([][]int, calls)
	node[0] = "n0"
	for j := 1; j < calls; j++ {
		// Mostly deep and narrow, sometimes wide.
		p := j - 1 - rng.IntN(min(j, 8))
		parent[j] = p
		node[j] = "n" + strconv.Itoa(rng.IntN(k))
		children[p] = append(children[p], j)
	}
	var noClock []string
	for i := range k {
		if _, ok := off["noclock:n"+strconv.Itoa(i)]; ok {
			noClock = append(noClock, "n"+strconv.Itoa(i))
		}
	}
	s := newSkewSim(off, noClock...)
	server := make([]int, calls)
	client := make([]int, calls)
	var now int64
	tick := func() int64 {
		if jitter {
			now += 1000 + rng.Int64N(2*ms)
		} else {
			now += 1000
		}
		return now
	}
	type frame struct{ call, next int }
	root := s.start(node[0], storage.KindServer, -1, tick(), nil)
	server[0], client[0] = root, -1
	stack := []frame{{call: 0}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.next < len(children[f.call]) {
			c := children[f.call][f.next]
			f.next++
			from := node[f.call]
			client[c] = s.start(from, storage.KindClient, server[f.call], tick(), nil)
			server[c] = s.start(node[c], storage.KindServer, client[c], tick(), s.msg(from))
			stack = append(stack, frame{call: c})
			continue
		}
		c := f.call
		stack = stack[:len(stack)-1]
		s.end(server[c], tick(), nil)
		if client[c] >= 0 {
			s.end(client[c], tick(), s.msg(node[c]))
		}
	}
	return s.trace()
}

func BenchmarkSkew(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		tr := skewedCalls(n, 20, 1)
		c := NewCausal(tr)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := Skew(c)
				if len(r.Pairs) == 0 {
					b.Fatal("no pairs")
				}
			}
		})
	}
}

// The benchmark's trace is one the tests' properties hold on too: every
// true offset in its range, the adjusted view consistent.
func TestSkewLarge(t *testing.T) {
	tr := skewedCalls(2000, 20, 2)
	r := Skew(NewCausal(tr))
	for i, in := range tr.Instances {
		n, _ := strconv.Atoi(in.Service[1:])
		truth := int64(n%7-3)*5*ms - int64(0%7-3)*5*ms
		if is := r.Instances[i]; is.Contradicted || !is.Range.Contains(time.Duration(truth)) {
			t.Errorf("%s: %+v, want a range containing %d", in.Service, is, truth)
		}
	}
	checkAdjusted(t, r, tr)
}
