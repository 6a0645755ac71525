package query

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/storagetest"
	"github.com/tracerdev/tracer/vclock"
)

// TestOpenAPIDocument checks that the served document parses as OpenAPI
// 3.1, that its paths are exactly the routes tracerRoutes registers, that
// each route answers (none is missing from the mux), that every path
// parameter is declared and every $ref resolves.
func TestOpenAPIDocument(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	code, body, h := f.get(t, "/api/tracer/openapi.yaml")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/yaml") {
		t.Fatalf("status %d, Content-Type %q", code, h.Get("Content-Type"))
	}
	var doc map[string]any
	if err := yaml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi %v, want 3.1.0", doc["openapi"])
	}
	paths, _ := doc["paths"].(map[string]any)
	var routes []string
	for _, r := range tracerRoutes {
		routes = append(routes, r.path)
	}
	documented := slices.Sorted(maps.Keys(paths))
	slices.Sort(routes)
	if !slices.Equal(documented, routes) {
		t.Errorf("documented paths %v\nregistered routes %v", documented, routes)
	}

	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	for _, route := range routes {
		t.Run(route, func(t *testing.T) {
			item, _ := paths[route].(map[string]any)
			if got := slices.Sorted(maps.Keys(item)); !slices.Equal(got, []string{"get"}) {
				t.Errorf("methods %v, want get only (every route is GET)", got)
			}
			op, _ := item["get"].(map[string]any)
			if op["operationId"] == nil || op["summary"] == nil {
				t.Errorf("operationId or summary missing")
			}
			responses, _ := op["responses"].(map[string]any)
			if responses["200"] == nil {
				t.Errorf("no 200 response")
			}
			if route != "/api/tracer/openapi.yaml" && (responses["400"] == nil || responses["500"] == nil) {
				t.Errorf("responses %v: want 400 and 500 documented", slices.Sorted(maps.Keys(responses)))
			}
			declared := map[string]bool{}
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				pm := p.(map[string]any)
				if ref, ok := pm["$ref"].(string); ok {
					pm = trResolveRef(t, doc, ref)
				}
				if pm["in"] == "path" {
					declared[pm["name"].(string)] = true
				}
			}
			if op["parameters"] == nil && pathParam.MatchString(route) {
				t.Errorf("no parameters declared")
			}
			for _, m := range pathParam.FindAllStringSubmatch(route, -1) {
				if !declared[m[1]] {
					t.Errorf("path parameter %s not declared", m[1])
				}
			}
			// The route is registered: it does not answer "no API route".
			code, body, _ := f.get(t, pathParam.ReplaceAllString(route, "0af7651916cd43dd8448eb211c80319c"))
			if strings.Contains(string(body), "no API route") || code == 405 {
				t.Errorf("GET %s: %d %s", route, code, body)
			}
		})
	}

	var refs []string
	trWalkRefs(doc, &refs)
	if len(refs) < 20 {
		t.Fatalf("only %d $refs found: the walk is broken", len(refs))
	}
	for _, ref := range refs {
		trResolveRef(t, doc, ref)
	}
}

func trWalkRefs(v any, refs *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && k == "$ref" {
				*refs = append(*refs, s)
			}
			trWalkRefs(e, refs)
		}
	case []any:
		for _, e := range v {
			trWalkRefs(e, refs)
		}
	}
}

// trResolveRef returns the object a local $ref names, failing the test when
// it names nothing.
func trResolveRef(t *testing.T, doc map[string]any, ref string) map[string]any {
	t.Helper()
	if !strings.HasPrefix(ref, "#/") {
		t.Fatalf("$ref %q is not local", ref)
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok || m[part] == nil {
			t.Fatalf("$ref %q does not resolve", ref)
		}
		cur = m[part]
	}
	m, ok := cur.(map[string]any)
	if !ok {
		t.Fatalf("$ref %q names %T, want an object", ref, cur)
	}
	return m
}

