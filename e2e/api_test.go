package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerdev/tracer/vclock"
)

// The readers below parse the query API's answers in Jaeger's documented
// shapes, not through Tracer's own types, so that a drift from Jaeger fails
// here:
//   - v1: the envelope structuredResponse of Jaeger's
//     cmd/jaeger/internal/extension/jaegerquery/internal/http_handler.go
//     around internal/uimodel/model.go's Trace (spans with tags typed
//     "string", "int64", "bool", "float64", references CHILD_OF, processes by
//     processID);
//   - v3: cmd/jaeger/internal/extension/jaegerquery/internal/apiv3/http_gateway.go's
//     returnTrace, an api_v3.GRPCGatewayWrapper: {"result": OTLP JSON
//     TracesData}, ids in hex, int64 values as JSON strings.

// span is one span as an API answered it: the fields the tests compare.
type span struct {
	TraceID, SpanID, ParentID string // lowercase hex; ParentID "" for a root
	Name, Service             string
	Attrs                     map[string]any // string, int64, bool or float64
}

// clock rebuilds the span's vector clock from its attributes.
func (s span) clock() (vclock.SpanClock, error) {
	return vclock.FromAttributes(func(k string) (string, bool) {
		v, ok := s.Attrs[k]
		if !ok {
			return "", false
		}
		return fmt.Sprint(v), true
	})
}

// sentSpan is what an OTel SDK span was when it was exported.
func sentSpan(s sdktrace.ReadOnlySpan) span {
	out := span{
		TraceID: s.SpanContext().TraceID().String(),
		SpanID:  s.SpanContext().SpanID().String(),
		Name:    s.Name(),
		Attrs:   map[string]any{},
	}
	if p := s.Parent(); p.IsValid() {
		out.ParentID = p.SpanID().String()
	}
	for _, kv := range s.Resource().Attributes() {
		if kv.Key == "service.name" {
			out.Service = kv.Value.AsString()
		}
	}
	for _, kv := range s.Attributes() {
		out.Attrs[string(kv.Key)] = kv.Value.AsInterface()
	}
	return out
}

// api is a client of the query API at base (http://host:port).
type api struct {
	base   string
	client *http.Client
}

func newAPI(addr string) *api {
	return &api{base: "http://" + addr, client: &http.Client{Timeout: 30 * time.Second}}
}

// get GETs path and decodes the JSON answer into v; it returns the status.
func (a *api) get(ctx context.Context, path string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode == http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			return resp.StatusCode, fmt.Errorf("GET %s: content type %q, want application/json", path, ct)
		}
		if err := json.Unmarshal(body, v); err != nil {
			return resp.StatusCode, fmt.Errorf("GET %s: %v in %.500s", path, err, body)
		}
	}
	return resp.StatusCode, nil
}

// v1Envelope is Jaeger's structuredResponse.
type v1Envelope struct {
	Data   []v1Trace         `json:"data"`
	Total  int               `json:"total"`
	Limit  int               `json:"limit"`
	Offset int               `json:"offset"`
	Errors []json.RawMessage `json:"errors"`
}

