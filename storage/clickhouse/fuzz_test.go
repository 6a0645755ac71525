package clickhouse

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// FuzzFindTracesQuery checks that user input never reaches the SQL text:
// the query for any values is the query for placeholder values of the same
// shape, and it has one ? per argument.
func FuzzFindTracesQuery(f *testing.F) {
	f.Add("svc", "op", "k", "v", int8(2), int64(5), 10)
	f.Add(`'; DROP TABLE x; --`, `\'`, "?", "\x00", int8(0), int64(-1), 0)
	f.Add("a?b", "{x:String}", "k'", `v\`, int8(9), int64(0), 3)
	f.Fuzz(func(t *testing.T, service, op, key, value string, kind int8, dur int64, limit int) {
		q := storage.Query{
			Service: service, Operation: op, Kind: storage.SpanKind(kind),
			Attributes:  map[string]string{key: value},
			DurationMin: time.Duration(dur), StartMin: time.Unix(0, dur), Limit: limit,
		}
		sql, args := findTracesQuery(q, limit)
		if n := strings.Count(sql, "?"); n != len(args) {
			t.Fatalf("%d placeholders, %d arguments: %s", n, len(args), sql)
		}
		shape := q
		shape.Service, shape.Operation = placeholder(service), placeholder(op)
		shape.Attributes = map[string]string{"k": "v"}
		want, _ := findTracesQuery(shape, limit)
		if sql != want {
			t.Fatalf("query text depends on the values:\n%s\nvs\n%s", sql, want)
		}
	})
}

func placeholder(s string) string {
	if s == "" {
		return ""
	}
	return "x"
}

// FuzzSpanRow feeds rows whose parallel arrays disagree in length: decoding
// reports corruption, never panics.
func FuzzSpanRow(f *testing.F) {
	f.Add(2, 2, 2, 1, 1, 1, 1, 1)
	f.Add(1, 0, 1, 2, 1, 0, 3, 3)
	f.Fuzz(func(t *testing.T, nk, nt, nv, ne, nen, nek, nl, nls int) {
		clamp := func(n int) int { return min(max(n, 0), 8) }
		r := spanRow{
			traceID: strings.Repeat("t", 16), spanID: "s", parentID: "",
			attrKeys: make([]string, clamp(nk)), attrTypes: make([]uint8, clamp(nt)), attrValues: make([]string, clamp(nv)),
			evTimes: make([]int64, clamp(ne)), evNames: make([]string, clamp(nen)),
			evKeys: make([][]string, clamp(nek)), evTypes: make([][]uint8, clamp(ne)), evValues: make([][]string, clamp(ne)),
			lnTrace: make([]string, clamp(nl)), lnSpan: make([]string, clamp(nls)), lnState: make([]string, clamp(nl)),
			lnKeys: make([][]string, clamp(nl)), lnTypes: make([][]uint8, clamp(nl)), lnValues: make([][]string, clamp(nl)),
		}
		consistent := clamp(nk) == clamp(nt) && clamp(nk) == clamp(nv) &&
			clamp(ne) == clamp(nen) && clamp(ne) == clamp(nek) && clamp(nl) == clamp(nls)
		sp, err := r.span()
		if consistent != (err == nil) {
			t.Fatalf("consistent=%v, err=%v", consistent, err)
		}
		if err != nil && !errors.Is(err, errCorrupt) {
			t.Fatalf("err = %v, want errCorrupt", err)
		}
		if err == nil && (len(sp.Attributes) != clamp(nk) || len(sp.Events) != clamp(ne) || len(sp.Links) != clamp(nl)) {
			t.Fatalf("decoded %d attrs, %d events, %d links", len(sp.Attributes), len(sp.Events), len(sp.Links))
		}
	})
}
