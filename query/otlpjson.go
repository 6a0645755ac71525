package query

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strconv"

	"github.com/tracerdev/tracer/storage"
)

// The OTLP/JSON encoding of stored spans: what Jaeger's v3 API answers.
// Jaeger marshals its traces with the OpenTelemetry Collector's pdata JSON
// marshaler (cmd/jaeger/internal/extension/jaegerquery/internal/apiv3/
// http_gateway.go returnTrace, internal/jptrace/traces.go MarshalJSONPB), so
// this file writes what pdata writes (go.opentelemetry.io/collector/pdata
// internal/generated_proto_*.go, MarshalJSON): fields in proto order with
// lowerCamelCase names, zero values left out except resource, scope, status
// and an attribute's value, which are always written; trace and span ids in
// hex, 64-bit integers (times, intValue) as decimal strings, enums (kind,
// status code) and 32-bit counts as numbers, bytes in base64, doubles as
// numbers or "NaN", "Infinity", "-Infinity". One difference: doubles are
// written with every digit (pdata's JSON stream keeps six).
//
// Array and map attribute values are stored as JSON (see storage/json.go and
// otlp.Decode); they are turned back into arrayValue and kvlistValue. That
// form does not keep every type: bytes inside an array or map were stored as
// base64 strings and come back as stringValue, and doubles stored without a
// fraction or exponent (2.0 is stored as 2) come back as intValue. Either
// way decoding the answer stores the same text again.

// otlpWriter appends OTLP/JSON. Its scratch space is reused from one batch to
// the next, so that writing a long trace batch by batch allocates per batch
// only what the batch's groups need.
type otlpWriter struct {
	groups []resourceGroup
	index  map[string]int // resourceKey → index in groups
	key    []byte
}

// resourceGroup is the spans of one resource in a batch, by scope.
type resourceGroup struct {
	span   *storage.Span // the first span: its Resource and Service
	scopes []scopeGroup
}

type scopeGroup struct {
	name, version string
	spans         []int // indexes into the batch
}

// appendResourceSpans appends the ResourceSpans objects of spans, separated
// by commas (the elements of a resourceSpans array, without the brackets):
// one per resource, each with one ScopeSpans per scope, spans in batch order.
func (o *otlpWriter) appendResourceSpans(js []byte, spans []storage.Span) []byte {
	o.group(spans)
	for gi := range o.groups {
		g := &o.groups[gi]
		if gi > 0 {
			js = append(js, ',')
		}
		js = append(js, `{"resource":`...)
		js = appendResource(js, g.span)
		js = append(js, `,"scopeSpans":[`...)
		for si := range g.scopes {
			sc := &g.scopes[si]
			if si > 0 {
				js = append(js, ',')
			}
			js = append(js, `{"scope":{`...)
			comma := false
			if sc.name != "" {
				js = append(js, `"name":`...)
				js = storage.AppendJSONString(js, sc.name)
				comma = true
			}
			if sc.version != "" {
				if comma {
					js = append(js, ',')
				}
				js = append(js, `"version":`...)
				js = storage.AppendJSONString(js, sc.version)
			}
			js = append(js, `},"spans":[`...)
			for k, i := range sc.spans {
				if k > 0 {
					js = append(js, ',')
				}
				js = appendSpan(js, &spans[i])
			}
			js = append(js, "]}"...)
		}
		js = append(js, "]}"...)
	}
	return js
}

// group sorts the batch into o.groups by resource (equal attributes and
// service) and scope (name and version), in the order first seen.
func (o *otlpWriter) group(spans []storage.Span) {
	clear(o.groups)
	o.groups = o.groups[:0]
	if o.index == nil {
		o.index = make(map[string]int)
	}
	clear(o.index)
	gi, si := -1, -1
	for i := range spans {
		sp := &spans[i]
		if gi < 0 || !sameResource(o.groups[gi].span, sp) {
			o.key = resourceKey(o.key[:0], sp)
			g, ok := o.index[string(o.key)]
			if !ok {
				g = len(o.groups)
				o.index[string(o.key)] = g
				o.groups = append(o.groups, resourceGroup{span: sp})
			}
			gi, si = g, -1
		}
		grp := &o.groups[gi]
		if si < 0 || grp.scopes[si].name != sp.ScopeName || grp.scopes[si].version != sp.ScopeVersion {
			si = -1
			for k := range grp.scopes {
				if grp.scopes[k].name == sp.ScopeName && grp.scopes[k].version == sp.ScopeVersion {
					si = k
					break
				}
			}
			if si < 0 {
				si = len(grp.scopes)
				grp.scopes = append(grp.scopes, scopeGroup{name: sp.ScopeName, version: sp.ScopeVersion})
			}
		}
		grp.scopes[si].spans = append(grp.scopes[si].spans, i)
	}
}

