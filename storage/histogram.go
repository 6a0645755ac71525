package storage

import (
	"math"
	"math/bits"
	"time"
)

// Histogram counts span durations in log-linear buckets: eight buckets per
// power of two of nanoseconds, so a bucket is at most 1/8 of its lower
// bound wide and a quantile read from it is within about 6% of the true
// value. Index i counts the durations d with LatencyBucket(d) == i; the
// slice is as long as its last non-empty bucket needs. Backends that
// aggregate on write store bucket indexes and counts, and every backend
// buckets with LatencyBucket, so they agree.
type Histogram []uint64

// NumLatencyBuckets is the number of buckets: LatencyBucket returns less.
const NumLatencyBuckets = 8 + 60*8

// LatencyBucket returns the bucket index of duration d. Durations under 8 ns
// (and negative ones) have one bucket per nanosecond, 0 to 7.
func LatencyBucket(d time.Duration) int {
	if d < 8 {
		return int(max(d, 0))
	}
	u := uint64(d)
	e := bits.Len64(u) - 1 // 3..62
	m := int(u>>(e-3)) & 7
	return 8 + (e-3)*8 + m
}

// LatencyBucketBounds returns the durations bucket i counts: [lo, hi), and
// for the last bucket (NumLatencyBuckets-1), whose hi is math.MaxInt64,
// [lo, hi] inclusive. An index out of range is clamped into it.
func LatencyBucketBounds(i int) (lo, hi time.Duration) {
	i = min(max(i, 0), NumLatencyBuckets-1)
	if i < 8 {
		return time.Duration(i), time.Duration(i + 1)
	}
	e := (i-8)/8 + 3
	m := uint64((i - 8) % 8)
	lo = time.Duration((8 + m) << (e - 3))
	if e == 62 && m == 7 {
		return lo, math.MaxInt64
	}
	return lo, time.Duration((9 + m) << (e - 3))
}

// Add counts one duration.
func (h *Histogram) Add(d time.Duration) { h.AddBucket(LatencyBucket(d), 1) }

// AddBucket adds n to bucket i, growing h as needed. An index out of range
// is clamped into it.
func (h *Histogram) AddBucket(i int, n uint64) {
	i = min(max(i, 0), NumLatencyBuckets-1)
	if i >= len(*h) {
		*h = append(*h, make([]uint64, i+1-len(*h))...)
	}
	(*h)[i] += n
}

// Merge adds the counts of o.
func (h *Histogram) Merge(o Histogram) {
	if len(o) > len(*h) {
		*h = append(*h, make([]uint64, len(o)-len(*h))...)
	}
	for i, n := range o {
		(*h)[i] += n
	}
}

// Count returns the number of durations counted.
func (h Histogram) Count() uint64 {
	var n uint64
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile returns an estimate of the q-quantile (0 <= q <= 1) of the
// durations counted: the middle of the bucket that holds it, by the
// nearest-rank definition. It returns 0 for an empty histogram.
func (h Histogram) Quantile(q float64) time.Duration {
	total := h.Count()
	if total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h {
		seen += c
		if seen >= rank {
			lo, hi := LatencyBucketBounds(i)
			if hi == math.MaxInt64 {
				return lo
			}
			return lo + (hi-lo)/2
		}
	}
	lo, _ := LatencyBucketBounds(len(h) - 1)
	return lo
}
