package propagation_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	otelprop "go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/propagation"
)

const (
	tp1 = "00-12345678901234567890123456789012-1234567890123456-01"
	tp0 = "00-12345678901234567890123456789012-1234567890123456-00"
	tid = "12345678901234567890123456789012"
)

// headers builds a multi-valued carrier, as net/http and gRPC metadata give.
func headers(traceparent, tracestate []string) otelprop.HeaderCarrier {
	h := http.Header{}
	for _, v := range traceparent {
		h.Add("traceparent", v)
	}
	for _, v := range tracestate {
		h.Add("tracestate", v)
	}
	return otelprop.HeaderCarrier(h)
}

func members(prefix string, from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		n := string(rune('0'+i/10)) + string(rune('0'+i%10))
		b.WriteString(prefix + n + "=" + n)
	}
	return b.String()
}

// TestTraceContextExtract runs the cases of the W3C test suite
// (w3c/trace-context test/test.py, the Level 2 text at commit e99a85d and
// the key grammar fix of #584) and the cases where OpenTelemetry Go's
// TraceContext falls short. want is the trace id ("" for no remote parent),
// state the tracestate that must come out.
func TestTraceContextExtract(t *testing.T) {
	allKey := "abcdefghijklmnopqrstuvwxyz0123456789_-*/"
	var allValue strings.Builder
	for c := byte(0x20); c <= 0x7e; c++ {
		if c != ',' && c != '=' {
			allValue.WriteByte(c)
		}
	}
	tests := []struct {
		name        string
		traceparent []string
		tracestate  []string
		want        string
		flags       trace.TraceFlags
		state       string
	}{
		// traceparent, from the suite.
		{name: "both missing"},
		{name: "traceparent only", traceparent: []string{tp1}, want: tid, flags: trace.FlagsSampled},
		{name: "traceparent duplicated restarts the trace", traceparent: []string{
			"00-12345678901234567890123456789011-1234567890123456-01", tp1}},
		{name: "traceparent duplicated with equal values", traceparent: []string{tp1, tp1}},
		{name: "version 00 trailing dot", traceparent: []string{tp1 + "."}},
		{name: "version 00 extra field", traceparent: []string{tp1 + "-what-the-future-will-be-like"}},
		{name: "version cc", traceparent: []string{"cc" + tp1[2:]}, want: tid, flags: trace.FlagsSampled},
		{name: "version cc extra field", traceparent: []string{"cc" + tp1[2:] + "-what-the-future-will-be-like"}, want: tid, flags: trace.FlagsSampled},
		{name: "version cc extra without dash", traceparent: []string{"cc" + tp1[2:] + ".what-the-future-will-be-like"}},
		{name: "version ff", traceparent: []string{"ff" + tp1[2:]}},
		{name: "version illegal first", traceparent: []string{".0" + tp1[2:]}},
		{name: "version illegal second", traceparent: []string{"0." + tp1[2:]}},
		{name: "version too long", traceparent: []string{"000" + tp1[2:]}},
		{name: "version too long 4", traceparent: []string{"0000" + tp1[2:]}},
		{name: "version too short", traceparent: []string{"0" + tp1[2:]}},
		{name: "trace id zero", traceparent: []string{"00-00000000000000000000000000000000-1234567890123456-01"}},
		{name: "trace id illegal first", traceparent: []string{"00-.2345678901234567890123456789012-1234567890123456-01"}},
		{name: "trace id illegal last", traceparent: []string{"00-1234567890123456789012345678901.-1234567890123456-01"}},
		{name: "trace id too long", traceparent: []string{"00-123456789012345678901234567890123-1234567890123456-01"}},
		{name: "trace id too short", traceparent: []string{"00-1234567890123456789012345678901-1234567890123456-01"}},
		{name: "trace id upper case", traceparent: []string{"00-1234567890123456789012345678901A-1234567890123456-01"}},
		{name: "parent id zero", traceparent: []string{"00-12345678901234567890123456789012-0000000000000000-01"}},
		{name: "parent id illegal first", traceparent: []string{"00-12345678901234567890123456789012-.234567890123456-01"}},
		{name: "parent id illegal last", traceparent: []string{"00-12345678901234567890123456789012-123456789012345.-01"}},
		{name: "parent id too long", traceparent: []string{"00-12345678901234567890123456789012-12345678901234567-01"}},
		{name: "parent id too short", traceparent: []string{"00-12345678901234567890123456789012-123456789012345-01"}},
		{name: "flags illegal first", traceparent: []string{tp1[:53] + ".0"}},
		{name: "flags illegal last", traceparent: []string{tp1[:53] + "0."}},
		{name: "flags too long", traceparent: []string{tp1[:53] + "001"}},
		{name: "flags too short", traceparent: []string{tp1[:53] + "1"}},
		{name: "OWS leading space", traceparent: []string{" " + tp1}, want: tid, flags: trace.FlagsSampled},
		{name: "OWS leading tab", traceparent: []string{"\t" + tp1}, want: tid, flags: trace.FlagsSampled},
		{name: "OWS trailing space", traceparent: []string{tp1 + " "}, want: tid, flags: trace.FlagsSampled},
		{name: "OWS trailing tab", traceparent: []string{tp1 + "\t"}, want: tid, flags: trace.FlagsSampled},
		{name: "OWS both", traceparent: []string{"\t " + tp1 + " \t"}, want: tid, flags: trace.FlagsSampled},
		{name: "random flag", traceparent: []string{tp1[:53] + "02"}, want: tid, flags: trace.FlagsRandom},
		{name: "reserved flags cleared", traceparent: []string{tp1[:53] + "ff"}, want: tid, flags: trace.FlagsSampled | trace.FlagsRandom},

		// tracestate, from the suite.
		{name: "tracestate without traceparent", tracestate: []string{"foo=1"}},
		{name: "tracestate with traceparent", traceparent: []string{tp0}, tracestate: []string{"foo=1,bar=2"}, want: tid, state: "foo=1,bar=2"},
		{name: "tracestate after invalid traceparent", traceparent: []string{"ff" + tp0[2:]}, tracestate: []string{"foo=1"}},
		{name: "tracestate empty", traceparent: []string{tp0}, tracestate: []string{""}, want: tid},
		{name: "tracestate then empty field", traceparent: []string{tp0}, tracestate: []string{"foo=1", ""}, want: tid, state: "foo=1"},
		{name: "tracestate empty field first", traceparent: []string{tp0}, tracestate: []string{"", "foo=1"}, want: tid, state: "foo=1"},
		{name: "tracestate fields combined in order", traceparent: []string{tp0}, tracestate: []string{"foo=1,bar=2", "rojo=1,congo=2", "baz=3"}, want: tid, state: "foo=1,bar=2,rojo=1,congo=2,baz=3"},
		{name: "duplicated key in a field", traceparent: []string{tp0}, tracestate: []string{"foo=1,foo=1"}, want: tid, state: "foo=1"},
		{name: "duplicated key, left-most kept", traceparent: []string{tp0}, tracestate: []string{"foo=1,foo=2"}, want: tid, state: "foo=1"},
		{name: "duplicated key across fields", traceparent: []string{tp0}, tracestate: []string{"foo=1", "foo=1"}, want: tid, state: "foo=1"},
		{name: "duplicated key across fields, left-most kept", traceparent: []string{tp0}, tracestate: []string{"foo=1", "foo=2"}, want: tid, state: "foo=1"},
		{name: "all allowed characters", traceparent: []string{tp0}, tracestate: []string{allKey + "=" + allValue.String()}, want: tid, state: allKey + "=" + allValue.String()},
		{name: "all allowed characters with vendor", traceparent: []string{tp0}, tracestate: []string{allKey + "@a-z0-9_-*/=" + allValue.String()}, want: tid, state: allKey + "@a-z0-9_-*/=" + allValue.String()},
		{name: "OWS around members", traceparent: []string{tp0}, tracestate: []string{"foo=1 \t , \t bar=2, \t baz=3"}, want: tid, state: "foo=1,bar=2,baz=3"},
		{name: "OWS tabs around members", traceparent: []string{tp0}, tracestate: []string{"foo=1\t \t,\t \tbar=2,\t \tbaz=3"}, want: tid, state: "foo=1,bar=2,baz=3"},
		{name: "OWS leading", traceparent: []string{tp0}, tracestate: []string{" foo=1"}, want: tid, state: "foo=1"},
		{name: "OWS trailing tab", traceparent: []string{tp0}, tracestate: []string{"foo=1\t"}, want: tid, state: "foo=1"},
		{name: "OWS both", traceparent: []string{tp0}, tracestate: []string{"\t foo=1 \t"}, want: tid, state: "foo=1"},
		{name: "whitespace-only member", traceparent: []string{tp0}, tracestate: []string{"foo=1, \t ,bar=2"}, want: tid, state: "foo=1,bar=2"},
		{name: "key with space", traceparent: []string{tp0}, tracestate: []string{"foo =1"}, want: tid},
		{name: "key upper case", traceparent: []string{tp0}, tracestate: []string{"FOO=1"}, want: tid},
		{name: "key with dot", traceparent: []string{tp0}, tracestate: []string{"foo.bar=1"}, want: tid},
		{name: "key starting with at sign", traceparent: []string{tp0}, tracestate: []string{"@foo=1,bar=2"}, want: tid, state: "bar=2"},
		{name: "32 members over 4 fields", traceparent: []string{tp0}, tracestate: []string{members("bar", 1, 10), members("bar", 11, 20), members("bar", 21, 30), members("bar", 31, 32)}, want: tid, state: members("bar", 1, 32)},
		{name: "33 members truncated from the right", traceparent: []string{tp0}, tracestate: []string{members("bar", 1, 10), members("bar", 11, 20), members("bar", 21, 30), members("bar", 31, 33)}, want: tid, state: members("bar", 1, 32)},
		{name: "key of 256", traceparent: []string{tp0}, tracestate: []string{"foo=1", strings.Repeat("z", 256) + "=1"}, want: tid, state: "foo=1," + strings.Repeat("z", 256) + "=1"},
		{name: "key of 257 dropped alone", traceparent: []string{tp0}, tracestate: []string{"foo=1", strings.Repeat("z", 257) + "=1"}, want: tid, state: "foo=1"},
		{name: "tenant key of 256", traceparent: []string{tp0}, tracestate: []string{"foo=1", strings.Repeat("t", 241) + "@" + strings.Repeat("v", 14) + "=1"}, want: tid, state: "foo=1," + strings.Repeat("t", 241) + "@" + strings.Repeat("v", 14) + "=1"},
		{name: "value with equals sign", traceparent: []string{tp0}, tracestate: []string{"foo=bar=baz"}, want: tid},
		{name: "empty value dropped alone", traceparent: []string{tp0}, tracestate: []string{"foo=,bar=3"}, want: tid, state: "bar=3"},

		// One bad member among good ones: OpenTelemetry Go drops them all.
		{name: "invalid member in the middle", traceparent: []string{tp0}, tracestate: []string{"rojo=00f067aa0ba902b7,BAD=1,congo=t61rcWkgMzE"}, want: tid, state: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"},
		{name: "member without equals sign", traceparent: []string{tp0}, tracestate: []string{"rojo=1,garbage,congo=2"}, want: tid, state: "rojo=1,congo=2"},
		{name: "value with control character", traceparent: []string{tp0}, tracestate: []string{"rojo=1\x01,congo=2"}, want: tid, state: "congo=2"},
		// Keys Level 2 allows but trace.TraceState refuses are dropped alone.
		{name: "level 2 key trailing at sign", traceparent: []string{tp0}, tracestate: []string{"foo@=1,bar=2"}, want: tid, state: "bar=2"},
		{name: "level 2 key long vendor", traceparent: []string{tp0}, tracestate: []string{"foo=1", "t@" + strings.Repeat("v", 15) + "=1"}, want: tid, state: "foo=1"},

		// The specification's examples.
		{name: "spec example sampled", traceparent: []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, want: "4bf92f3577b34da6a3ce929d0e0e4736", flags: trace.FlagsSampled},
		{name: "spec example not sampled", traceparent: []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}, want: "4bf92f3577b34da6a3ce929d0e0e4736"},
		{name: "spec example two vendors", traceparent: []string{"00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"}, tracestate: []string{"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}, want: "0af7651916cd43dd8448eb211c80319c", flags: trace.FlagsSampled, state: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"},
		{name: "spec example repeated vendor", traceparent: []string{"00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"}, tracestate: []string{"congo=congosSecondPosition,rojo=rojosFirstPosition,congo=congosFirstPosition"}, want: "0af7651916cd43dd8448eb211c80319c", flags: trace.FlagsSampled, state: "congo=congosSecondPosition,rojo=rojosFirstPosition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := propagation.TraceContext{}.Extract(context.Background(), headers(tt.traceparent, tt.tracestate))
			sc := trace.SpanContextFromContext(ctx)
			if tt.want == "" {
				if sc.IsValid() {
					t.Fatalf("extracted %v, want no remote parent", sc)
				}
				if ctx != context.Background() {
					t.Error("an invalid traceparent changed the context")
				}
				return
			}
			if got := sc.TraceID().String(); got != tt.want {
				t.Fatalf("trace id %q, want %q", got, tt.want)
			}
			if !sc.IsRemote() {
				t.Error("span context is not remote")
			}
			if got := sc.TraceFlags(); got != tt.flags {
				t.Errorf("flags %v, want %v", got, tt.flags)
			}
			if got := sc.TraceState().String(); got != tt.state {
				t.Errorf("tracestate %q, want %q", got, tt.state)
			}
		})
	}
}

