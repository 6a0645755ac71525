package query

import (
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unsafe"

	"github.com/tracerdev/tracer/storage"
)

// The Jaeger UI's JSON model, written straight from storage spans as Jaeger
// v2.20 writes it for spans stored as OTLP. Followed, in Jaeger v2.20:
//   - internal/uimodel/model.go: the struct tags (key names, what is
//     omitted when empty) and internal/uimodel/converter/v1/json/from_domain.go
//     and process_hashtable.go: hex ids, microseconds, typed values (int64
//     beyond JavaScript's safe integers as strings, binary as base64),
//     processes named p1, p2, ... in order of first use and shared by equal
//     content;
//   - internal/storage/v2/v1adapter/translator.go: tags, references and
//     process tags [] rather than null, span warnings taken from the
//     @jaeger@warnings attribute;
//   - cmd/jaeger/internal/extension/jaegerquery/internal/adjuster: the
//     standard adjusters that work span by span (SortCollections,
//     NormalizeIPAttributes, MoveLibraryAttributes, RemoveEmptySpanLinks);
//     raw=true skips them, as Jaeger does;
//   - internal/jptrace/aggregator.go: the warning on the first span of a
//     truncated trace;
// and the OTLP → Jaeger conversion Jaeger calls,
// opentelemetry-collector-contrib pkg/translator/jaeger/traces_to_jaegerproto.go:
// otel.scope.name/version first, then the attributes, span.kind,
// otel.status_code, error=true, otel.status_description, w3c.tracestate;
// events as logs with an "event" field; the parent as CHILD_OF and links as
// FOLLOWS_FROM (CHILD_OF when the link says opentracing.ref_type=child_of);
// no flags (v0.155.0, the version Jaeger v2.20 builds with, does not map
// them; later versions map the sampled bit).
//
// Jaeger's adjusters that need the whole trace (clock skew, span
// deduplication, client/server span id splitting) are not applied: see the
// README's list of deviations.

// Jaeger's names (traces_to_jaegerproto.go, jptrace/attributes.go).
const (
	tagScopeName    = "otel.scope.name"
	tagScopeVersion = "otel.scope.version"
	tagSpanKind     = "span.kind"
	tagStatusCode   = "otel.status_code"
	tagError        = "error"
	tagStatusDesc   = "otel.status_description"
	tagTraceState   = "w3c.tracestate"
	tagEvent        = "event"
	attrWarnings    = "@jaeger@warnings"
	attrRefType     = "opentracing.ref_type"
	refChildOf      = "child_of"
	attrServiceName = "service.name"

	warnInvalidLink = "Invalid span link removed"
	warnConflict    = "conflicting values between Span and Resource for attribute "
)

// libraryKeys are the attributes MoveLibraryAttributes moves from a span
// to its resource (adjuster/libraryattributes.go).
var libraryKeys = [...]string{
	"telemetry.sdk.language", "telemetry.sdk.name", "telemetry.sdk.version",
	"telemetry.distro.name", "telemetry.distro.version",
}

func isLibraryKey(k string) bool { return slices.Contains(libraryKeys[:], k) }

// jsMaxSafeInteger is the largest integer a JavaScript number holds exactly.
const jsMaxSafeInteger = 1<<53 - 1

// appendJaegerTraceID appends id as Jaeger prints it: 16 hex digits when
// its high half is zero (a 64-bit id), 32 otherwise (model.TraceID.String).
func appendJaegerTraceID(b []byte, id storage.TraceID) []byte {
	if binary.BigEndian.Uint64(id[:8]) == 0 {
		return hex.AppendEncode(b, id[8:])
	}
	return hex.AppendEncode(b, id[:])
}

// jaegerTraceID is appendJaegerTraceID as a string.
func jaegerTraceID(id storage.TraceID) string { return string(appendJaegerTraceID(nil, id)) }

// jaegerTrace writes one trace in Jaeger's model, span by span, so that a
// trace of any size is written in the memory of one span: begin, span for
// each span, end. Processes are collected on the way and written by end
// (after the spans; JSON does not order an object's keys). Not safe for
// concurrent use; reuse it with begin.
type jaegerTrace struct {
	raw   bool
	spans int

	procs   map[string]int // process JSON → index (p1 is index 0)
	procOut []string       // process JSON by index

	// A one-entry cache of the last resource's process: the spans of one
	// resource usually come together and often share the Resource slice.
	lastRes     *storage.Attribute
	lastLen     int
	lastService string
	lastProc    int
	lastOK      bool

	// Scratch, reused across spans.
	attrs    []storage.Attribute
	moved    []storage.Attribute
	res      []storage.Attribute
	events   []storage.Event
	warnings []string
	pbuf     []byte
}

