package collector

import (
	"testing"

	"github.com/tracerdev/tracer/wal"
)

// TestWALDamageMetrics: the damage the WAL found at Open is exported.
func TestWALDamageMetrics(t *testing.T) {
	st := wal.Stats{Corrupted: 3, TornTruncations: 2, LostTails: 1, LostRecords: 5}
	m, err := newMetrics(func() wal.Stats { return st }, func() wal.Offset { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			if c := mt.GetCounter(); c != nil {
				got[f.GetName()] = c.GetValue()
			}
		}
	}
	for _, tc := range []struct {
		name string
		want float64
	}{
		{"tracer_collector_wal_corrupted_records_total", 3},
		{"tracer_collector_wal_torn_tails_total", 2},
		{"tracer_collector_wal_lost_tails_total", 1},
		{"tracer_collector_wal_lost_records_total", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := got[tc.name]
			if !ok {
				t.Fatalf("metric %s missing", tc.name)
			}
			if v != tc.want {
				t.Fatalf("%s = %v, want %v", tc.name, v, tc.want)
			}
		})
	}
}
