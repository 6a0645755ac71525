package analysis

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// On random traces (random call trees over random instances, random
// offsets and delays, some instances without clocks): every interval
// contains the true skew and every range the true offset, nothing is
// contradicted, the adjusted view contradicts no order; with no skew at
// all nothing is reported and nothing shifted.
func TestSkewProperties(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			k := 2 + rng.IntN(8)
			skewed := seed%4 != 0
			off := map[string]int64{}
			for i := range k {
				name := "n" + strconv.Itoa(i)
				if skewed {
					off[name] = rng.Int64N(200*ms) - 100*ms
				}
				if i > 0 && rng.IntN(4) == 0 {
					off["noclock:"+name] = 0
				}
			}
			tr := randomCalls(2*(10+rng.IntN(300)), k, rng, off, true)
			r := Skew(NewCausal(tr))
			truth := func(i int32) time.Duration {
				return time.Duration(off[tr.Instances[i].Service] - off[tr.Instances[r.Reference].Service])
			}
			for _, p := range r.Pairs {
				want := truth(p.B) - truth(p.A)
				if !p.Skew.Contains(want) {
					t.Errorf("pair %d-%d: %+v does not contain %v", p.A, p.B, p.Skew, want)
				}
				if p.Confidence == ConfidenceContradicted {
					t.Errorf("pair %d-%d contradicted", p.A, p.B)
				}
				if !skewed && p.Skewed() {
					t.Errorf("pair %d-%d: violations %+v with no skew", p.A, p.B, p.Violations)
				}
			}
			for i, is := range r.Instances {
				if is.Contradicted || !is.Range.Contains(truth(int32(i))) {
					t.Errorf("%s: %+v, want a range containing %v", tr.Instances[i].Service, is, truth(int32(i)))
				}
				if !skewed && is.Offset != 0 {
					t.Errorf("%s: offset %v with no skew", tr.Instances[i].Service, is.Offset)
				}
			}
			checkAdjusted(t, r, tr)
		})
	}
}