// v1Trace is uimodel.Trace.
type v1Trace struct {
	TraceID string `json:"traceID"`
	Spans   []struct {
		TraceID       string `json:"traceID"`
		SpanID        string `json:"spanID"`
		OperationName string `json:"operationName"`
		References    []struct {
			RefType string `json:"refType"`
			TraceID string `json:"traceID"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
		StartTime uint64       `json:"startTime"`
		Duration  uint64       `json:"duration"`
		Tags      []v1KeyValue `json:"tags"`
		ProcessID string       `json:"processID"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string       `json:"serviceName"`
		Tags        []v1KeyValue `json:"tags"`
	} `json:"processes"`
}

// v1KeyValue is uimodel.KeyValue.
type v1KeyValue struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

func (kv v1KeyValue) value() (any, error) {
	switch kv.Type {
	case "string":
		var s string
		err := json.Unmarshal(kv.Value, &s)
		return s, err
	case "int64":
		return strconv.ParseInt(string(kv.Value), 10, 64)
	case "bool":
		return strconv.ParseBool(string(kv.Value))
	case "float64":
		return strconv.ParseFloat(string(kv.Value), 64)
	}
	return nil, fmt.Errorf("tag %s: type %q, want string, int64, bool or float64", kv.Key, kv.Type)
}

// spans flattens a v1 trace, checking what the shape promises: every span
// in the trace, a process for each, parents as CHILD_OF references.
func (tr v1Trace) spans() ([]span, error) {
	var out []span
	for _, s := range tr.Spans {
		if s.TraceID != tr.TraceID {
			return nil, fmt.Errorf("span %s: traceID %s in trace %s", s.SpanID, s.TraceID, tr.TraceID)
		}
		p, ok := tr.Processes[s.ProcessID]
		if !ok {
			return nil, fmt.Errorf("span %s: processID %q not in processes", s.SpanID, s.ProcessID)
		}
		got := span{TraceID: s.TraceID, SpanID: s.SpanID, Name: s.OperationName, Service: p.ServiceName, Attrs: map[string]any{}}
		for _, r := range s.References {
			if r.RefType == "CHILD_OF" && r.TraceID == s.TraceID {
				got.ParentID = r.SpanID
			}
		}
		for _, kv := range s.Tags {
			v, err := kv.value()
			if err != nil {
				return nil, fmt.Errorf("span %s: %v", s.SpanID, err)
			}
			got.Attrs[kv.Key] = v
		}
		out = append(out, got)
	}
	return out, nil
}

// v1Trace GETs /api/traces/{id}: its spans, or nil with the status when it
// is not 200.
func (a *api) v1Trace(ctx context.Context, id string) ([]span, int, error) {
	var env v1Envelope
	status, err := a.get(ctx, "/api/traces/"+id, &env)
	if err != nil || status != http.StatusOK {
		return nil, status, err
	}
	if len(env.Data) != 1 || len(env.Errors) != 0 {
		return nil, status, fmt.Errorf("GET /api/traces/%s: %d traces and errors %s, want one trace", id, len(env.Data), env.Errors)
	}
	if env.Data[0].TraceID != id {
		return nil, status, fmt.Errorf("GET /api/traces/%s: trace %s", id, env.Data[0].TraceID)
	}
	spans, err := env.Data[0].spans()
	return spans, status, err
}

// v1Search GETs /api/traces?service=... over [start, end] (microseconds,
// as Jaeger takes them) and returns the spans of each trace by id.
func (a *api) v1Search(ctx context.Context, service string, start, end time.Time, limit int) (map[string][]span, error) {
	q := url.Values{
		"service": {service},
		"start":   {strconv.FormatInt(start.UnixMicro(), 10)},
		"end":     {strconv.FormatInt(end.UnixMicro(), 10)},
		"limit":   {strconv.Itoa(limit)},
	}
	var env v1Envelope
	status, err := a.get(ctx, "/api/traces?"+q.Encode(), &env)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK || len(env.Errors) != 0 {
		return nil, fmt.Errorf("GET /api/traces?%s: status %d, errors %s", q.Encode(), status, env.Errors)
	}
	out := map[string][]span{}
	for _, tr := range env.Data {
		if _, dup := out[tr.TraceID]; dup {
			return nil, fmt.Errorf("search %s: trace %s twice", service, tr.TraceID)
		}
		spans, err := tr.spans()
		if err != nil {
			return nil, err
		}
		out[tr.TraceID] = spans
	}
	return out, nil
}

// otlpValue is an OTLP JSON AnyValue.
type otlpValue struct {
	StringValue *string          `json:"stringValue"`
	IntValue    *json.RawMessage `json:"intValue"` // a string in proto3 JSON; a number is accepted too
	BoolValue   *bool            `json:"boolValue"`
	DoubleValue *float64         `json:"doubleValue"`
}

type otlpKeyValue struct {
	Key   string    `json:"key"`
	Value otlpValue `json:"value"`
}

func (kv otlpKeyValue) value() (any, error) {
	v := kv.Value
	switch {
	case v.StringValue != nil:
		return *v.StringValue, nil
	case v.IntValue != nil:
		return strconv.ParseInt(strings.Trim(string(*v.IntValue), `"`), 10, 64)
	case v.BoolValue != nil:
		return *v.BoolValue, nil
	case v.DoubleValue != nil:
		return *v.DoubleValue, nil
	}
	return nil, fmt.Errorf("attribute %s: no string, int, bool or double value", kv.Key)
}

// v3Wrapper is api_v3.GRPCGatewayWrapper around OTLP JSON TracesData.
type v3Wrapper struct {
	Result struct {
		ResourceSpans []struct {
			Resource struct {
				Attributes []otlpKeyValue `json:"attributes"`
			} `json:"resource"`
			ScopeSpans []struct {
				Spans []struct {
					TraceID      string         `json:"traceId"`
					SpanID       string         `json:"spanId"`
					ParentSpanID string         `json:"parentSpanId"`
					Name         string         `json:"name"`
					Attributes   []otlpKeyValue `json:"attributes"`
				} `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	} `json:"result"`
}

// v3Trace GETs /api/v3/traces/{id}: its spans, or nil with the status when
// it is not 200.
func (a *api) v3Trace(ctx context.Context, id string) ([]span, int, error) {
	var w v3Wrapper
	status, err := a.get(ctx, "/api/v3/traces/"+id, &w)
	if err != nil || status != http.StatusOK {
		return nil, status, err
	}
	var out []span
	for _, rs := range w.Result.ResourceSpans {
		service := ""
		for _, kv := range rs.Resource.Attributes {
			if kv.Key == "service.name" && kv.Value.StringValue != nil {
				service = *kv.Value.StringValue
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				got := span{TraceID: strings.ToLower(s.TraceID), SpanID: strings.ToLower(s.SpanID), ParentID: strings.ToLower(s.ParentSpanID),
					Name: s.Name, Service: service, Attrs: map[string]any{}}
				for _, kv := range s.Attributes {
					v, err := kv.value()
					if err != nil {
						return nil, status, fmt.Errorf("span %s: %v", s.SpanID, err)
					}
					got.Attrs[kv.Key] = v
				}
				out = append(out, got)
			}
		}
	}
	return out, status, nil
}

// awaitTrace polls get until it answers at least n spans of trace id (the
// collector writes in batches), for at most a minute.
func awaitTrace(ctx context.Context, t *testing.T, what, id string, n int, get func(context.Context, string) ([]span, int, error)) []span {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		spans, status, err := get(ctx, id)
		if err != nil && ctx.Err() == nil {
			t.Fatalf("%s %s: %v", what, id, err)
		}
		if status == http.StatusOK && len(spans) >= n {
			return spans
		}
		if status != http.StatusOK && status != http.StatusNotFound && status != 0 {
			t.Fatalf("%s %s: status %d", what, id, status)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s %s: %d of %d spans (status %d) within a minute", what, id, len(spans), n, status)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// compareSpans checks that got holds each span of want once, with its name,
// service, parent and every attribute of the same type and value (the
// clock's included), and that the clock rebuilt from got's attributes is
// the one rebuilt from want's. Extra attributes in got are allowed (a
// backend may add otel.scope.name, span.kind, ...), missing ones are not.
func compareSpans(t *testing.T, what string, got, want []span) {
	t.Helper()
	byID := map[string]span{}
	for _, g := range got {
		if _, dup := byID[g.SpanID]; dup {
			t.Errorf("%s: span %s twice", what, g.SpanID)
		}
		byID[g.SpanID] = g
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d spans, want %d", what, len(got), len(want))
	}
	for _, w := range want {
		g, ok := byID[w.SpanID]
		if !ok {
			t.Errorf("%s: span %s (%s) missing", what, w.SpanID, w.Name)
			continue
		}
		if g.TraceID != w.TraceID || g.Name != w.Name || g.Service != w.Service || g.ParentID != w.ParentID {
			t.Errorf("%s: span %s: got trace %s name %q service %q parent %q, want %s %q %q %q",
				what, w.SpanID, g.TraceID, g.Name, g.Service, g.ParentID, w.TraceID, w.Name, w.Service, w.ParentID)
		}
		keys := make([]string, 0, len(w.Attrs))
		for k := range w.Attrs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if gv, ok := g.Attrs[k]; !ok || gv != w.Attrs[k] {
				t.Errorf("%s: span %s attribute %s: got %#v (present %v), want %#v", what, w.SpanID, k, gv, ok, w.Attrs[k])
			}
		}
		wc, werr := w.clock()
		gc, gerr := g.clock()
		if errors.Is(werr, vclock.ErrNoClock) && errors.Is(gerr, vclock.ErrNoClock) {
			continue // a span from an SDK without the clock
		}
		if werr != nil || gerr != nil {
			t.Errorf("%s: span %s clock: got error %v, sent error %v", what, w.SpanID, gerr, werr)
			continue
		}
		if gc.Node != wc.Node || gc.Tick != wc.Tick || gc.Start.String() != wc.Start.String() || gc.End.String() != wc.End.String() {
			t.Errorf("%s: span %s clock: got %s:%d %s..%s, want %s:%d %s..%s", what, w.SpanID,
				gc.Node, gc.Tick, gc.Start, gc.End, wc.Node, wc.Tick, wc.Start, wc.End)
		}
	}
}
