package otlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// FromJSON converts an OTLP/JSON ExportTraceServiceRequest into protobuf wire
// form, following the OTLP/JSON mapping of the OTLP specification: trace and
// span ids (of spans and links) are hex strings, not base64; enums may be
// ints or names; 64-bit ints may be strings or numbers; keys may be
// lowerCamelCase or the proto field names; unknown fields are ignored.
//
// It is the slow path: it rewrites the ids to what protojson expects and
// decodes with protojson into the generated OTLP types.
func FromJSON(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("otlp/json: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("otlp/json: data after the request object")
	}
	if err := rewriteIDs(root); err != nil {
		return nil, fmt.Errorf("otlp/json: %w", err)
	}
	fixed, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("otlp/json: %w", err)
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(fixed, &req); err != nil {
		return nil, fmt.Errorf("otlp/json: %w", err)
	}
	b, err := proto.Marshal(&req)
	if err != nil {
		return nil, fmt.Errorf("otlp/json: %w", err)
	}
	return b, nil
}

// field returns obj's value under the lowerCamelCase or the proto name.
func jsonField(obj map[string]any, camel, snake string) (string, bool) {
	if _, ok := obj[camel]; ok {
		return camel, true
	}
	if _, ok := obj[snake]; ok {
		return snake, true
	}
	return "", false
}

// rewriteIDs turns the hex ids of spans and links under root into base64,
// which is what protojson reads for bytes fields.
func rewriteIDs(root any) error {
	for _, rs := range jsonList(root, "resourceSpans", "resource_spans") {
		for _, ss := range jsonList(rs, "scopeSpans", "scope_spans") {
			for _, sp := range jsonList(ss, "spans", "spans") {
				if err := rewriteObjIDs(sp, "parentSpanId", "parent_span_id"); err != nil {
					return err
				}
				for _, l := range jsonList(sp, "links", "links") {
					if err := rewriteObjIDs(l); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// jsonList returns the array under obj's key, or nil.
func jsonList(v any, camel, snake string) []any {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	k, ok := jsonField(obj, camel, snake)
	if !ok {
		return nil
	}
	l, _ := obj[k].([]any)
	return l
}

// rewriteObjIDs rewrites traceId and spanId, and the extra (camel, snake)
// key pairs, of the object v from hex to base64.
func rewriteObjIDs(v any, extra ...string) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil // protojson reports the type error
	}
	keys := append([]string{"traceId", "trace_id", "spanId", "span_id"}, extra...)
	for i := 0; i < len(keys); i += 2 {
		k, ok := jsonField(obj, keys[i], keys[i+1])
		if !ok {
			continue
		}
		s, ok := obj[k].(string)
		if !ok {
			continue // null or a wrong type: protojson decides
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return fmt.Errorf("%s %q: not hex", keys[i], s)
		}
		obj[k] = base64.StdEncoding.EncodeToString(b)
	}
	return nil
}
