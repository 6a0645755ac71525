package clickhouse_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer"
	"github.com/tracerdev/tracer/internal/chdb"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/clickhouse"
)

// The schema and every query text on current ClickHouse (chdb, see
// internal/chdb): old-only syntax cannot slip in (the other tests run them
// on 18.16).

// insertColumns returns the column list of an INSERT statement.
func insertColumns(insert string) []string {
	open, end := strings.Index(insert, "("), strings.LastIndex(insert, ")")
	if open < 0 || end < open {
		return nil
	}
	return strings.Split(insert[open+1:end], ", ")
}

// schemaStatements splits clickhouse.sql as it is, unchanged.
func schemaStatements(t *testing.T) []chdb.Statement {
	var out []chdb.Statement
	for i, s := range strings.Split(tracer.ClickHouseSchema, ";\n") {
		var lines []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				lines = append(lines, l)
			}
		}
		if sql := strings.TrimSpace(strings.Join(lines, "\n")); sql != "" {
			out = append(out, chdb.Statement{Name: fmt.Sprintf("schema %d", i), SQL: sql})
		}
	}
	if len(out) < 4 {
		t.Fatalf("clickhouse.sql split into %d statements, want at least 4", len(out))
	}
	return out
}

// quotedNumbers matches a JSON number value: 64-bit integers come quoted
// or not depending on the settings.
var quotedNumbers = regexp.MustCompile(`":(-?[0-9]+)`)

