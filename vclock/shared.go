package vclock

import "sync"

// Shared is a clock that several goroutines may use at once, such as the
// branches of one request's fan-out. The zero value is ready to use.
type Shared struct {
	mu sync.Mutex
	c  Clock
}

// NewShared returns a Shared holding a copy of c.
func NewShared(c Clock) *Shared { return &Shared{c: c.Copy()} }

// Tick records a local event of node and returns a snapshot after it.
func (s *Shared) Tick(node string) Clock {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.Tick(node)
	return s.c.Copy()
}

// Merge merges o into the clock; it reports whether the clock changed.
func (s *Shared) Merge(o Clock) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.Merge(o)
}

// Receive merges o and ticks node, the receipt of a message, and returns a
// snapshot after it.
func (s *Shared) Receive(node string, o Clock) Clock {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.Merge(o)
	s.c.Tick(node)
	return s.c.Copy()
}

// Snapshot returns a copy of the current clock.
func (s *Shared) Snapshot() Clock {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.Copy()
}
