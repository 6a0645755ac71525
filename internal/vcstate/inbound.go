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

// WithInbound returns ctx carrying the received clock text, which must have
// been validated.
func WithInbound(ctx context.Context, text string) context.Context {
	return context.WithValue(ctx, inboundKey{}, &Inbound{Text: text})
}

// InboundFrom returns the received clock in ctx, or nil.
func InboundFrom(ctx context.Context) *Inbound {
	in, _ := ctx.Value(inboundKey{}).(*Inbound)
	return in
}