// sameResource reports whether b's resource is a's by identity: the same
// slice, as the spans of one resource share it (see storage.Reader).
func sameResource(a, b *storage.Span) bool {
	return a.Service == b.Service && len(a.Resource) == len(b.Resource) &&
		(len(a.Resource) == 0 || &a.Resource[0] == &b.Resource[0])
}

// resourceKey appends a key that equal resources, and only they, share.
func resourceKey(k []byte, sp *storage.Span) []byte {
	str := func(k []byte, s string) []byte {
		return append(binary.AppendUvarint(k, uint64(len(s))), s...)
	}
	k = str(k, sp.Service)
	for _, a := range sp.Resource {
		k = str(k, a.Key)
		k = append(k, byte(a.Type))
		k = str(k, a.Value)
	}
	return k
}

// appendResource appends the Resource of sp's spans. service.name is added
// when the stored resource lacks it, so that the service a client sees is the
// one Tracer's services route lists.
func appendResource(js []byte, sp *storage.Span) []byte {
	js = append(js, '{')
	has := false
	for _, a := range sp.Resource {
		if a.Key == "service.name" {
			has = true
			break
		}
	}
	if len(sp.Resource) > 0 || (!has && sp.Service != "") {
		js = append(js, `"attributes":[`...)
		n := 0
		if !has && sp.Service != "" {
			js = appendKeyValue(js, &storage.Attribute{Key: "service.name", Type: storage.TypeString, Value: sp.Service})
			n++
		}
		for i := range sp.Resource {
			if n > 0 {
				js = append(js, ',')
			}
			js = appendKeyValue(js, &sp.Resource[i])
			n++
		}
		js = append(js, ']')
	}
	return append(js, '}')
}

// appendSpan appends one Span object.
func appendSpan(js []byte, sp *storage.Span) []byte {
	js = append(js, `{"traceId":"`...)
	js = appendHex(js, sp.TraceID[:])
	js = append(js, `","spanId":"`...)
	js = appendHex(js, sp.SpanID[:])
	js = append(js, '"')
	if sp.TraceState != "" {
		js = append(js, `,"traceState":`...)
		js = storage.AppendJSONString(js, sp.TraceState)
	}
	if !sp.ParentSpanID.IsZero() {
		js = append(js, `,"parentSpanId":"`...)
		js = appendHex(js, sp.ParentSpanID[:])
		js = append(js, '"')
	}
	if sp.Flags != 0 {
		js = append(js, `,"flags":`...)
		js = strconv.AppendUint(js, uint64(sp.Flags), 10)
	}
	if sp.Name != "" {
		js = append(js, `,"name":`...)
		js = storage.AppendJSONString(js, sp.Name)
	}
	if sp.Kind != storage.KindUnspecified {
		js = append(js, `,"kind":`...)
		js = strconv.AppendInt(js, int64(sp.Kind), 10)
	}
	js = appendNanos(js, "startTimeUnixNano", sp.StartTime)
	js = appendNanos(js, "endTimeUnixNano", sp.EndTime)
	js = appendAttributes(js, sp.Attributes)
	js = appendCount(js, "droppedAttributesCount", sp.DroppedAttributes)
	if len(sp.Events) > 0 {
		js = append(js, `,"events":[`...)
		for i := range sp.Events {
			if i > 0 {
				js = append(js, ',')
			}
			js = appendEvent(js, &sp.Events[i])
		}
		js = append(js, ']')
	}
	js = appendCount(js, "droppedEventsCount", sp.DroppedEvents)
	if len(sp.Links) > 0 {
		js = append(js, `,"links":[`...)
		for i := range sp.Links {
			if i > 0 {
				js = append(js, ',')
			}
			js = appendLink(js, &sp.Links[i])
		}
		js = append(js, ']')
	}
	js = appendCount(js, "droppedLinksCount", sp.DroppedLinks)
	js = append(js, `,"status":{`...)
	if sp.StatusMessage != "" {
		js = append(js, `"message":`...)
		js = storage.AppendJSONString(js, sp.StatusMessage)
		if sp.StatusCode != storage.StatusUnset {
			js = append(js, ',')
		}
	}
	if sp.StatusCode != storage.StatusUnset {
		js = append(js, `"code":`...)
		js = strconv.AppendInt(js, int64(sp.StatusCode), 10)
	}
	return append(js, "}}"...)
}