// A carrier without ValuesGetter gives one value per key.
func TestTraceContextSingleValueCarrier(t *testing.T) {
	c := otelprop.MapCarrier{"traceparent": " " + tp1, "tracestate": "foo=1,BAD,foo=2,bar=2"}
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), c))
	if sc.TraceID().String() != tid || sc.TraceState().String() != "foo=1,bar=2" {
		t.Errorf("extracted %v with tracestate %q", sc.TraceID(), sc.TraceState().String())
	}
}

// Inject writes what OpenTelemetry Go writes, and what it writes comes back.
func TestTraceContextRoundTrip(t *testing.T) {
	in := headers([]string{"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-future"}, []string{"rojo=1", "congo=2"})
	ctx := propagation.TraceContext{}.Extract(context.Background(), in)
	ours, theirs := otelprop.MapCarrier{}, otelprop.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, ours)
	otelprop.TraceContext{}.Inject(ctx, theirs)
	if ours["traceparent"] != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03" || ours["tracestate"] != "rojo=1,congo=2" {
		t.Errorf("injected %v", ours)
	}
	if ours["traceparent"] != theirs["traceparent"] || ours["tracestate"] != theirs["tracestate"] {
		t.Errorf("injected %v, OpenTelemetry Go injects %v", ours, theirs)
	}
	got, want := (propagation.TraceContext{}).Fields(), (otelprop.TraceContext{}).Fields()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("fields %v, want %v", got, want)
	}
}

