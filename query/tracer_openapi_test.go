package query

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
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
					pm = resolveRef(t, doc, ref)
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
	walkRefs(doc, &refs)
	if len(refs) < 20 {
		t.Fatalf("only %d $refs found: the walk is broken", len(refs))
	}
	for _, ref := range refs {
		resolveRef(t, doc, ref)
	}
}

func walkRefs(v any, refs *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && k == "$ref" {
				*refs = append(*refs, s)
			}
			walkRefs(e, refs)
		}
	case []any:
		for _, e := range v {
			walkRefs(e, refs)
		}
	}
}

// resolveRef returns the object a local $ref names, failing the test when
// it names nothing.
func resolveRef(t *testing.T, doc map[string]any, ref string) map[string]any {
	t.Helper()
	if !strings.HasPrefix(ref, "#/") {
		t.Fatalf("$ref %q is not local", ref)
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
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
