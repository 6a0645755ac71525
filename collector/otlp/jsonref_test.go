package otlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// refFromJSON is the reference conversion (FromJSON before it streamed):
// encoding/json into a generic map, ids rewritten from hex to base64, then
// protojson into the generated types. Tests compare FromJSON with it.
func refFromJSON(body []byte) (*coltracepb.ExportTraceServiceRequest, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the request object")
	}
	if err := refRewriteIDs(root); err != nil {
		return nil, err
	}
	fixed, err := json.Marshal(root)
	if err != nil {
		return nil, err
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(fixed, &req); err != nil {
		return nil, err
	}
	return &req, nil
}

func refList(v any, camel, snake string) []any {
	obj, _ := v.(map[string]any)
	if l, ok := obj[camel].([]any); ok {
		return l
	}
	l, _ := obj[snake].([]any)
	return l
}

func refRewriteIDs(root any) error {
	for _, rs := range refList(root, "resourceSpans", "resource_spans") {
		for _, ss := range refList(rs, "scopeSpans", "scope_spans") {
			for _, sp := range refList(ss, "spans", "spans") {
				if err := refHexToBase64(sp, "traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id"); err != nil {
					return err
				}
				for _, l := range refList(sp, "links", "links") {
					if err := refHexToBase64(l, "traceId", "trace_id", "spanId", "span_id"); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func refHexToBase64(v any, keys ...string) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	for _, k := range keys {
		s, ok := obj[k].(string)
		if !ok {
			continue
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return fmt.Errorf("%s %q: not hex", k, s)
		}
		obj[k] = base64.StdEncoding.EncodeToString(b)
	}
	return nil
}
