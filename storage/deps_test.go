package storage_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

func TestDependencyCounter(t *testing.T) {
	end := time.Unix(1000, 0)
	c, err := storage.NewDependencyCounter(end, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := c.Window()
	if lo != time.Unix(990, 0).UnixNano() || hi != end.UnixNano() {
		t.Fatalf("Window = %d, %d", lo, hi)
	}
	tests := []struct {
		name  string
		start int64
		in    bool
	}{
		{"before", lo - 1, false},
		{"low bound", lo, true},
		{"high bound", hi, true},
		{"after", hi + 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.InWindow(tt.start); got != tt.in {
				t.Errorf("InWindow(%d) = %v, want %v", tt.start, got, tt.in)
			}
		})
	}
	c.Count("a", lo-100, "b", storage.StatusOK) // a parent from before the window counts
	c.Count("a", hi, "b", storage.StatusError)
	c.Count("a", hi+1, "b", storage.StatusOK) // a parent after the window does not
	c.Count("b", lo, "b", storage.StatusOK)   // nor an edge within a service
	c.Count("0", lo, "a", storage.StatusUnset)
	want := []storage.Dependency{{Parent: "0", Child: "a", CallCount: 1}, {Parent: "a", Child: "b", CallCount: 2, ErrorCount: 1}}
	if got := c.Dependencies(); !slices.Equal(got, want) {
		t.Errorf("Dependencies = %+v, want %+v", got, want)
	}
	if _, err := storage.NewDependencyCounter(end, -time.Second); !errors.Is(err, storage.ErrInvalidQuery) {
		t.Errorf("NewDependencyCounter(negative lookback): err = %v, want ErrInvalidQuery", err)
	}
}
