package storage

import (
	"fmt"
	"time"
)

// DependencyCounter counts the edges of the service graph the way
// DependencyReader.Dependencies defines them, so that every backend counts
// alike: a backend finds each child span that started in the window and its
// parent span, and calls Count. It is not safe for concurrent use.
type DependencyCounter struct {
	lo, hi int64
	edges  map[edge]*Dependency
}

type edge struct{ parent, child string }

// NewDependencyCounter returns a counter for spans that started in
// [end-lookback, end]. A negative lookback is an error wrapping
// ErrInvalidQuery.
func NewDependencyCounter(end time.Time, lookback time.Duration) (*DependencyCounter, error) {
	if lookback < 0 {
		return nil, fmt.Errorf("lookback %s: must not be negative: %w", lookback, ErrInvalidQuery)
	}
	return &DependencyCounter{
		lo:    end.Add(-lookback).UnixNano(),
		hi:    end.UnixNano(),
		edges: make(map[edge]*Dependency),
	}, nil
}

// Window returns the bounds of the window in unix nanoseconds, inclusive.
func (c *DependencyCounter) Window() (lo, hi int64) { return c.lo, c.hi }

// InWindow reports whether a span that started at start (unix nanoseconds)
// is a child to count.
func (c *DependencyCounter) InWindow(start int64) bool { return start >= c.lo && start <= c.hi }

// Count counts one child span, which started in the window, of service
// child with status, whose parent span of service parent started at
// parentStart. Edges within one service and parents that started after the
// window are not counted.
func (c *DependencyCounter) Count(parent string, parentStart int64, child string, status StatusCode) {
	if parent == child || parentStart > c.hi {
		return
	}
	e := edge{parent, child}
	d := c.edges[e]
	if d == nil {
		d = &Dependency{Parent: parent, Child: child}
		c.edges[e] = d
	}
	d.CallCount++
	if status == StatusError {
		d.ErrorCount++
	}
}

// Dependencies returns the edges counted, sorted by Parent then Child.
func (c *DependencyCounter) Dependencies() []Dependency {
	out := make([]Dependency, 0, len(c.edges))
	for _, d := range c.edges {
		out = append(out, *d)
	}
	SortDependencies(out)
	return out
}