// TestOpenAPIResponses checks answers of every route against the schemas
// the document gives them: every required key there, every key
// documented, every value of its type, enum and pattern.
func TestOpenAPIResponses(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	f := newTrFixture(t, DefaultConfig())
	a1, a2, b, c := trSearchData()
	full := storagetest.FullSpan(a1.TraceID, storage.SpanID{0xf}, a1.SpanID, trNow.Add(-9*time.Minute))
	bad := trSpan(20, "web", "bad clock", storage.KindInternal, trNow.Add(-8*time.Minute), time.Second, storage.StatusOK)
	bad.TraceID = a1.TraceID
	bad.Attributes = []storage.Attribute{{Key: vclock.AttrNode, Value: "a-1"}}
	f.write(t, a1, a2, b, c, full, bad)
	f.write(t, spmSpans()...)
	rng := "start=" + trNow.Add(-3*time.Hour).Format(time.RFC3339) + "&end=" + trNow.Format(time.RFC3339)
	tests := []struct {
		route, path string
		status      int
	}{
		{"/api/tracer/traces/{id}", "/api/tracer/traces/" + a1.TraceID.String(), 200},
		{"/api/tracer/traces/{id}", "/api/tracer/traces/" + storage.TraceID{1}.String(), 404},
		{"/api/tracer/traces/{id}", "/api/tracer/traces/x", 400},
		{"/api/tracer/trace-summaries", "/api/tracer/trace-summaries?" + rng, 200},
		{"/api/tracer/trace-summaries", "/api/tracer/trace-summaries?limit=x", 400},
		{"/api/tracer/red", "/api/tracer/red?" + rng, 200},
		{"/api/tracer/red", "/api/tracer/red?groupByOperation=true&" + rng, 200},
		{"/api/tracer/red", "/api/tracer/red?step=1s", 400},
		{"/api/tracer/attributes/keys", "/api/tracer/attributes/keys?" + rng, 200},
		{"/api/tracer/attributes/keys", "/api/tracer/attributes/keys?scope=x", 400},
		{"/api/tracer/attributes/values", "/api/tracer/attributes/values?key=env&scope=resource&" + rng, 200},
		{"/api/tracer/attributes/values", "/api/tracer/attributes/values", 400},
		{"/api/tracer/dependencies", "/api/tracer/dependencies?" + rng, 200},
		{"/api/tracer/dependencies", "/api/tracer/dependencies?end=x", 400},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			code, body, _ := f.get(t, tc.path)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, body)
			}
			schema := trResolveRef(t, doc, "#/paths/"+strings.ReplaceAll(strings.ReplaceAll(tc.route, "~", "~0"), "/", "~1")+"/get/responses/"+strconv.Itoa(code))
			if ref, ok := schema["$ref"].(string); ok {
				schema = trResolveRef(t, doc, ref)
			}
			content, _ := schema["content"].(map[string]any)
			media, _ := content["application/json"].(map[string]any)
			s, _ := media["schema"].(map[string]any)
			if s == nil {
				t.Fatalf("no application/json schema for %s %d", tc.route, code)
			}
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			sv := trSchemaValidator{t: t, doc: doc}
			if errs := sv.check("", s, v); len(errs) > 0 {
				t.Errorf("answer does not match the document:\n%s", strings.Join(errs, "\n"))
			}
		})
	}
}

// trSchemaValidator checks a JSON value against the subset of JSON Schema
// that openapi.yaml uses.
type trSchemaValidator struct {
	t   *testing.T
	doc map[string]any
}

func (sv trSchemaValidator) check(at string, s map[string]any, v any) []string {
	if ref, ok := s["$ref"].(string); ok {
		// A $ref with sibling keywords (a description) applies the target.
		s = trResolveRef(sv.t, sv.doc, ref)
	}
	if alts, ok := s["oneOf"].([]any); ok {
		matched := 0
		var all []string
		for _, alt := range alts {
			errs := sv.check(at, alt.(map[string]any), v)
			if len(errs) == 0 {
				matched++
			}
			all = append(all, errs...)
		}
		if matched != 1 {
			return append([]string{fmt.Sprintf("%s: %d of oneOf match", at, matched)}, all...)
		}
		return nil
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("%v is not an object", v)
			return errs
		}
		req, _ := s["required"].([]any)
		for _, k := range req {
			if _, ok := m[k.(string)]; !ok {
				bad("required %q missing", k)
			}
		}
		props, _ := s["properties"].(map[string]any)
		extra, _ := s["additionalProperties"].(map[string]any)
		for k, e := range m {
			switch ps, ok := props[k].(map[string]any); {
			case ok:
				errs = append(errs, sv.check(at+"."+k, ps, e)...)
			case extra != nil:
				errs = append(errs, sv.check(at+"."+k, extra, e)...)
			default:
				bad("key %q is not documented", k)
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("%v is not an array", v)
			return errs
		}
		items, _ := s["items"].(map[string]any)
		for i, e := range a {
			errs = append(errs, sv.check(fmt.Sprintf("%s[%d]", at, i), items, e)...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("%v is not a string", v)
			return errs
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			bad("%q does not match %s", str, p)
		}
		if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, any(str)) {
			bad("%q not in %v", str, enum)
		}
	case "integer", "number":
		n, ok := v.(float64)
		if !ok || (s["type"] == "integer" && n != math.Trunc(n)) {
			bad("%v is not an %s", v, s["type"])
			return errs
		}
		if lo, ok := s["minimum"].(int); ok && n < float64(lo) {
			bad("%v under the minimum %d", n, lo)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("%v is not a boolean", v)
		}
	default:
		bad("schema without a type: %v", s)
	}
	return errs
}