func appendEvent(js []byte, e *storage.Event) []byte {
	js = append(js, '{')
	n := len(js)
	if e.Time != 0 {
		js = append(js, `"timeUnixNano":"`...)
		js = strconv.AppendUint(js, uint64(e.Time), 10)
		js = append(js, '"')
	}
	if e.Name != "" {
		if len(js) > n {
			js = append(js, ',')
		}
		js = append(js, `"name":`...)
		js = storage.AppendJSONString(js, e.Name)
	}
	if len(e.Attributes) > 0 {
		if len(js) > n {
			js = append(js, ',')
		}
		js = append(js, `"attributes":[`...)
		js = appendKeyValues(js, e.Attributes)
		js = append(js, ']')
	}
	return append(js, '}')
}

func appendLink(js []byte, l *storage.Link) []byte {
	js = append(js, '{')
	n := len(js)
	if !l.TraceID.IsZero() {
		js = append(js, `"traceId":"`...)
		js = appendHex(js, l.TraceID[:])
		js = append(js, '"')
	}
	if !l.SpanID.IsZero() {
		if len(js) > n {
			js = append(js, ',')
		}
		js = append(js, `"spanId":"`...)
		js = appendHex(js, l.SpanID[:])
		js = append(js, '"')
	}
	if l.TraceState != "" {
		if len(js) > n {
			js = append(js, ',')
		}
		js = append(js, `"traceState":`...)
		js = storage.AppendJSONString(js, l.TraceState)
	}
	if len(l.Attributes) > 0 {
		if len(js) > n {
			js = append(js, ',')
		}
		js = append(js, `"attributes":[`...)
		js = appendKeyValues(js, l.Attributes)
		js = append(js, ']')
	}
	return append(js, '}')
}

// appendNanos appends `,"name":"n"` unless n is zero.
func appendNanos(js []byte, name string, n int64) []byte {
	if n == 0 {
		return js
	}
	js = append(js, `,"`...)
	js = append(js, name...)
	js = append(js, `":"`...)
	js = strconv.AppendUint(js, uint64(n), 10)
	return append(js, '"')
}

// appendCount appends `,"name":n` unless n is zero.
func appendCount(js []byte, name string, n uint32) []byte {
	if n == 0 {
		return js
	}
	js = append(js, `,"`...)
	js = append(js, name...)
	js = append(js, `":`...)
	return strconv.AppendUint(js, uint64(n), 10)
}

// appendAttributes appends `,"attributes":[...]` unless attrs is empty.
func appendAttributes(js []byte, attrs []storage.Attribute) []byte {
	if len(attrs) == 0 {
		return js
	}
	js = append(js, `,"attributes":[`...)
	js = appendKeyValues(js, attrs)
	return append(js, ']')
}

func appendKeyValues(js []byte, attrs []storage.Attribute) []byte {
	for i := range attrs {
		if i > 0 {
			js = append(js, ',')
		}
		js = appendKeyValue(js, &attrs[i])
	}
	return js
}