func jsonRow(t *testing.T, v map[string]any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCHDBSchemaAndQueries applies clickhouse.sql unchanged (twice: it is
// idempotent) on current ClickHouse, inserts a parent and a child span
// through the writer's own INSERT column lists, and runs every reader query
// text of storage/clickhouse, checking their results.
func TestCHDBSchemaAndQueries(t *testing.T) {
	chdb.Require(t)
	const (
		rawTrace = "0123456789abcdef" // 16 bytes, printable so JSON carries it
		parentID = "parent01"
		childID  = "child001"
		resA     = "resource-front01" // resource hashes, 16 bytes
		resB     = "resource-back001"
	)
	var tid storage.TraceID
	copy(tid[:], rawTrace)
	start := time.Now().Add(-30 * time.Minute).UTC()
	ns := start.UnixNano()
	day := start.Format(time.DateOnly)
	sample := clickhouse.Sample{
		Database: "default", TraceID: tid, Service: "backend", Operation: "GET /x",
		AttrKey: "user.id", AttrValue: "7", Start: start,
		MaxTraceSpans: 10, Resource: hex.EncodeToString([]byte(resB)),
		Attributes: map[string]string{"user.id": "7", "http.method": "GET"},
	}
	minute := start.Unix() / 60 * 60
	hour := start.Unix() / 3600 * 3600

	var stmts []chdb.Statement
	stmts = append(stmts, schemaStatements(t)...)
	stmts = append(stmts, schemaStatements(t)...)
	ins := clickhouse.InsertStatements()
	spanRows := []map[string]any{
		{"day": day, "trace_id": rawTrace, "span_id": parentID, "name": "GET /", "kind": 2, "service": "frontend",
			"start_time": ns, "end_time": ns + 5e6, "resource_hash": resA, "written": 1},
		{"day": day, "trace_id": rawTrace, "span_id": childID, "parent_span_id": parentID, "name": "GET /x", "kind": 2,
			"service": "backend", "start_time": ns + 1e6, "end_time": ns + 3e6, "status_code": 2,
			"attr_keys": []string{"user.id", "http.method"}, "attr_types": []int{2, 0}, "attr_values": []string{"7", "GET"},
			"resource_hash": resB, "written": 1},
	}
	resourceRows := []string{
		jsonRow(t, map[string]any{"day": day, "hash": resA, "attr_keys": []string{"service.name"}, "attr_types": []int{0},
			"attr_values": []string{"frontend"}}),
		jsonRow(t, map[string]any{"day": day, "hash": resB, "attr_keys": []string{"service.name"}, "attr_types": []int{0},
			"attr_values": []string{"backend"}}),
	}
	for range 2 {
		stmts = append(stmts, chdb.Statement{Name: "insert resources",
			SQL: ins["tracer_resources"] + " FORMAT JSONEachRow\n" + strings.Join(resourceRows, "\n")})
	}
	for i, table := range []string{"tracer_spans", "tracer_search", "tracer_operations"} {
		var rows []string
		for _, r := range spanRows {
			row := map[string]any{}
			for k, v := range r {
				if slices.Contains(insertColumns(ins[table]), k) {
					row[k] = v
				}
			}
			if table == "tracer_search" {
				row["duration"] = r["end_time"].(int64) - r["start_time"].(int64)
			}
			rows = append(rows, jsonRow(t, row))
		}
		// Each insert twice: reads must de-duplicate.
		for range 2 {
			stmts = append(stmts, chdb.Statement{Name: fmt.Sprintf("insert %d %s", i, table),
				SQL: ins[table] + " FORMAT JSONEachRow\n" + strings.Join(rows, "\n")})
		}
	}
	// The tables the writer and the dependencies job fill beside the spans.
	computed := time.Now().Add(time.Hour).UTC().Format(time.DateTime)
	extra := map[string][]map[string]any{
		"tracer_search_attributes": {
			{"day": day, "key": "user.id", "value_hash": clickhouse.ValueHash("7"), "start_time": ns + 1e6, "service": "backend"},
			{"day": day, "key": "http.method", "value_hash": clickhouse.ValueHash("GET"), "start_time": ns + 1e6, "service": "backend"},
		},
		"tracer_attribute_values": {
			{"day": day, "hour": hour, "resource": 0, "service": "backend", "key": "user.id", "value": "7"},
			{"day": day, "hour": hour, "resource": 1, "service": "backend", "key": "service.name", "value": "backend"},
		},
		"tracer_red": {
			{"day": day, "minute": minute, "service": "frontend", "name": "GET /", "kind": 2, "calls": 1, "errors": 0,
				"latencyMap.bucket": []uint16{clickhouse.LatencyBucketOf(5 * time.Millisecond)}, "latencyMap.count": []int{1}},
			{"day": day, "minute": minute, "service": "backend", "name": "GET /x", "kind": 2, "calls": 1, "errors": 1,
				"latencyMap.bucket": []uint16{clickhouse.LatencyBucketOf(2 * time.Millisecond)}, "latencyMap.count": []int{1}},
		},
		"tracer_red_services": {
			{"day": day, "minute": minute, "service": "frontend", "kind": 2, "calls": 1, "errors": 0,
				"latencyMap.bucket": []uint16{clickhouse.LatencyBucketOf(5 * time.Millisecond)}, "latencyMap.count": []int{1}},
			{"day": day, "minute": minute, "service": "backend", "kind": 2, "calls": 1, "errors": 1,
				"latencyMap.bucket": []uint16{clickhouse.LatencyBucketOf(2 * time.Millisecond)}, "latencyMap.count": []int{1}},
		},
		"tracer_edge_writes": {{"day": day, "minute": minute}},
		"tracer_edges": {{"day": day, "minute": minute, "parent": "frontend", "child": "backend", "pminute": minute,
			"calls": 1, "errors": 1, "computed": computed}},
		"tracer_edge_minutes": {{"day": day, "minute": minute, "computed": computed}},
	}
	for _, table := range slices.Sorted(maps.Keys(extra)) {
		var rows []string
		for _, r := range extra[table] {
			rows = append(rows, jsonRow(t, r))
		}
		for range 2 {
			stmts = append(stmts, chdb.Statement{Name: "insert " + table,
				SQL: ins[table] + " FORMAT JSONEachRow\n" + strings.Join(rows, "\n")})
		}
	}
	queries := clickhouse.Queries(sample)
	firstQuery := len(stmts)
	for _, q := range queries {
		sql, err := chdb.Bind(q.SQL, q.Args...)
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		stmts = append(stmts, chdb.Statement{Name: q.Name, SQL: sql})
	}
	drop, err := clickhouse.DropPartitionQuery("default", "tracer_spans", clickhouse.ClusterConfig{}, start.Format("20060102"))
	if err != nil {
		t.Fatal(err)
	}
	stmts = append(stmts,
		chdb.Statement{Name: "drop partition", SQL: drop},
		chdb.Statement{Name: "count after drop", SQL: "SELECT count() AS n FROM tracer_spans"})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	version, results, err := chdb.Run(ctx, stmts)
	if err != nil {
		t.Fatalf("chdb: %v", err)
	}
	t.Logf("ClickHouse %s (chdb)", version)
	if !strings.HasPrefix(version, "2") {
		t.Errorf("chdb version %q: want a current (2x.y) release", version)
	}
	byName := map[string]chdb.Result{}
	for _, r := range results {
		if r.Error != "" {
			t.Errorf("%s: %s", r.Name, r.Error)
		}
		byName[r.Name] = r
	}
	if t.Failed() {
		return
	}
	if got := len(results) - firstQuery - 2; got != len(queries) {
		t.Fatalf("ran %d queries, want %d", got, len(queries))
	}
	wantRows := map[string]int{
		"schema version":                          1,
		"has column":                              1,
		"traces by id (1)":                        2,
		"traces by id (3)":                        2,
		"resources (1)":                           1,
		"resources (2)":                           1,
		"services":                                2,
		"operations":                              1,
		"operations of a kind":                    1,
		"find traces (no filter)":                 1,
		"find traces (service)":                   1,
		"find traces (attribute)":                 1,
		"find traces (every filter)":              1,
		"server time":                             1,
		"attributes since":                        1,
		"parents by id":                           2,
		"summaries":                               2,
		"stream":                                  2,
		"edge join (one range)":                   1,
		"edge join (two ranges)":                  1,
		"edge join (index)":                       1,
		"minutes computed":                        1,
		"minutes written":                         1,
		"precomputed (one minute)":                1,
		"precomputed (two runs)":                  1,
		"check (no filter)":                       1,
		"check (every filter)":                    1,
		"resources matching (1)":                  1,
		"resources matching (2)":                  1,
		"find by attributes (1)":                  1,
		"find by attributes (2)":                  1,
		"red":                                     2,
		"red (1m step)":                           4,
		"red (1m step, by operation)":             4,
		"red (every filter)":                      1,
		"attribute keys":                          1,
		"attribute keys (resource, every filter)": 1,
		"attribute values":                        1,
	}
	for _, q := range queries {
		want, ok := wantRows[q.Name]
		if !ok {
			if q.Name != "partitions" {
				t.Errorf("query %q has no expected row count in this test", q.Name)
			}
			continue
		}
		if got := len(byName[q.Name].Rows()); got != want {
			t.Errorf("%s: %d rows, want %d:\n%s", q.Name, got, want, byName[q.Name].Output)
		}
	}
	if got := byName["services"].Output; got != "{\"service\":\"backend\"}\n{\"service\":\"frontend\"}\n" {
		t.Errorf("services = %q", got)
	}
	for _, name := range []string{"edge join (one range)", "edge join (two ranges)", "precomputed (one minute)"} {
		var dep struct{ Parent, Child string }
		if err := json.Unmarshal([]byte(byName[name].Output), &dep); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if dep.Parent != "frontend" || dep.Child != "backend" {
			t.Errorf("%s = %s, want frontend -> backend", name, byName[name].Output)
		}
	}
	for name, want := range map[string]string{
		"summaries": `"errors":"1"`,
		// Inserted twice: a SummingMergeTree counts a retried batch twice.
		"red (every filter)":     `"calls":"2"`,
		"attribute values":       `"value":"7"`,
		"find by attributes (2)": `"trace_id":"` + rawTrace + `"`,
	} {
		if out := byName[name].Output; !strings.Contains(quotedNumbers.ReplaceAllString(out, `":"$1"`), want) {
			t.Errorf("%s = %s, want it to contain %s", name, out, want)
		}
	}
	var found struct {
		TraceID string `json:"trace_id"`
	}
	if err := json.Unmarshal([]byte(byName["find traces (every filter)"].Output), &found); err != nil {
		t.Fatalf("find traces: %v", err)
	}
	if found.TraceID != rawTrace {
		t.Errorf("find traces (every filter) = %q, want %q", found.TraceID, rawTrace)
	}
	if got := byName["count after drop"].Output; !strings.Contains(got, `"n":"0"`) && !strings.Contains(got, `"n":0`) {
		t.Errorf("count after dropping the partition = %s, want 0", got)
	}
	if hex.EncodeToString(tid[:]) != hex.EncodeToString([]byte(rawTrace)) {
		t.Fatal("sample trace id mismatch")
	}
}
