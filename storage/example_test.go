package storage_test

import (
	"fmt"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// A RED point's latency quantiles come from its histogram: each within
// about 6% of the true value.
func ExampleHistogram() {
	var h storage.Histogram
	for _, d := range []time.Duration{time.Millisecond, time.Millisecond, 2 * time.Millisecond, 40 * time.Millisecond} {
		h.Add(d)
	}
	fmt.Println(h.Count(), "durations")
	fmt.Println("p50", h.Quantile(0.5))
	fmt.Println("p99", h.Quantile(0.99))
	// Output:
	// 4 durations
	// p50 1.015808ms
	// p99 39.845888ms
}
