package clickhouse

import (
	"encoding/base64"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/storage"
)

// UnknownService is the service of a span whose resource has no
// service.name.
const UnknownService = "unknown_service"

// Convert appends the storage form of spans to dst and returns it.
// Consecutive spans of one resource share one Resource slice (the writer
// then stores it once): treat it as read-only.
func Convert(dst []storage.Span, spans []sdktrace.ReadOnlySpan) []storage.Span {
	// Spans of one batch usually share a resource: convert it once.
	var (
		lastRes  *sdkresource.Resource
		resAttrs []storage.Attribute
		service  string
	)
	for _, s := range spans {
		if r := s.Resource(); r != lastRes || resAttrs == nil {
			lastRes = r
			resAttrs, service = convertResource(r)
		}
		sc := s.SpanContext()
		sp := storage.Span{
			TraceID:           storage.TraceID(sc.TraceID()),
			SpanID:            storage.SpanID(sc.SpanID()),
			ParentSpanID:      storage.SpanID(s.Parent().SpanID()),
			TraceState:        sc.TraceState().String(),
			Flags:             uint32(sc.TraceFlags()),
			Name:              s.Name(),
			Kind:              convertKind(s.SpanKind()),
			StartTime:         s.StartTime().UnixNano(),
			EndTime:           s.EndTime().UnixNano(),
			StatusCode:        convertStatus(s.Status().Code),
			StatusMessage:     s.Status().Description,
			Service:           service,
			Resource:          resAttrs,
			ScopeName:         s.InstrumentationScope().Name,
			ScopeVersion:      s.InstrumentationScope().Version,
			Attributes:        convertAttrs(s.Attributes()),
			DroppedAttributes: uint32(max(s.DroppedAttributes(), 0)),
			DroppedEvents:     uint32(max(s.DroppedEvents(), 0)),
			DroppedLinks:      uint32(max(s.DroppedLinks(), 0)),
		}
		// As the OTLP exporter sets them: bit 8, "whether the parent is
		// remote is known", always; bit 9 when it is remote.
		sp.Flags |= 0x100
		if s.Parent().IsRemote() {
			sp.Flags |= 0x200
		}
		if ev := s.Events(); len(ev) > 0 {
			sp.Events = make([]storage.Event, len(ev))
			for i, e := range ev {
				sp.Events[i] = storage.Event{Time: e.Time.UnixNano(), Name: e.Name, Attributes: convertAttrs(e.Attributes)}
			}
		}
		if ln := s.Links(); len(ln) > 0 {
			sp.Links = make([]storage.Link, len(ln))
			for i, l := range ln {
				sp.Links[i] = storage.Link{
					TraceID:    storage.TraceID(l.SpanContext.TraceID()),
					SpanID:     storage.SpanID(l.SpanContext.SpanID()),
					TraceState: l.SpanContext.TraceState().String(),
					Attributes: convertAttrs(l.Attributes),
				}
			}
		}
		dst = append(dst, sp)
	}
	return dst
}

func convertResource(r *sdkresource.Resource) ([]storage.Attribute, string) {
	service := UnknownService
	if r == nil {
		return []storage.Attribute{}, service
	}
	kvs := r.Attributes()
	out := make([]storage.Attribute, 0, len(kvs))
	for _, kv := range kvs {
		a, ok := convertKV(kv)
		if !ok {
			continue
		}
		if a.Key == "service.name" && a.Type == storage.TypeString && a.Value != "" {
			service = a.Value
		}
		out = append(out, a)
	}
	return out, service
}

func convertKind(k trace.SpanKind) storage.SpanKind {
	switch k {
	case trace.SpanKindInternal:
		return storage.KindInternal
	case trace.SpanKindServer:
		return storage.KindServer
	case trace.SpanKindClient:
		return storage.KindClient
	case trace.SpanKindProducer:
		return storage.KindProducer
	case trace.SpanKindConsumer:
		return storage.KindConsumer
	}
	return storage.KindUnspecified
}

func convertStatus(c codes.Code) storage.StatusCode {
	switch c {
	case codes.Ok:
		return storage.StatusOK
	case codes.Error:
		return storage.StatusError
	}
	return storage.StatusUnset
}

func convertAttrs(kvs []attribute.KeyValue) []storage.Attribute {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]storage.Attribute, 0, len(kvs))
	for _, kv := range kvs {
		if a, ok := convertKV(kv); ok {
			out = append(out, a)
		}
	}
	return out
}