// begin starts the trace id; raw skips Jaeger's adjusters.
func (t *jaegerTrace) begin(b []byte, id storage.TraceID, raw bool) []byte {
	t.raw, t.spans, t.lastOK = raw, 0, false
	clear(t.procs)
	t.procOut = t.procOut[:0]
	b = append(b, `{"traceID":"`...)
	b = appendJaegerTraceID(b, id)
	return append(b, `","spans":[`...)
}

// end closes the spans array and writes the processes.
func (t *jaegerTrace) end(b []byte) []byte {
	b = append(b, `],"processes":{`...)
	for i, p := range t.procOut {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `"p`...)
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, `":`...)
		b = append(b, p...)
	}
	return append(b, `},"warnings":null}`...)
}

// span appends s; extra, when not "", is one more warning (the truncation
// warning Jaeger puts on the first span of a truncated trace).
func (t *jaegerTrace) span(b []byte, s *storage.Span, extra string) []byte {
	if t.spans > 0 {
		b = append(b, ',')
	}
	t.spans++

	// The span's attributes, as Jaeger's adjusters leave them.
	t.attrs, t.moved, t.warnings = t.attrs[:0], t.moved[:0], t.warnings[:0]
	for _, a := range s.Attributes {
		if a.Key == attrWarnings {
			t.warnings = appendStoredWarnings(t.warnings, a)
		}
	}
	if extra != "" {
		t.warnings = append(t.warnings, extra)
	}
	for _, a := range s.Attributes {
		switch {
		case a.Key == attrWarnings:
			continue
		case t.raw:
		case isLibraryKey(a.Key):
			if r, ok := s.ResourceAttribute(a.Key); ok && (r.Type != a.Type || r.Value != a.Value) {
				t.warnings = append(t.warnings, warnConflict+a.Key)
				break
			}
			t.moved = append(t.moved, a)
			continue
		default:
			a = normalizeIP(a)
		}
		t.attrs = append(t.attrs, a)
	}
	links := s.Links
	if !t.raw {
		slices.SortFunc(t.attrs, byKey)
		for _, l := range links {
			if l.TraceID.IsZero() {
				t.warnings = append(t.warnings, warnInvalidLink)
			}
		}
	}
	proc := t.process(s)

	b = append(b, `{"traceID":"`...)
	b = appendJaegerTraceID(b, s.TraceID)
	b = append(b, `","spanID":"`...)
	b = hex.AppendEncode(b, s.SpanID[:])
	b = append(b, `","operationName":`...)
	b = storage.AppendJSONString(b, s.Name)

	b = append(b, `,"references":[`...)
	b = t.appendReferences(b, s)
	b = append(b, `],"startTime":`...)
	b = strconv.AppendInt(b, max(s.StartTime, 0)/1000, 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, max(s.EndTime-s.StartTime, 0)/1000, 10)

	b = append(b, `,"tags":[`...)
	n := 0
	if s.ScopeName != "" {
		b = appendStringKV(b, n > 0, tagScopeName, s.ScopeName)
		n++
	}
	if s.ScopeVersion != "" {
		b = appendStringKV(b, n > 0, tagScopeVersion, s.ScopeVersion)
		n++
	}
	for _, a := range t.attrs {
		b = appendAttr(b, n > 0, a)
		n++
	}
	if k := jaegerSpanKind(s.Kind); k != "" {
		b = appendStringKV(b, n > 0, tagSpanKind, k)
		n++
	}
	switch s.StatusCode {
	case storage.StatusError:
		b = appendStringKV(b, n > 0, tagStatusCode, "ERROR")
		b = append(b, `,{"key":"`+tagError+`","type":"bool","value":true}`...)
		n += 2
	case storage.StatusOK:
		b = appendStringKV(b, n > 0, tagStatusCode, "OK")
		n++
	}
	if s.StatusMessage != "" {
		b = appendStringKV(b, n > 0, tagStatusDesc, s.StatusMessage)
		n++
	}
	if s.TraceState != "" {
		b = appendStringKV(b, n > 0, tagTraceState, s.TraceState)
	}

	b = append(b, `],"logs":[`...)
	b = t.appendLogs(b, s.Events)
	b = append(b, `],"processID":"p`...)
	b = strconv.AppendInt(b, int64(proc+1), 10)
	b = append(b, `","warnings":`...)
	if len(t.warnings) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, w := range t.warnings {
			if i > 0 {
				b = append(b, ',')
			}
			b = storage.AppendJSONString(b, w)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func byKey(a, b storage.Attribute) int { return cmp.Compare(a.Key, b.Key) }

// appendStoredWarnings appends the warnings a @jaeger@warnings attribute
// holds: a list of strings, or one string (jptrace.GetWarnings).
func appendStoredWarnings(ws []string, a storage.Attribute) []string {
	if a.Type == storage.TypeArray {
		var list []any
		if json.Unmarshal([]byte(a.Value), &list) == nil {
			for _, v := range list {
				if s, ok := v.(string); ok {
					ws = append(ws, s)
				}
			}
			return ws
		}
	}
	return append(ws, a.Value)
}

// normalizeIP writes the integer values of the "ip" and "peer.ipv4"
// attributes as dotted quads (adjuster/ipattribute.go).
func normalizeIP(a storage.Attribute) storage.Attribute {
	if a.Key != "ip" && a.Key != "peer.ipv4" {
		return a
	}
	var v uint32
	switch a.Type {
	case storage.TypeInt:
		i, err := strconv.ParseInt(a.Value, 10, 64)
		if err != nil {
			return a
		}
		v = uint32(i)
	case storage.TypeDouble:
		f, err := strconv.ParseFloat(a.Value, 64)
		if err != nil {
			return a
		}
		v = uint32(f)
	default:
		return a
	}
	var q []byte
	for i := 3; i >= 0; i-- {
		q = strconv.AppendUint(q, uint64(v>>(8*i)&0xff), 10)
		if i > 0 {
			q = append(q, '.')
		}
	}
	return storage.Attribute{Key: a.Key, Type: storage.TypeString, Value: string(q)}
}

// jaegerSpanKind is the span.kind tag's value; "" for an unspecified kind,
// which gets no tag.
func jaegerSpanKind(k storage.SpanKind) string {
	switch k {
	case storage.KindInternal, storage.KindServer, storage.KindClient, storage.KindProducer, storage.KindConsumer:
		return k.String()
	}
	return ""
}

func (t *jaegerTrace) appendReferences(b []byte, s *storage.Span) []byte {
	n := 0
	ref := func(typ string, tid storage.TraceID, sid storage.SpanID) {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"refType":"`...)
		b = append(b, typ...)
		b = append(b, `","traceID":"`...)
		b = appendJaegerTraceID(b, tid)
		b = append(b, `","spanID":"`...)
		b = hex.AppendEncode(b, sid[:])
		b = append(b, `"}`...)
	}
	hasParent := !s.ParentSpanID.IsZero()
	parentType := "CHILD_OF"
	// A link to the parent sets the parent reference's type rather than
	// adding a second reference.
	for _, l := range s.Links {
		if hasParent && l.TraceID == s.TraceID && l.SpanID == s.ParentSpanID {
			parentType = linkRefType(l)
		}
	}
	if hasParent {
		ref(parentType, s.TraceID, s.ParentSpanID)
	}
	for _, l := range s.Links {
		if !t.raw && l.TraceID.IsZero() {
			continue
		}
		if hasParent && l.TraceID == s.TraceID && l.SpanID == s.ParentSpanID {
			continue
		}
		ref(linkRefType(l), l.TraceID, l.SpanID)
	}
	return b
}

func linkRefType(l storage.Link) string {
	for _, a := range l.Attributes {
		if a.Key == attrRefType {
			if a.Value == refChildOf {
				return "CHILD_OF"
			}
			break
		}
	}
	return "FOLLOWS_FROM"
}

func (t *jaegerTrace) appendLogs(b []byte, events []storage.Event) []byte {
	if !t.raw && len(events) > 1 {
		t.events = append(t.events[:0], events...)
		slices.SortStableFunc(t.events, func(a, b storage.Event) int { return cmp.Compare(a.Name, b.Name) })
		events = t.events
	}
	for i := range events {
		e := &events[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"timestamp":`...)
		b = strconv.AppendInt(b, max(e.Time, 0)/1000, 10)
		b = append(b, `,"fields":[`...)
		attrs := e.Attributes
		if !t.raw && len(attrs) > 1 {
			t.res = append(t.res[:0], attrs...)
			slices.SortFunc(t.res, byKey)
			attrs = t.res
		}
		n := 0
		if e.Name != "" && !hasKey(attrs, tagEvent) {
			b = appendStringKV(b, false, tagEvent, e.Name)
			n++
		}
		for _, a := range attrs {
			b = appendAttr(b, n > 0, a)
			n++
		}
		b = append(b, "]}"...)
	}
	return b
}

func hasKey(attrs []storage.Attribute, key string) bool {
	for _, a := range attrs {
		if a.Key == key {
			return true
		}
	}
	return false
}

// process returns the index of s's process (its resource, plus the
// library attributes moved off the span), adding it when it is new.
func (t *jaegerTrace) process(s *storage.Span) int {
	res := unsafe.SliceData(s.Resource)
	if len(t.moved) == 0 && t.lastOK && res == t.lastRes && len(s.Resource) == t.lastLen && s.Service == t.lastService {
		return t.lastProc
	}
	t.res = t.res[:0]
	for _, a := range s.Resource {
		if a.Key == attrServiceName {
			continue
		}
		if !t.raw {
			a = normalizeIP(a)
		}
		t.res = append(t.res, a)
	}
	if !t.raw {
		slices.SortFunc(t.res, byKey)
	}
	for _, m := range t.moved {
		if !hasKey(t.res, m.Key) {
			t.res = append(t.res, m)
		}
	}
	p := append(t.pbuf[:0], `{"serviceName":`...)
	p = storage.AppendJSONString(p, s.Service)
	p = append(p, `,"tags":[`...)
	for i, a := range t.res {
		p = appendAttr(p, i > 0, a)
	}
	p = append(p, "]}"...)
	t.pbuf = p

	i, ok := t.procs[string(p)]
	if !ok {
		if t.procs == nil {
			t.procs = make(map[string]int)
		}
		i = len(t.procOut)
		key := string(p)
		t.procs[key] = i
		t.procOut = append(t.procOut, key)
	}
	if len(t.moved) == 0 {
		t.lastRes, t.lastLen, t.lastService, t.lastProc, t.lastOK = res, len(s.Resource), s.Service, i, true
	}
	return i
}

// appendStringKV appends a string tag, after a comma when comma is set.
func appendStringKV(b []byte, comma bool, key, value string) []byte {
	if comma {
		b = append(b, ',')
	}
	b = append(b, `{"key":`...)
	b = storage.AppendJSONString(b, key)
	b = append(b, `,"type":"string","value":`...)
	b = storage.AppendJSONString(b, value)
	return append(b, '}')
}

// appendAttr appends a as a typed Jaeger tag (from_domain.go
// convertKeyValues; arrays and maps are strings holding their JSON, as
// attributeToJaegerProtoTag makes them).
func appendAttr(b []byte, comma bool, a storage.Attribute) []byte {
	if comma {
		b = append(b, ',')
	}
	b = append(b, `{"key":`...)
	b = storage.AppendJSONString(b, a.Key)
	switch a.Type {
	case storage.TypeBool:
		b = append(b, `,"type":"bool","value":`...)
		if a.Value == "true" {
			b = append(b, "true"...)
		} else {
			b = append(b, "false"...)
		}
	case storage.TypeInt:
		b = append(b, `,"type":"int64","value":`...)
		i, err := strconv.ParseInt(a.Value, 10, 64)
		switch {
		case err != nil:
			b = storage.AppendJSONString(b, a.Value)
		case i > jsMaxSafeInteger || i < -jsMaxSafeInteger:
			b = append(b, '"')
			b = strconv.AppendInt(b, i, 10)
			b = append(b, '"')
		default:
			b = strconv.AppendInt(b, i, 10)
		}
	case storage.TypeDouble:
		b = append(b, `,"type":"float64","value":`...)
		f, err := strconv.ParseFloat(a.Value, 64)
		if err != nil && !math.IsInf(f, 0) {
			b = storage.AppendJSONString(b, a.Value)
		} else {
			b = storage.AppendJSONFloat(b, f)
		}
	case storage.TypeBytes:
		b = append(b, `,"type":"binary","value":"`...)
		b = base64.StdEncoding.AppendEncode(b, []byte(a.Value))
		b = append(b, '"')
	default: // strings, and arrays and maps as their JSON text
		b = append(b, `,"type":"string","value":`...)
		b = storage.AppendJSONString(b, a.Value)
	}
	return append(b, '}')
}
