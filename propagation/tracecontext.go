package propagation

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// The W3C header names, in the lowercase form the specification recommends.
const (
	traceparentHeader = "traceparent"
	tracestateHeader  = "tracestate"
)

// maxMembers is the most list-members a tracestate may have.
const maxMembers = 32

// TraceContext propagates the W3C Trace Context headers (traceparent and
// tracestate) as Trace Context Level 2 (https://www.w3.org/TR/trace-context-2/)
// says, where OpenTelemetry Go's propagation.TraceContext (whose Inject and
// Fields it uses) falls short on extraction:
//
//   - several traceparent values (header fields) are invalid: combined as RFC
//     9110 combines fields they do not parse, and the specification's test
//     suite (test_traceparent_duplicated) expects the receiver to ignore them
//     and start a new trace. Optional whitespace around the value is ignored;
//     reserved trace-flags bits are cleared, not a reason to reject; a higher
//     version is parsed as version 00 plus fields that follow a dash.
//   - tracestate split over several header fields is combined, in order,
//     into one list ("When receiving multiple tracestate header fields, they
//     MUST be combined into a single header").
//   - one invalid list-member does not discard the others: "Invalid
//     tracestate entries MAY also be discarded", and the processing model
//     only allows dropping the whole header when it cannot be parsed at all.
//     Of a duplicated key the left-most member (the most recent position)
//     is kept ("vendors MAY also discard duplicate keys"); empty and
//     whitespace-only members are allowed; beyond 32 members the right-most
//     are removed, as the truncation rule says. OpenTelemetry Go drops the
//     whole tracestate in each of these cases.
//
// Multiple values are seen only through carriers that implement
// propagation.ValuesGetter (propagation.HeaderCarrier, and the gRPC metadata
// carriers of package interceptors); with others there is one value per key.
//
// One limit remains: the span context holds an OpenTelemetry trace.TraceState,
// which accepts only the Level 1 key grammar (a tenant before "@", at most 14
// characters after it). A member that Level 2 allows but trace.TraceState
// refuses (such as "foo@" or "0abc") is dropped alone.
//
// The zero value is ready to use.
type TraceContext struct{}

var _ propagation.TextMapPropagator = TraceContext{}

// Inject sets traceparent and tracestate from the span context in ctx, as
// OpenTelemetry Go's TraceContext does.
func (TraceContext) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	propagation.TraceContext{}.Inject(ctx, carrier)
}

// Fields returns the two W3C header names.
func (TraceContext) Fields() []string { return propagation.TraceContext{}.Fields() }