// appendKeyValue appends one KeyValue. A stored value that is not in its
// type's canonical form (which no path into storage writes) is answered as
// a string, never dropped.
func appendKeyValue(js []byte, a *storage.Attribute) []byte {
	js = append(js, '{')
	if a.Key != "" {
		js = append(js, `"key":`...)
		js = storage.AppendJSONString(js, a.Key)
		js = append(js, ',')
	}
	js = append(js, `"value":{`...)
	switch a.Type {
	case storage.TypeBool:
		if a.Value == "true" || a.Value == "false" {
			js = append(js, `"boolValue":`...)
			js = append(js, a.Value...)
			return append(js, "}}"...)
		}
	case storage.TypeInt:
		if n, err := strconv.ParseInt(a.Value, 10, 64); err == nil {
			js = append(js, `"intValue":"`...)
			js = strconv.AppendInt(js, n, 10)
			return append(js, `"}}`...)
		}
	case storage.TypeDouble:
		if f, err := strconv.ParseFloat(a.Value, 64); err == nil {
			js = append(js, `"doubleValue":`...)
			js = storage.AppendJSONFloat(js, f)
			return append(js, "}}"...)
		}
	case storage.TypeBytes:
		js = append(js, `"bytesValue":"`...)
		js = base64.StdEncoding.AppendEncode(js, []byte(a.Value))
		return append(js, `"}}`...)
	case storage.TypeArray, storage.TypeMap:
		v := []byte(a.Value)
		if json.Valid(v) && (v[0] == '[') == (a.Type == storage.TypeArray) && (v[0] == '[' || v[0] == '{') {
			js, _ = appendJSONAnyValue(js[:len(js)-1], v) // the value's own braces
			return append(js, '}')
		}
	}
	js = append(js, `"stringValue":`...)
	js = storage.AppendJSONString(js, a.Value)
	return append(js, "}}"...)
}

// appendJSONAnyValue appends the AnyValue of the first JSON value in v, which
// must be valid JSON, and returns the rest of v after it. Numbers written as
// otlp.Decode writes an int (strconv.AppendInt) become intValue, other
// numbers doubleValue; null becomes the empty AnyValue.
func appendJSONAnyValue(js, v []byte) ([]byte, []byte) {
	v = skipSpace(v)
	switch v[0] {
	case '{':
		js = append(js, `{"kvlistValue":{`...)
		v = skipSpace(v[1:])
		if v[0] == '}' {
			return append(js, "}}"...), v[1:]
		}
		js = append(js, `"values":[`...)
		for first := true; ; first = false {
			if !first {
				js = append(js, ',')
			}
			end := stringEnd(v)
			js = append(js, '{')
			if end > 2 { // pdata leaves an empty key out
				js = append(js, `"key":`...)
				js = append(js, v[:end]...) // a JSON string, copied as it is
				js = append(js, ',')
			}
			js = append(js, `"value":`...)
			v = skipSpace(v[end:])
			js, v = appendJSONAnyValue(js, v[1:]) // after ':'
			js = append(js, '}')
			v = skipSpace(v)
			if v[0] == '}' {
				return append(js, "]}}"...), v[1:]
			}
			v = skipSpace(v[1:]) // after ','
		}
	case '[':
		js = append(js, `{"arrayValue":{`...)
		v = skipSpace(v[1:])
		if v[0] == ']' {
			return append(js, "}}"...), v[1:]
		}
		js = append(js, `"values":[`...)
		for first := true; ; first = false {
			if !first {
				js = append(js, ',')
			}
			js, v = appendJSONAnyValue(js, v)
			v = skipSpace(v)
			if v[0] == ']' {
				return append(js, "]}}"...), v[1:]
			}
			v = v[1:] // after ','
		}
	case '"':
		end := stringEnd(v)
		js = append(js, `{"stringValue":`...)
		js = append(js, v[:end]...)
		return append(js, '}'), v[end:]
	case 't':
		return append(js, `{"boolValue":true}`...), v[4:]
	case 'f':
		return append(js, `{"boolValue":false}`...), v[5:]
	case 'n':
		return append(js, "{}"...), v[4:]
	}
	end := 0
	for end < len(v) && isNumberByte(v[end]) {
		end++
	}
	num := v[:end]
	if n, err := strconv.ParseInt(string(num), 10, 64); err == nil && strconv.FormatInt(n, 10) == string(num) {
		js = append(js, `{"intValue":"`...)
		js = append(js, num...)
		return append(js, `"}`...), v[end:]
	}
	js = append(js, `{"doubleValue":`...)
	js = append(js, num...)
	return append(js, '}'), v[end:]
}

// stringEnd returns the length of the JSON string that v starts with.
func stringEnd(v []byte) int {
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(v)
}

func skipSpace(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t' || v[0] == '\n' || v[0] == '\r') {
		v = v[1:]
	}
	return v
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func appendHex(js, b []byte) []byte {
	const digits = "0123456789abcdef"
	for _, c := range b {
		js = append(js, digits[c>>4], digits[c&0xf])
	}
	return js
}
