package send

import (
	"sync"
	"time"
)

// state is a circuit breaker's state; the values are the
// tracer.exporter.breaker.state gauge's.
type state int

const (
	stateClosed   state = 0
	stateHalfOpen state = 1
	stateOpen     state = 2
)

func (s state) String() string {
	switch s {
	case stateClosed:
		return "closed"
	case stateHalfOpen:
		return "half-open"
	default:
		return "open"
	}
}

// breaker is one endpoint's circuit breaker: closed until failures
// consecutive retryable failures, then open for openFor, then half-open:
// exactly one request (the probe) goes through, and its outcome closes the
// breaker or opens it again.
type breaker struct {
	failures int
	openFor  time.Duration
	now      func() time.Time
	onChange func(from, to state) // called without mu held

	mu       sync.Mutex
	st       state
	fails    int       // consecutive retryable failures while closed
	openedAt time.Time // when it last opened
	probing  bool      // half-open and the probe is in flight
}

func newBreaker(cfg BreakerConfig, now func() time.Time, onChange func(from, to state)) *breaker {
	return &breaker{failures: cfg.Failures, openFor: cfg.OpenFor, now: now, onChange: onChange}
}

// state reports the breaker's state, turning open into half-open once
// openFor has passed.
func (b *breaker) state() state {
	b.mu.Lock()
	from, to := b.advance()
	b.mu.Unlock()
	b.changed(from, to)
	return to
}

// advance moves an open breaker whose time is up to half-open; mu is held.
func (b *breaker) advance() (from, to state) {
	from = b.st
	if b.st == stateOpen && !b.now().Before(b.openedAt.Add(b.openFor)) {
		b.st = stateHalfOpen
		b.probing = false
	}
	return from, b.st
}

func (b *breaker) changed(from, to state) {
	if from != to && b.onChange != nil {
		b.onChange(from, to)
	}
}

// allow reports whether a request may go now; probe is true when it is the
// half-open breaker's one probe, whose outcome the caller must report with
// success, failure or release.
func (b *breaker) allow() (probe, ok bool) {
	b.mu.Lock()
	from, to := b.advance()
	switch b.st {
	case stateClosed:
		ok = true
	case stateHalfOpen:
		if !b.probing {
			b.probing = true
			probe, ok = true, true
		}
	}
	b.mu.Unlock()
	b.changed(from, to)
	return probe, ok
}

// readyAt is when the breaker next lets a request through: now or earlier
// when it is closed or half-open without a probe, the end of openFor when
// open. known is false while a probe is in flight.
func (b *breaker) readyAt() (at time.Time, known bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.st == stateOpen:
		return b.openedAt.Add(b.openFor), true
	case b.st == stateHalfOpen && b.probing:
		return time.Time{}, false
	default:
		return time.Time{}, true
	}
}

// success reports an attempt the endpoint answered.
func (b *breaker) success(probe bool) {
	b.mu.Lock()
	from := b.st
	b.fails = 0
	if probe || b.st == stateHalfOpen {
		b.st = stateClosed
		b.probing = false
	}
	to := b.st
	b.mu.Unlock()
	b.changed(from, to)
}

// failure reports a retryable failure.
func (b *breaker) failure(probe bool) {
	b.mu.Lock()
	from := b.st
	switch {
	case probe && b.st == stateHalfOpen:
		b.st = stateOpen
		b.openedAt = b.now()
		b.probing = false
	case b.st == stateClosed:
		b.fails++
		if b.fails >= b.failures {
			b.st = stateOpen
			b.openedAt = b.now()
			b.fails = 0
		}
	}
	to := b.st
	b.mu.Unlock()
	b.changed(from, to)
}

// release gives back a probe whose attempt ended without a verdict (the
// caller's ctx was done).
func (b *breaker) release(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	wasProbing := b.st == stateHalfOpen && b.probing
	b.probing = false
	b.mu.Unlock()
	if wasProbing && b.onChange != nil {
		// Waiters for the probe's end may try now.
		b.onChange(stateHalfOpen, stateHalfOpen)
	}
}
