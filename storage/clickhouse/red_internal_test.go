package clickhouse

import (
	"errors"
	"slices"
	"testing"

	"github.com/tracerdev/tracer/storage"
)

// addHistText parses what histText makes the server return; a bad text is
// errCorrupt, a bucket out of range is clamped as Histogram.AddBucket
// does.
func TestAddHistText(t *testing.T) {
	last := storage.NumLatencyBuckets - 1
	for _, tt := range []struct {
		name  string
		start storage.Histogram
		text  string
		want  storage.Histogram
		err   bool
	}{
		{"empty", nil, "", nil, false},
		{"one", nil, "3:2", storage.Histogram{0, 0, 0, 2}, false},
		{"several", nil, "0:1,2:5,4:7", storage.Histogram{1, 0, 5, 0, 7}, false},
		{"merged", storage.Histogram{1, 1}, "1:2,3:1", storage.Histogram{1, 3, 0, 1}, false},
		// Capacity past the length holding old counts: not added.
		{"stale capacity", staleCapacity(), "2:1", storage.Histogram{7, 0, 1}, false},
		{"out of range", nil, "100000:1", func() storage.Histogram { h := make(storage.Histogram, last+1); h[last] = 1; return h }(), false},
		{"not a pair", nil, "3", nil, true},
		{"not a number", nil, "3:x", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.start
			err := addHistText(&h, tt.text)
			if tt.err {
				if !errors.Is(err, errCorrupt) {
					t.Fatalf("err = %v, want errCorrupt", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(h, tt.want) {
				t.Errorf("histogram = %v, want %v", h, tt.want)
			}
		})
	}
}

// staleCapacity returns {7} with 7s in its capacity beyond.
func staleCapacity() storage.Histogram {
	h := storage.Histogram{7, 7, 7, 7}
	return h[:1]
}
