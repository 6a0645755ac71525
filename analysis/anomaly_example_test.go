package analysis_test

import (
	"fmt"
	"time"

	"github.com/tracerdev/tracer/analysis"
	"github.com/tracerdev/tracer/storage"
)

// ExampleDetectLatency finds an operation that became four times as slow:
// an hour of steady minutes, then five slow ones.
func ExampleDetectLatency() {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	minute := func(m int, d time.Duration) storage.REDPoint {
		p := storage.REDPoint{Time: t0.Add(time.Duration(m) * time.Minute).UnixNano(), Calls: 50}
		for i := range 50 {
			p.Latency.Add(d + time.Duration(i)*100*time.Microsecond)
		}
		return p
	}
	base := storage.REDSeries{Service: "checkout", Operation: "POST /pay"}
	for m := range 60 {
		base.Points = append(base.Points, minute(m, 20*time.Millisecond))
	}
	cur := storage.REDSeries{Service: "checkout", Operation: "POST /pay"}
	for m := 60; m < 70; m++ {
		d := 20 * time.Millisecond
		if m >= 65 {
			d *= 4
		}
		cur.Points = append(cur.Points, minute(m, d))
	}
	for _, a := range analysis.DetectLatency([]storage.REDSeries{base}, []storage.REDSeries{cur}, analysis.AnomalyOptions{}) {
		fmt.Printf("%s %s %s since %s: p95 %v → %v\n", a.Kind, a.Service, a.Operation,
			time.Unix(0, a.Since).UTC().Format("15:04"), time.Duration(a.Baseline).Round(time.Millisecond), time.Duration(a.Current).Round(time.Millisecond))
	}
	// The true p95s are 24.7ms and 84.7ms; histogram quantiles are within
	// about 6% of them.

	// Output:
	// latency checkout POST /pay since 11:05: p95 24ms → 88ms
}
