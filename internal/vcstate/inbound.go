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

// inboundCtx is a context carrying an Inbound: the context and the clock in
// one allocation, where context.WithValue and the Inbound would be two (one
// per server call).
type inboundCtx struct {
	context.Context
	in Inbound
}

// Value returns the Inbound for inboundKey, else the parent's value.
func (c *inboundCtx) Value(key any) any {
	if _, ok := key.(inboundKey); ok {
		return &c.in
	}
	return c.Context.Value(key)
}

// String names the context as context.WithValue's does.
func (c *inboundCtx) String() string { return "vcstate.WithInbound" }

// WithInbound returns ctx carrying the received clock text, which must have
// been validated.
func WithInbound(ctx context.Context, text string) context.Context {
	c := &inboundCtx{Context: ctx}
	c.in.Text = text
	return c
}

// InboundFrom returns the received clock in ctx, or nil.
func InboundFrom(ctx context.Context) *Inbound {
	in, _ := ctx.Value(inboundKey{}).(*Inbound)
	return in
}
