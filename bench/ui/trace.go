package uibench

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Fanout is the number of children of each span in a Large trace.
const Fanout = 4

// Services is the number of services a Large trace's spans come from.
const Services = 6

// Large returns a trace of n spans with id tid: a tree in which span i's
// parent is span (i-1)/Fanout, so the depth grows as log n; each child
// starts inside its parent and lasts a little under a Fanout-th of it. Span
// i has id i+1; one span in 997 has an error status, one in 50 an event,
// and the services rotate over Services. The spans start at start.
func Large(tid trace.TraceID, n int, start time.Time) tracetest.SpanStubs {
	res := make([]*resource.Resource, Services)
	for k := range res {
		res[k] = resource.NewSchemaless(attribute.String("service.name", fmt.Sprintf("svc-%d", k)))
	}
	begin := make([]time.Duration, n)
	dur := make([]time.Duration, n)
	stubs := make(tracetest.SpanStubs, n)
	for i := range n {
		var parent trace.SpanContext
		if i == 0 {
			dur[0] = 10 * time.Second
		} else {
			p := (i - 1) / Fanout
			slot := time.Duration((i - 1) % Fanout)
			begin[i] = begin[p] + slot*dur[p]/Fanout + dur[p]/100
			dur[i] = max(dur[p]*9/(10*Fanout), time.Microsecond)
			parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: spanID(p), TraceFlags: trace.FlagsSampled})
		}
		s := tracetest.SpanStub{
			Name:        fmt.Sprintf("op-%d", i%40),
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: spanID(i), TraceFlags: trace.FlagsSampled}),
			Parent:      parent,
			SpanKind:    trace.SpanKindInternal,
			StartTime:   start.Add(begin[i]),
			EndTime:     start.Add(begin[i] + dur[i]),
			Attributes: []attribute.KeyValue{
				attribute.Int("span.index", i),
				attribute.String("component", fmt.Sprintf("c-%d", i%13)),
			},
			Resource:             res[i%Services],
			InstrumentationScope: instrumentation.Scope{Name: "uibench"},
		}
		if i%997 == 0 && i > 0 {
			s.Status = sdktrace.Status{Code: codes.Error, Description: "generated error"}
		}
		if i%50 == 0 {
			s.Events = []sdktrace.Event{{Name: "checkpoint", Time: start.Add(begin[i] + dur[i]/2)}}
		}
		stubs[i] = s
	}
	return stubs
}

// SpanID is the id of span i of a Large trace.
func SpanID(i int) string { return spanID(i).String() }

func spanID(i int) trace.SpanID {
	var id trace.SpanID
	binary.BigEndian.PutUint64(id[:], uint64(i)+1)
	return id
}

// Send exports stubs over OTLP/gRPC to grpcAddr (insecure) in requests of
// batch spans each.
func Send(ctx context.Context, grpcAddr string, stubs tracetest.SpanStubs, batch int) error {
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		return fmt.Errorf("otlp exporter: %w", err)
	}
	defer func() { _ = exp.Shutdown(context.Background()) }()
	for i := 0; i < len(stubs); i += batch {
		if err := exp.ExportSpans(ctx, stubs[i:min(i+batch, len(stubs))].Snapshots()); err != nil {
			return fmt.Errorf("export spans %d..: %w", i, err)
		}
	}
	return nil
}
