package query

import (
	"strconv"
	"strings"

	"github.com/tracerdev/tracer/storage"
)

// applyTags maps search tags (v1 tag= and tags=, v3 query.attributes) onto
// q, the same way for both APIs. Tags that Jaeger derives from OTLP fields
// when it converts a span (traces_to_jaegerproto.go) search those fields, as
// Jaeger's own v2 memory store does (internal/storage/v2/memory/tenant.go,
// validSpan): error=true means status ERROR and error=false status OK;
// span.kind the span kind; otel.status_code (and the memory store's
// span.status) the status. A "resource." prefix searches resource attributes
// only (also the memory store's). Every other tag must match a span
// attribute or, when the span has none of that key, a resource attribute.
// Status tags that disagree are a bad parameter (Jaeger's store would match
// nothing). param names the request parameter in errors.
func applyTags(q *storage.Query, param string, tags map[string]string) error {
	for k, v := range tags {
		switch k {
		case tagError:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return badParam(param, k+":"+v, "error:true or error:false")
			}
			status := storage.OnlyOK
			if b {
				status = storage.OnlyError
			}
			if err := setStatus(q, param, k, v, status); err != nil {
				return err
			}
		case tagStatusCode, "span.status":
			status, err := storage.ParseStatusFilter(strings.ToLower(v))
			if err != nil || status == storage.AnyStatus {
				return badParam(param, k+":"+v, k+":ERROR, "+k+":OK or "+k+":UNSET")
			}
			if err := setStatus(q, param, k, v, status); err != nil {
				return err
			}
		case tagSpanKind:
			kind, err := storage.ParseSpanKind(strings.ToLower(v))
			if err != nil || kind == storage.KindUnspecified {
				return badParam(param, k+":"+v, "span.kind:server, client, producer, consumer or internal")
			}
			q.Kind = kind
		default:
			if rk, ok := strings.CutPrefix(k, "resource."); ok && rk != "" {
				if q.ResourceAttributes == nil {
					q.ResourceAttributes = make(map[string]string)
				}
				q.ResourceAttributes[rk] = v
				continue
			}
			if q.Attributes == nil {
				q.Attributes = make(map[string]string)
			}
			q.Attributes[k] = v
		}
	}
	return nil
}

func setStatus(q *storage.Query, param, k, v string, f storage.StatusFilter) error {
	if q.Status != storage.AnyStatus && q.Status != f {
		return badParam(param, k+":"+v, "a status that agrees with the other status tags (error, otel.status_code, span.status)")
	}
	q.Status = f
	return nil
}
