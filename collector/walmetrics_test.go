package collector

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracerdev/tracer/wal"
)

// TestWALDamageMetrics: the damage the WAL found at Open is exported. The
// WAL's last segment loses the end of its last record, as a crash mid-write
// leaves it: one torn tail, nothing lost from an older segment.
func TestWALDamageMetrics(t *testing.T) {
	dir := t.TempDir()
	opts := wal.Options{SegmentSize: 1 << 20, MaxBytes: 4 << 20}
	w, err := wal.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := w.Append(context.Background(), make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil || len(segs) != 1 {
		t.Fatalf("segments %v, %v: want one", segs, err)
	}
	st, err := os.Stat(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	// The file may be preallocated: cut into the last record's payload.
	data, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	end := len(data)
	for end > 0 && data[end-1] == 0 {
		end--
	}
	if err := os.Truncate(segs[0], int64(min(end-10, int(st.Size())))); err != nil {
		t.Fatal(err)
	}
	if w, err = wal.Open(dir, opts); err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.wal.Store(w)
	got := map[string]float64{}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
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
		{"tracer_collector_wal_corrupted_records_total", 0},
		{"tracer_collector_wal_torn_tails_total", 1},
		{"tracer_collector_wal_lost_tails_total", 0},
		{"tracer_collector_wal_lost_records_total", 0},
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
