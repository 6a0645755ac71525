package propagation_test

import (
	"context"
	"testing"

	otelprop "go.opentelemetry.io/otel/propagation"

	"github.com/tracerdev/tracer/internal/vcstate"
	"github.com/tracerdev/tracer/propagation"
)

// slotCarrier is a carrier whose owner has the memory of the received
// clock's context, as the gRPC server's call has.
type slotCarrier struct {
	otelprop.MapCarrier
	slot vcstate.InboundContext
}

func (c *slotCarrier) InboundContext() *vcstate.InboundContext { return &c.slot }

// Extract puts a received clock in the carrier's memory when it offers
// some, and allocates nothing for it then.
func TestExtractIntoCarrierMemory(t *testing.T) {
	v := propagation.NewVClock()
	c := &slotCarrier{MapCarrier: otelprop.MapCarrier{propagation.Header: "a:3,b:1"}}
	ctx := v.Extract(context.Background(), c)
	if ctx != context.Context(&c.slot) {
		t.Fatalf("Extract returned %T, want the carrier's InboundContext", ctx)
	}
	if in := vcstate.InboundFrom(ctx); in == nil || in.Text != "a:3,b:1" {
		t.Errorf("received clock %+v, want a:3,b:1", in)
	}
	bg := context.Background()
	if n := testing.AllocsPerRun(100, func() { _ = v.Extract(bg, c) }); n != 0 {
		t.Errorf("Extract into the carrier's memory: %v allocations, want 0", n)
	}
}