// convertKV returns the canonical form of one attribute, or false for a
// value nested deeper than storage.MaxValueDepth, which is not stored (the
// collector rejects such a span; here the attribute alone is left out).
func convertKV(kv attribute.KeyValue) (storage.Attribute, bool) {
	a := storage.Attribute{Key: string(kv.Key)}
	v := kv.Value
	switch v.Type() {
	case attribute.BOOL:
		a.Type, a.Value = storage.TypeBool, strconv.FormatBool(v.AsBool())
	case attribute.INT64:
		a.Type, a.Value = storage.TypeInt, strconv.FormatInt(v.AsInt64(), 10)
	case attribute.FLOAT64:
		a.Type, a.Value = storage.TypeDouble, strconv.FormatFloat(v.AsFloat64(), 'g', -1, 64)
	case attribute.STRING:
		a.Type, a.Value = storage.TypeString, v.AsString()
	case attribute.BYTESLICE:
		a.Type, a.Value = storage.TypeBytes, string(v.AsByteSlice())
	case attribute.MAP, attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE, attribute.STRINGSLICE, attribute.SLICE:
		a.Type = storage.TypeArray
		if v.Type() == attribute.MAP {
			a.Type = storage.TypeMap
		}
		js, ok := appendJSON(nil, v, 0)
		if !ok {
			return a, false
		}
		a.Value = string(js)
	default: // EMPTY
		a.Type = storage.TypeString
	}
	return a, true
}

// appendJSON appends v as JSON, with the conventions of the collector's
// OTLP decoder: bytes as base64 strings, non-finite doubles as "NaN",
// "Infinity" and "-Infinity", invalid UTF-8 as U+FFFD. It returns false
// when v nests deeper than storage.MaxValueDepth levels (depth counts the
// levels above v).
func appendJSON(js []byte, v attribute.Value, depth int) ([]byte, bool) {
	if depth >= storage.MaxValueDepth {
		return js, false
	}
	switch v.Type() {
	case attribute.BOOL:
		return strconv.AppendBool(js, v.AsBool()), true
	case attribute.INT64:
		return strconv.AppendInt(js, v.AsInt64(), 10), true
	case attribute.FLOAT64:
		return storage.AppendJSONFloat(js, v.AsFloat64()), true
	case attribute.STRING:
		return storage.AppendJSONString(js, v.AsString()), true
	case attribute.BYTESLICE:
		js = append(js, '"')
		js = base64.StdEncoding.AppendEncode(js, v.AsByteSlice())
		return append(js, '"'), true
	case attribute.BOOLSLICE:
		return appendList(js, v.AsBoolSlice(), strconv.AppendBool), depth+1 < storage.MaxValueDepth
	case attribute.INT64SLICE:
		return appendList(js, v.AsInt64Slice(), func(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }), depth+1 < storage.MaxValueDepth
	case attribute.FLOAT64SLICE:
		return appendList(js, v.AsFloat64Slice(), storage.AppendJSONFloat), depth+1 < storage.MaxValueDepth
	case attribute.STRINGSLICE:
		return appendList(js, v.AsStringSlice(), storage.AppendJSONString[string]), depth+1 < storage.MaxValueDepth
	case attribute.SLICE:
		js = append(js, '[')
		for i, e := range v.AsSlice() {
			if i > 0 {
				js = append(js, ',')
			}
			var ok bool
			if js, ok = appendJSON(js, e, depth+1); !ok {
				return js, false
			}
		}
		return append(js, ']'), true
	case attribute.MAP:
		js = append(js, '{')
		for i, kv := range v.AsMap() {
			if i > 0 {
				js = append(js, ',')
			}
			js = storage.AppendJSONString(js, kv.Key)
			js = append(js, ':')
			var ok bool
			if js, ok = appendJSON(js, kv.Value, depth+1); !ok {
				return js, false
			}
		}
		return append(js, '}'), true
	}
	return append(js, "null"...), true
}

func appendList[T any](js []byte, xs []T, f func([]byte, T) []byte) []byte {
	js = append(js, '[')
	for i, x := range xs {
		if i > 0 {
			js = append(js, ',')
		}
		js = f(js, x)
	}
	return append(js, ']')
}
