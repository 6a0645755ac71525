package vcstate

import (
	"context"
	"sync/atomic"
)

// Inbound is a clock received from another process and not yet merged.
type Inbound struct {
	Text   string        // validated text encoding
	merged atomic.Uint64 // id of the last holder it was merged into
}

type inboundKey struct{}

// InboundContext is a context carrying an Inbound: the context and the
// clock in one allocation, where context.WithValue and the Inbound would be
// two (one per server call). WithInbound allocates one; a caller that has
// memory per request already (the gRPC server's call) embeds one and hands
// it out through an InboundCarrier.
type InboundContext struct {
	context.Context
	in Inbound
}

// Init makes c the parent carrying the received clock text (validated),
// and returns it. c must not be in use.
func (c *InboundContext) Init(parent context.Context, text string) context.Context {
	c.Context = parent
	c.in.Text = text
	c.in.merged.Store(0)
	return c
}

// Value returns the Inbound for inboundKey, else the parent's value.
func (c *InboundContext) Value(key any) any {
	if _, ok := key.(inboundKey); ok {
		return &c.in
	}
	return c.Context.Value(key)
}

// String names the context as context.WithValue's does.
func (c *InboundContext) String() string { return "vcstate.WithInbound" }

// InboundCarrier is a propagation carrier that provides the memory of the
// context that Extract returns with a received clock (nil: allocate one).
type InboundCarrier interface {
	InboundContext() *InboundContext
}

// WithInbound returns ctx carrying the received clock text, which must have
// been validated.
func WithInbound(ctx context.Context, text string) context.Context {
	return new(InboundContext).Init(ctx, text)
}

// InboundFrom returns the received clock in ctx, or nil.
func InboundFrom(ctx context.Context) *Inbound {
	in, _ := ctx.Value(inboundKey{}).(*Inbound)
	return in
}
