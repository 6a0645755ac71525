package send

import (
	"testing"
	"time"
)

func TestBreakerTransitions(t *testing.T) {
	clk := newFakeClock()
	var changes []string
	b := newBreaker(BreakerConfig{Failures: 3, OpenFor: 10 * time.Second}, clk.Now, func(from, to state) {
		changes = append(changes, from.String()+">"+to.String())
	})
	mustAllow := func(wantProbe bool) {
		t.Helper()
		probe, ok := b.allow()
		if !ok || probe != wantProbe {
			t.Fatalf("allow() = probe %v, ok %v; want probe %v, ok true (state %v)", probe, ok, wantProbe, b.state())
		}
	}
	mustRefuse := func() {
		t.Helper()
		if _, ok := b.allow(); ok {
			t.Fatalf("allow() = ok in state %v, want refused", b.state())
		}
	}

	// Closed: failures below the threshold, reset by a success.
	for range 2 {
		mustAllow(false)
		b.failure(false)
	}
	mustAllow(false)
	b.success(false)
	for range 2 {
		mustAllow(false)
		b.failure(false)
	}
	if got := b.state(); got != stateClosed {
		t.Fatalf("after 2+2 failures with a success between: %v, want closed", got)
	}
	// The third consecutive failure opens it.
	mustAllow(false)
	b.failure(false)
	if got := b.state(); got != stateOpen {
		t.Fatalf("after 3 consecutive failures: %v, want open", got)
	}
	if at, known := b.readyAt(); !known || !at.Equal(clk.Now().Add(10*time.Second)) {
		t.Errorf("readyAt = %v, %v; want open time + 10s", at, known)
	}
	mustRefuse()
	clk.Advance(10*time.Second - time.Nanosecond)
	mustRefuse()

	// Half-open: exactly one probe.
	clk.Advance(time.Nanosecond)
	mustAllow(true)
	mustRefuse()
	if _, known := b.readyAt(); known {
		t.Error("readyAt known while the probe is in flight")
	}
	// The probe fails: open again for another OpenFor.
	b.failure(true)
	if got := b.state(); got != stateOpen {
		t.Fatalf("after a failed probe: %v, want open", got)
	}
	mustRefuse()
	clk.Advance(10 * time.Second)
	// A probe released without a verdict lets the next one through.
	mustAllow(true)
	b.release(true)
	mustAllow(true)
	mustRefuse()
	b.success(true)
	if got := b.state(); got != stateClosed {
		t.Fatalf("after a successful probe: %v, want closed", got)
	}
	mustAllow(false)
	mustAllow(false)

	want := []string{"closed>open", "open>half-open", "half-open>open", "open>half-open", "half-open>half-open", "half-open>closed"}
	if len(changes) != len(want) {
		t.Fatalf("transitions %v, want %v", changes, want)
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Fatalf("transitions %v, want %v", changes, want)
		}
	}
}

func TestBackoffFullJitter(t *testing.T) {
	s := &Sender{cfg: Config{Retry: RetryConfig{InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, Multiplier: 2}}}
	var ceilings []int64
	s.randN = func(n int64) int64 { ceilings = append(ceilings, n-1); return n - 1 }
	for round := range 6 {
		s.backoff(round)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for i, w := range want {
		if time.Duration(ceilings[i]) != w {
			t.Errorf("round %d: ceiling %v, want %v", i, time.Duration(ceilings[i]), w)
		}
	}
	s.randN = func(int64) int64 { return 0 }
	if got := s.backoff(3); got != 0 {
		t.Errorf("full jitter's floor: %v, want 0", got)
	}
}
