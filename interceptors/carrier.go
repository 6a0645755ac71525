package interceptors

import (
	"context"

	otelprop "go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc/metadata"
)

// incoming reads a server call's request metadata without copying all of it.
type incoming struct{ ctx context.Context }

var _ otelprop.TextMapCarrier = (*incoming)(nil)

func (c *incoming) Get(key string) string {
	if v := metadata.ValueFromIncomingContext(c.ctx, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c *incoming) Set(string, string) {}

func (c *incoming) Keys() []string {
	md, _ := metadata.FromIncomingContext(c.ctx)
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	return keys
}

// outgoing collects what propagators inject, for AppendToOutgoingContext.
type outgoing struct {
	buf [8]string
	kv  []string // key, value, key, value...
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

// appendTo returns ctx with the collected pairs added to its outgoing
// metadata.
func (c *outgoing) appendTo(ctx context.Context) context.Context {
	if len(c.kv) == 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, c.kv...)
}
