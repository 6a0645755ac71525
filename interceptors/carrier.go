package interceptors

import (
	"context"
	"strings"
	"sync"

	otelprop "go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc/metadata"

	"github.com/tracerdev/tracer/internal/vcstate"
)

// incoming reads a server call's request metadata without copying all of
// it. It gives every value of a key (ValuesGetter), so that the W3C
// propagator sees repeated traceparent and split tracestate values.
type incoming struct{ ctx context.Context }

var (
	_ otelprop.TextMapCarrier = (*incoming)(nil)
	_ otelprop.ValuesGetter   = (*incoming)(nil)
)

// Values returns every value of key, in the order they came.
func (c *incoming) Values(key string) []string { return inValues(c.ctx, key) }
func (c *incoming) Get(key string) string      { return inGet(c.ctx, key) }
func (c *incoming) Set(string, string)         {}
func (c *incoming) Keys() []string             { return inKeys(c.ctx) }

// callIncoming is incoming for a traced call, reading the call's context:
// a conversion of the call's pointer, where an incoming would be one more
// allocation per call.
type callIncoming call

var (
	_ otelprop.TextMapCarrier = (*callIncoming)(nil)
	_ otelprop.ValuesGetter   = (*callIncoming)(nil)
	_ vcstate.InboundCarrier  = (*callIncoming)(nil)
)

// Values returns every value of key, in the order they came.
func (c *callIncoming) Values(key string) []string { return inValues(c.Context, key) }
func (c *callIncoming) Get(key string) string      { return inGet(c.Context, key) }
func (c *callIncoming) Set(string, string)         {}
func (c *callIncoming) Keys() []string             { return inKeys(c.Context) }

// InboundContext gives Extract the call's memory for a received clock.
func (c *callIncoming) InboundContext() *vcstate.InboundContext { return &c.in }

// headerCarrier reads a server call's request metadata as gRPC hands it to
// the stats handlers (InHeader), without copying: a conversion of the
// call's pointer, like callIncoming.
type headerCarrier call

var (
	_ otelprop.TextMapCarrier = (*headerCarrier)(nil)
	_ otelprop.ValuesGetter   = (*headerCarrier)(nil)
	_ vcstate.InboundCarrier  = (*headerCarrier)(nil)
)

// Values returns every value of key, in the order they came.
func (c *headerCarrier) Values(key string) []string { return mdValues(c.md, key) }

func (c *headerCarrier) Get(key string) string {
	if v := mdValues(c.md, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c *headerCarrier) Set(string, string) {}

func (c *headerCarrier) Keys() []string {
	keys := make([]string, 0, len(c.md))
	for k := range c.md {
		keys = append(keys, k)
	}
	return keys
}

// InboundContext gives Extract the call's memory for a received clock.
func (c *headerCarrier) InboundContext() *vcstate.InboundContext { return &c.in }

// mdValues returns the values of key in md, whose keys are lowercase.
func mdValues(md metadata.MD, key string) []string {
	if v, ok := md[key]; ok {
		return v
	}
	if lower := strings.ToLower(key); lower != key {
		return md[lower]
	}
	return nil
}

func inValues(ctx context.Context, key string) []string {
	return metadata.ValueFromIncomingContext(ctx, key)
}

func inGet(ctx context.Context, key string) string {
	if v := metadata.ValueFromIncomingContext(ctx, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func inKeys(ctx context.Context) []string {
	md, _ := metadata.FromIncomingContext(ctx)
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	return keys
}

// outgoing collects what propagators inject, for AppendToOutgoingContext.
// It is scratch (appendTo copies the pairs), reused through outgoingPool.
type outgoing struct {
	buf [8]string
	kv  []string // key, value, key, value...
}

var outgoingPool = sync.Pool{New: func() any { return new(outgoing) }}

// reset forgets the pairs, and the strings they hold.
func (c *outgoing) reset() {
	clear(c.buf[:])
	c.kv = nil
}

var _ otelprop.TextMapCarrier = (*outgoing)(nil)

func (c *outgoing) Get(key string) string {
	for i := 0; i+1 < len(c.kv); i += 2 {
		if c.kv[i] == key {
			return c.kv[i+1]
		}
	}
	return ""
}

func (c *outgoing) Set(key, value string) {
	for i := 0; i+1 < len(c.kv); i += 2 {
		if c.kv[i] == key {
			c.kv[i+1] = value
			return
		}
	}
	if c.kv == nil {
		c.kv = c.buf[:0]
	}
	c.kv = append(c.kv, key, value)
}

func (c *outgoing) Keys() []string {
	keys := make([]string, 0, len(c.kv)/2)
	for i := 0; i+1 < len(c.kv); i += 2 {
		keys = append(keys, c.kv[i])
	}
	return keys
}

// appendTo returns ctx with the collected pairs in its outgoing metadata.
// They are appended, which copies nothing, unless the metadata already has
// one of the keys (a context passed on from another call, say): then the
// values are replaced, so the server does not read a stale one.
func (c *outgoing) appendTo(ctx context.Context) context.Context {
	if len(c.kv) == 0 {
		return ctx
	}
	for i := 0; i+1 < len(c.kv); i += 2 {
		if metadata.ValueFromOutgoingContext(ctx, c.kv[i]) != nil {
			md, _ := metadata.FromOutgoingContext(ctx) // a copy
			for j := 0; j+1 < len(c.kv); j += 2 {
				md.Set(c.kv[j], c.kv[j+1])
			}
			return metadata.NewOutgoingContext(ctx, md)
		}
	}
	return metadata.AppendToOutgoingContext(ctx, c.kv...)
}
