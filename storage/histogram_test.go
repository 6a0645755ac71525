package storage_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

const lastBucket = storage.NumLatencyBuckets - 1

// inBucket reports whether d lies in the bounds of bucket i, the last
// bucket's hi included.
func inBucket(d time.Duration, i int) bool {
	lo, hi := storage.LatencyBucketBounds(i)
	return lo <= d && (d < hi || i == lastBucket && d == hi)
}

func TestLatencyBucketBounds(t *testing.T) {
	var prevHi time.Duration
	for i := range storage.NumLatencyBuckets {
		lo, hi := storage.LatencyBucketBounds(i)
		if lo != prevHi {
			t.Fatalf("bucket %d starts at %d, the previous one ends at %d", i, lo, prevHi)
		}
		if hi <= lo {
			t.Fatalf("bucket %d: [%d, %d) is empty", i, lo, hi)
		}
		// At most 1/8 of its lower bound wide (one nanosecond under 16).
		if w := hi - lo; w > max(1, lo/8) {
			t.Fatalf("bucket %d: [%d, %d) is %d wide, more than %d/8", i, lo, hi, w, lo)
		}
		for _, d := range []time.Duration{lo, lo + (hi-lo)/2, hi - 1} {
			if got := storage.LatencyBucket(d); got != i {
				t.Fatalf("LatencyBucket(%d) = %d, want %d (bucket [%d, %d))", d, got, i, lo, hi)
			}
		}
		prevHi = hi
	}
	if prevHi != math.MaxInt64 {
		t.Fatalf("the last bucket ends at %d, want math.MaxInt64", prevHi)
	}
	if got := storage.LatencyBucket(math.MaxInt64); got != lastBucket {
		t.Fatalf("LatencyBucket(MaxInt64) = %d, want the last bucket %d", got, lastBucket)
	}
	// Indexes out of range are clamped, as AddBucket clamps them.
	for _, tt := range []struct{ i, want int }{{-1, 0}, {-1000, 0}, {storage.NumLatencyBuckets, lastBucket}, {1 << 40, lastBucket}} {
		lo, hi := storage.LatencyBucketBounds(tt.i)
		if wlo, whi := storage.LatencyBucketBounds(tt.want); lo != wlo || hi != whi {
			t.Errorf("LatencyBucketBounds(%d) = [%d, %d), want bucket %d's [%d, %d)", tt.i, lo, hi, tt.want, wlo, whi)
		}
	}
}

func TestLatencyBucket(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{math.MinInt64, 0},
		{-1, 0},
		{0, 0},
		{1, 1},
		{7, 7},
		{8, 8},
		{9, 9},
		{15, 15},
		{16, 16},
		{17, 16},
		{18, 17},
		{31, 23},
		{32, 24},
		{math.MaxInt64, lastBucket},
	}
	for _, tt := range tests {
		if got := storage.LatencyBucket(tt.d); got != tt.want {
			t.Errorf("LatencyBucket(%d) = %d, want %d", tt.d, got, tt.want)
		}
	}
	// Around every power of two, and durations everywhere in between:
	// the bucket holds the duration, and buckets grow with durations.
	var ds []time.Duration
	for e := range 63 {
		p := time.Duration(1) << e
		ds = append(ds, p-1, p, p+1, p+p/3)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		ds = append(ds, time.Duration(r.Int64N(math.MaxInt64)>>r.IntN(63)))
	}
	ds = append(ds, math.MaxInt64, math.MaxInt64-1)
	slices.Sort(ds)
	prev := 0
	for _, d := range ds {
		if d < 0 {
			continue
		}
		i := storage.LatencyBucket(d)
		if i < 0 || i >= storage.NumLatencyBuckets {
			t.Fatalf("LatencyBucket(%d) = %d, out of range", d, i)
		}
		if !inBucket(d, i) {
			lo, hi := storage.LatencyBucketBounds(i)
			t.Fatalf("LatencyBucket(%d) = %d, whose bounds are [%d, %d)", d, i, lo, hi)
		}
		if i < prev {
			t.Fatalf("LatencyBucket(%d) = %d, less than the bucket of a shorter duration (%d)", d, i, prev)
		}
		prev = i
	}
}