// Default and ByName("tracecontext") use the Level 2 propagator.
func TestDefaultUsesLevel2(t *testing.T) {
	byName, err := propagation.ByName("tracecontext")
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]otelprop.TextMapPropagator{"Default": propagation.Default(), "ByName": byName} {
		sc := trace.SpanContextFromContext(p.Extract(context.Background(), headers([]string{tp1, tp1}, nil)))
		if sc.IsValid() {
			t.Errorf("%s: took one of two traceparent values", name)
		}
		sc = trace.SpanContextFromContext(p.Extract(context.Background(), headers([]string{tp1}, []string{"a=1", "b=2"})))
		if got := sc.TraceState().String(); got != "a=1,b=2" {
			t.Errorf("%s: tracestate %q, want a=1,b=2", name, got)
		}
	}
}

// BenchmarkTraceContextExtract compares extraction with OpenTelemetry Go's
// TraceContext on the common case: one traceparent and one valid tracestate
// in an HTTP header carrier.
func BenchmarkTraceContextExtract(b *testing.B) {
	carrier := headers([]string{tp1}, []string{"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"})
	for _, bc := range []struct {
		name string
		prop otelprop.TextMapPropagator
	}{{"otel", otelprop.TraceContext{}}, {"tracer", propagation.TraceContext{}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !trace.SpanContextFromContext(bc.prop.Extract(context.Background(), carrier)).IsValid() {
					b.Fatal("nothing extracted")
				}
			}
		})
	}
}