// Extract returns ctx with the remote span context in carrier's traceparent
// and tracestate; if traceparent is missing, repeated or invalid, it returns
// ctx unchanged (and tracestate is not read, as the specification requires).
func (TraceContext) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	sc, ok := extractTraceContext(carrier)
	if !ok {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

func extractTraceContext(carrier propagation.TextMapCarrier) (trace.SpanContext, bool) {
	vg, multi := carrier.(propagation.ValuesGetter)
	var h string
	if multi {
		vs := vg.Values(traceparentHeader)
		if len(vs) != 1 {
			return trace.SpanContext{}, false
		}
		h = vs[0]
	} else {
		h = carrier.Get(traceparentHeader)
	}
	scc, ok := parseTraceparent(h)
	if !ok {
		return trace.SpanContext{}, false
	}
	if multi {
		scc.TraceState = parseTraceState(vg.Values(tracestateHeader))
	} else if ts := carrier.Get(tracestateHeader); ts != "" {
		scc.TraceState = parseTraceState([]string{ts})
	}
	scc.Remote = true
	sc := trace.NewSpanContext(scc)
	return sc, sc.IsValid() // all-zero ids are invalid
}

// traceparent layout of version 00: 00-<32 hex>-<16 hex>-<2 hex>.
const traceparentLen = 55

// parseTraceparent parses a traceparent value by the rules of the
// specification's "traceparent Header Field Values" and "Versioning of
// traceparent" sections.
func parseTraceparent(h string) (trace.SpanContextConfig, bool) {
	var scc trace.SpanContextConfig
	h = trimOWS(h)
	if len(h) < traceparentLen || h[2] != '-' || h[35] != '-' || h[52] != '-' {
		return scc, false
	}
	var ver [1]byte
	if !decodeHex(ver[:], h[0:2]) || ver[0] == 0xff {
		return scc, false
	}
	// Version 00 has exactly four fields; a later version may add fields,
	// each after a dash.
	if (ver[0] == 0 && len(h) != traceparentLen) || (len(h) > traceparentLen && h[traceparentLen] != '-') {
		return scc, false
	}
	var flags [1]byte
	if !decodeHex(scc.TraceID[:], h[3:35]) || !decodeHex(scc.SpanID[:], h[36:52]) || !decodeHex(flags[:], h[53:55]) {
		return scc, false
	}
	// Only the flags this version defines travel on; the others are zero on
	// outgoing requests.
	scc.TraceFlags = trace.TraceFlags(flags[0]) & (trace.FlagsSampled | trace.FlagsRandom)
	return scc, true
}

// decodeHex decodes lowercase hex (HEXDIGLC) into dst, len(src) == 2*len(dst).
func decodeHex(dst []byte, src string) bool {
	for i := range dst {
		hi, ok1 := fromHex(src[2*i])
		lo, ok2 := fromHex(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// trimOWS removes optional whitespace (spaces and tabs, RFC 9110 section
// 5.6.3) around s.
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// parseTraceState combines the tracestate fields in order and keeps the
// valid members (see TraceContext).
func parseTraceState(fields []string) trace.TraceState {
	if len(fields) == 0 {
		return trace.TraceState{} // the common case: no tracestate at all
	}
	if len(fields) == 1 {
		// The common case, a valid single field, costs what OpenTelemetry's
		// parser costs; whatever it accepts, the rules below keep whole.
		if ts, err := trace.ParseTraceState(fields[0]); err == nil {
			return ts
		}
	}
	var kept [maxMembers]struct{ key, value string }
	n := 0
fields:
	for _, f := range fields {
		for f != "" {
			if n == maxMembers {
				break fields // truncated from the right
			}
			var m string
			m, f, _ = strings.Cut(f, ",")
			m = trimOWS(m)
			if m == "" {
				continue // empty and whitespace-only members are allowed
			}
			key, value, ok := strings.Cut(m, "=")
			if !ok || !validKey(key) || !validValue(value) {
				continue
			}
			dup := false
			for _, k := range kept[:n] {
				dup = dup || k.key == key
			}
			if !dup {
				kept[n].key, kept[n].value = key, value
				n++
			}
		}
	}
	var b strings.Builder
	for _, m := range kept[:n] {
		// trace.TraceState accepts only Level 1 keys; drop the members it
		// refuses rather than the whole list.
		if _, err := trace.ParseTraceState(m.key + "=" + m.value); err != nil {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.key)
		b.WriteByte('=')
		b.WriteString(m.value)
	}
	ts, _ := trace.ParseTraceState(b.String()) // valid, unique, at most 32 members
	return ts
}

// validKey applies the Level 2 key grammar:
//
//	key     = ( lcalpha / DIGIT ) 0*255 ( keychar )
//	keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
func validKey(k string) bool {
	if k == "" || len(k) > 256 || !(isLower(k[0]) || isDigit(k[0])) {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !isLower(c) && !isDigit(c) && c != '_' && c != '-' && c != '*' && c != '/' && c != '@' {
			return false
		}
	}
	return true
}

// validValue applies the value grammar (OWS already trimmed):
//
//	value    = 0*255(chr) nblk-chr
//	nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
//	chr      = %x20 / nblk-chr
func validValue(v string) bool {
	if v == "" || len(v) > 256 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c > 0x7e || c == ',' || c == '=' {
			return false
		}
	}
	return v[len(v)-1] != ' '
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