func TestQuantile(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	sets := map[string][]time.Duration{
		"one":   {42 * time.Millisecond},
		"tiny":  {0, 1, 2, 3, 5, 7, 8, 9, 15},
		"top":   {math.MaxInt64, math.MaxInt64 - 1, math.MaxInt64 / 16 * 15, 1 << 62},
		"equal": {time.Second, time.Second, time.Second},
	}
	for _, n := range []int{10, 1000, 20000} {
		var ds []time.Duration
		for range n {
			// Log-uniform from 1 ns to about 17 minutes.
			ds = append(ds, time.Duration(math.Exp(r.Float64()*math.Log(1e12))))
		}
		sets["random "+time.Duration(n).String()] = ds
	}
	uni := make([]time.Duration, 5000)
	for i := range uni {
		uni[i] = time.Duration(r.Int64N(int64(time.Second)))
	}
	sets["uniform"] = uni
	qs := []float64{0, 0.001, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1}
	for name, ds := range sets {
		t.Run(name, func(t *testing.T) {
			var h storage.Histogram
			for _, d := range ds {
				h.Add(d)
			}
			if got := h.Count(); got != uint64(len(ds)) {
				t.Fatalf("Count = %d, want %d", got, len(ds))
			}
			sorted := slices.Sorted(slices.Values(ds))
			for _, q := range qs {
				// Nearest rank: the smallest value with at least q of
				// the values at or below it.
				rank := max(int(math.Ceil(q*float64(len(sorted)))), 1)
				exact := sorted[rank-1]
				got := h.Quantile(q)
				if diff := math.Abs(float64(got) - float64(exact)); diff > float64(exact)/16 {
					t.Errorf("Quantile(%v) = %d, exact %d: off by %.2f%%, more than 6.25%%", q, got, exact, 100*diff/float64(exact))
				}
				if exact < 16 && got != exact {
					t.Errorf("Quantile(%v) = %d, want exactly %d (one bucket per nanosecond under 16)", q, got, exact)
				}
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		var h storage.Histogram
		if got := h.Quantile(0.5); got != 0 {
			t.Errorf("Quantile of an empty histogram = %d, want 0", got)
		}
		h = make(storage.Histogram, 10)
		if got := h.Quantile(0.99); got != 0 {
			t.Errorf("Quantile of a histogram of zeros = %d, want 0", got)
		}
	})
	t.Run("out of range", func(t *testing.T) {
		var h storage.Histogram
		h.Add(time.Millisecond)
		h.Add(time.Second)
		if lo, hi := h.Quantile(-1), h.Quantile(2); lo != h.Quantile(0) || hi != h.Quantile(1) {
			t.Errorf("Quantile(-1), Quantile(2) = %d, %d; want Quantile(0), Quantile(1) = %d, %d", lo, hi, h.Quantile(0), h.Quantile(1))
		}
	})
}

func TestHistogramAddMerge(t *testing.T) {
	var a storage.Histogram
	a.Add(3)
	a.Add(3)
	a.Add(time.Millisecond)
	if want := storage.LatencyBucket(time.Millisecond) + 1; len(a) != want {
		t.Fatalf("len = %d after adding 1ms, want %d (up to its bucket)", len(a), want)
	}
	if a[3] != 2 || a[storage.LatencyBucket(time.Millisecond)] != 1 || a.Count() != 3 {
		t.Fatalf("histogram = %v", a)
	}

	t.Run("AddBucket", func(t *testing.T) {
		var h storage.Histogram
		h.AddBucket(5, 7)
		h.AddBucket(5, 1)
		h.AddBucket(2, 0)
		if !slices.Equal(h, storage.Histogram{0, 0, 0, 0, 0, 8}) {
			t.Fatalf("after AddBucket(5, 7), (5, 1), (2, 0): %v", h)
		}
		// Out-of-range indexes are clamped, never a panic.
		h.AddBucket(-3, 1)
		h.AddBucket(storage.NumLatencyBuckets+100, 2)
		if h[0] != 1 || len(h) != storage.NumLatencyBuckets || h[lastBucket] != 2 {
			t.Fatalf("clamped AddBucket: len %d, h[0] %d, last %d", len(h), h[0], h[lastBucket])
		}
	})
	t.Run("Merge", func(t *testing.T) {
		short := storage.Histogram{1, 2}
		long := storage.Histogram{0, 1, 0, 4}
		m := slices.Clone(short)
		m.Merge(long)
		if !slices.Equal(m, storage.Histogram{1, 3, 0, 4}) {
			t.Errorf("short.Merge(long) = %v", m)
		}
		m = slices.Clone(long)
		m.Merge(short)
		if !slices.Equal(m, storage.Histogram{1, 3, 0, 4}) {
			t.Errorf("long.Merge(short) = %v", m)
		}
		if !slices.Equal(long, storage.Histogram{0, 1, 0, 4}) {
			t.Errorf("Merge changed its argument: %v", long)
		}
		var empty storage.Histogram
		empty.Merge(nil)
		if len(empty) != 0 {
			t.Errorf("empty.Merge(nil) = %v", empty)
		}
	})
	t.Run("Merge equals adding", func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		var all, x, y storage.Histogram
		for i := range 1000 {
			d := time.Duration(r.Int64N(int64(time.Minute)) >> r.IntN(30))
			all.Add(d)
			if i%3 == 0 {
				x.Add(d)
			} else {
				y.Add(d)
			}
		}
		x.Merge(y)
		if !slices.Equal(x, all) {
			t.Error("merging the histograms of two halves differs from the histogram of the whole")
		}
	})
}
