package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracerdev/tracer/storage"
)

// Jaeger's v3 API writes traces with the OpenTelemetry Collector's pdata
// JSON marshaler (internal/jptrace/traces.go, MarshalJSONPB). These tests
// read Tracer's answer with pdata and write it again with pdata: the two
// must be the same JSON, so a client sees what Jaeger would send for the
// same spans.

func pdataRemarshal(t *testing.T, js []byte, spans int) []byte {
	t.Helper()
	td, err := new(ptrace.JSONUnmarshaler).UnmarshalTraces(js)
	if err != nil {
		t.Fatalf("pdata unmarshal: %v", err)
	}
	out, err := new(ptrace.JSONMarshaler).MarshalTraces(td)
	if err != nil {
		t.Fatalf("pdata marshal: %v", err)
	}
	if td.SpanCount() != spans {
		t.Fatalf("pdata read %d spans, want %d", td.SpanCount(), spans)
	}
	return out
}

// TestOTLPJSONMatchesPdata compares byte for byte for spans without double
// values (pdata writes doubles with six significant digits; Tracer with
// all of them), and as JSON values, doubles within pdata's precision,
// for every span.
func TestOTLPJSONMatchesPdata(t *testing.T) {
	all := richSpans()
	noDoubles := make([]storage.Span, len(all))
	for i := range all {
		noDoubles[i] = all[i].Copy()
		noDoubles[i].Attributes = slices.DeleteFunc(noDoubles[i].Attributes, func(a storage.Attribute) bool {
			return a.Type == storage.TypeDouble || a.Type == storage.TypeArray || a.Type == storage.TypeMap
		})
	}
	t.Run("bytes", func(t *testing.T) {
		ours := encodeTraces(noDoubles, 2)
		if theirs := pdataRemarshal(t, ours, len(all)); !bytes.Equal(ours, theirs) {
			t.Errorf("ours:\n%s\npdata:\n%s", ours, theirs)
		}
	})
	t.Run("values", func(t *testing.T) {
		ours := encodeTraces(all, 2)
		theirs := pdataRemarshal(t, ours, len(all))
		var a, b any
		for _, x := range []struct {
			js  []byte
			dst *any
		}{{ours, &a}, {theirs, &b}} {
			dec := json.NewDecoder(bytes.NewReader(x.js))
			dec.UseNumber()
			if err := dec.Decode(x.dst); err != nil {
				t.Fatal(err)
			}
		}
		if diffs := jsonDiff("", a, b); len(diffs) > 0 {
			t.Errorf("ours and pdata's differ:\n%s", diffs)
		}
	})
}

// jsonDiff lists where two decoded JSON values differ; numbers compare
// within a relative 1e-5.
func jsonDiff(path string, a, b any) []string {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: object vs %T", path, b)}
		}
		var d []string
		for k, v := range a {
			if _, ok := bm[k]; !ok {
				d = append(d, fmt.Sprintf("%s.%s: only ours", path, k))
				continue
			}
			d = append(d, jsonDiff(path+"."+k, v, bm[k])...)
		}
		for k := range bm {
			if _, ok := a[k]; !ok {
				d = append(d, fmt.Sprintf("%s.%s: only pdata's", path, k))
			}
		}
		return d
	case []any:
		bs, ok := b.([]any)
		if !ok || len(bs) != len(a) {
			return []string{fmt.Sprintf("%s: array of %d vs %v", path, len(a), b)}
		}
		var d []string
		for i := range a {
			d = append(d, jsonDiff(fmt.Sprintf("%s[%d]", path, i), a[i], bs[i])...)
		}
		return d
	case json.Number:
		bn, ok := b.(json.Number)
		if !ok {
			return []string{fmt.Sprintf("%s: number %s vs %v", path, a, b)}
		}
		x, _ := a.Float64()
		y, _ := bn.Float64()
		if x != y && math.Abs(x-y) > 1e-5*math.Max(math.Abs(x), math.Abs(y)) {
			return []string{fmt.Sprintf("%s: %s vs %s", path, a, bn)}
		}
		return nil
	}
	if a != b {
		return []string{fmt.Sprintf("%s: %v vs %v", path, a, b)}
	}
	return nil
}
