package interceptors_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"

	"github.com/tracerdev/tracer/interceptors"
	"github.com/tracerdev/tracer/propagation"
)

// The server stats handler continues the caller's trace and clock from the
// metadata gRPC hands it at InHeader, and, should another event come
// first, from the metadata in the call's context.
func TestServerHandlerStartsFromInHeader(t *testing.T) {
	const method = "/grpc.testing.TestService/UnaryCall"
	caller := newService(t, "caller", statsMode)
	ctx, parent := caller.tp.Tracer("caller").Start(context.Background(), "parent")
	defer parent.End()
	md := metadata.MD{}
	caller.prop.Inject(ctx, metadataCarrier(md))
	if len(md[propagation.Header]) != 1 {
		t.Fatalf("injected %v, want a clock", md)
	}
	for _, tc := range []struct {
		name     string
		incoming metadata.MD // in the context TagRPC gets
		first    stats.RPCStats
	}{
		{"in header", metadata.MD{}, &stats.InHeader{FullMethod: method, Header: md}},
		{"context", md, &stats.Begin{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newService(t, "srv", statsMode)
			h := interceptors.NewServerHandler(srv.opts()...)
			sctx := h.TagRPC(metadata.NewIncomingContext(context.Background(), tc.incoming), &stats.RPCTagInfo{FullMethodName: method})
			h.HandleRPC(sctx, tc.first)
			got := trace.SpanContextFromContext(sctx)
			if got.TraceID() != parent.SpanContext().TraceID() {
				t.Errorf("server span's trace %s, want the caller's %s", got.TraceID(), parent.SpanContext().TraceID())
			}
			if text, ok := propagation.NewVClock().ResponseClock(sctx); !ok || !containsNode(text, "caller") {
				t.Errorf("server clock %q, want the caller's entry in it", text)
			}
			h.HandleRPC(sctx, &stats.End{BeginTime: time.Now(), EndTime: time.Now()})
			if spans := srv.waitSpans(t, 1); spans[0].Parent().SpanID() != parent.SpanContext().SpanID() {
				t.Errorf("server span's parent %s, want %s", spans[0].Parent().SpanID(), parent.SpanContext().SpanID())
			}
		})
	}
}

type metadataCarrier metadata.MD

func (c metadataCarrier) Get(k string) string {
	if v := metadata.MD(c).Get(k); len(v) > 0 {
		return v[0]
	}
	return ""
}
func (c metadataCarrier) Set(k, v string) { metadata.MD(c).Set(k, v) }
func (c metadataCarrier) Keys() []string {
	var keys []string
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

func containsNode(text, node string) bool {
	for i := 0; i+len(node) < len(text); i++ {
		if text[i:i+len(node)] == node && text[i+len(node)] == ':' && (i == 0 || text[i-1] == ',' || text[i-1] == '!') {
			return true
		}
	}
	return false
}
