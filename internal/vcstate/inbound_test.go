package vcstate

import (
	"context"
	"testing"
)

type otherKey struct{}

var sink context.Context

// WithInbound costs one allocation, and the context passes every other key
// on to its parent.
func TestWithInboundOneAllocation(t *testing.T) {
	parent := context.WithValue(context.Background(), otherKey{}, "v")
	ctx := WithInbound(parent, "a:3")
	if in := InboundFrom(ctx); in == nil || in.Text != "a:3" {
		t.Fatalf("InboundFrom = %+v, want text a:3", in)
	}
	if got := ctx.Value(otherKey{}); got != "v" {
		t.Errorf("parent's value = %v, want v", got)
	}
	if InboundFrom(parent) != nil {
		t.Error("the parent carries the clock")
	}
	if n := testing.AllocsPerRun(100, func() { sink = WithInbound(parent, "a:3") }); n != 1 {
		t.Errorf("WithInbound: %v allocations, want 1", n)
	}
}
