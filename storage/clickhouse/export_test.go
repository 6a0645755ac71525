package clickhouse

import (
	"context"
	"encoding/hex"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tracerdev/tracer/storage"
)

// Test-only exports: the query texts, for the tests that run them on other
// ClickHouse versions (chdb_test.go).

// NamedQuery is one query text the Store runs, with sample arguments.
type NamedQuery struct {
	Name string
	SQL  string
	Args []any
}

// Sample holds the values Queries binds.
type Sample struct {
	Database  string
	TraceID   storage.TraceID
	Service   string
	Operation string
	AttrKey   string
	AttrValue string
	Start     time.Time // a time inside the sample data's range
	// MaxTraceSpans is the per-trace span limit bound in trace reads.
	MaxTraceSpans int
	// Resource is the hex hash of a resource of the sample data.
	Resource string
	// Attributes are attributes one span of the sample data has (for the
	// searches by several attributes).
	Attributes map[string]string
}

// Queries returns every query text the Store's reads, schema check and
// retention run, bound to s's values where they take arguments. Query
// shapes that vary (FindTraces' filters, the number of ids) are listed in
// their minimal and fullest forms.
func Queries(s Sample) []NamedQuery {
	id := hex.EncodeToString(s.TraceID[:])
	out := []NamedQuery{
		{Name: "schema version", SQL: querySchemaVersion},
		{Name: "has column", SQL: queryHasColumn, Args: []any{s.Database, tableSpans, "written"}},
		{Name: "traces by id (1)", SQL: tracesByIDQuery(1), Args: []any{id, s.MaxTraceSpans + 1}},
		{Name: "traces by id (3)", SQL: tracesByIDQuery(3), Args: []any{id, id, id, s.MaxTraceSpans + 1}},
		{Name: "resources (1)", SQL: resourcesQuery(1), Args: []any{s.Resource}},
		{Name: "resources (2)", SQL: resourcesQuery(2), Args: []any{s.Resource, s.Resource}},
		{Name: "services", SQL: queryServices},
		{Name: "operations", SQL: queryOperations, Args: []any{s.Service}},
		{Name: "operations of a kind", SQL: queryOperationsKind, Args: []any{s.Service, int8(storage.KindServer)}},
		{Name: "partitions", SQL: queryPartitions, Args: partitionsArgs(s.Database, dataTables, s.Start.Add(48*time.Hour))},
		{Name: "server time", SQL: "SELECT now()"},
		{Name: "attributes since", SQL: queryAttributesSince},
		{Name: "parents by id", SQL: parentsQuery(1), Args: []any{id}},
		{Name: "summaries", SQL: summaryQuery(1), Args: []any{id}},
		{Name: "stream", SQL: streamQuery, Args: []any{id, s.MaxTraceSpans + 1}},
	}
	lo, hi := s.Start.Add(-time.Hour).UnixNano(), s.Start.Add(time.Hour).UnixNano()
	q, args := edgeJoinQuery(tableSearch, []nsRange{{lo, hi}}, lo-int64(parentLead), hi)
	out = append(out, NamedQuery{Name: "edge join (one range)", SQL: q, Args: args})
	q, args = edgeJoinQuery(tableSearch, []nsRange{{lo, s.Start.UnixNano()}, {s.Start.UnixNano() + 1, hi}}, math.MinInt64, math.MaxInt64)
	out = append(out, NamedQuery{Name: "edge join (two ranges)", SQL: q, Args: args})
	minute := floorDiv(s.Start.UnixNano(), nsPerMinute) * 60
	out = append(out,
		NamedQuery{Name: "minutes computed", SQL: queryMinutesComputed, Args: minuteArgs(minute-3600, minute+3600)},
		NamedQuery{Name: "minutes written", SQL: queryMinutesWritten, Args: minuteArgs(minute-3600, minute+3600)})
	for _, p := range []struct {
		name    string
		minutes []int64
	}{{"precomputed (one minute)", []int64{minute}}, {"precomputed (two runs)", []int64{minute - 120, minute, minute + 60}}} {
		q, args := precomputedQuery(p.minutes)
		args = append([]any{minute + 3600, minute + 3600}, args...)
		out = append(out, NamedQuery{Name: p.name, SQL: q, Args: append(args, minute-86400)})
	}
	for _, c := range []struct {
		name string
		q    storage.Query
	}{
		{"check (no filter)", storage.Query{}},
		{"check (every filter)", storage.Query{
			Service: s.Service, Operation: s.Operation, Kind: storage.KindServer, Status: storage.OnlyError,
			Attributes:         map[string]string{s.AttrKey: s.AttrValue, "service.name": s.Service},
			ResourceAttributes: map[string]string{"service.name": s.Service},
			DurationMin:        time.Nanosecond, DurationMax: time.Hour,
			StartMin: s.Start.Add(-time.Hour), StartMax: s.Start.Add(time.Hour),
		}},
	} {
		q, args := checkQuery(c.q, 1)
		out = append(out, NamedQuery{Name: c.name, SQL: q, Args: append([]any{id}, args...)})
	}
	resArgs := []any{s.AttrKey, s.AttrValue}
	out = append(out, NamedQuery{Name: "resources matching (1)", SQL: queryResourcesMatching(1), Args: resArgs})
	out = append(out, NamedQuery{Name: "resources matching (2)", SQL: queryResourcesMatching(2), Args: append(resArgs, "service.name", s.Service)})
	for _, a := range []struct {
		name  string
		attrs map[string]string
	}{{"find by attributes (1)", map[string]string{s.AttrKey: s.AttrValue}}, {"find by attributes (2)", s.Attributes}} {
		q, args := findByAttributesQuery(storage.Query{Service: s.Service, Attributes: a.attrs, StartMin: s.Start.Add(-time.Hour), StartMax: s.Start.Add(time.Hour)}, 20)
		out = append(out, NamedQuery{Name: a.name, SQL: q, Args: args})
	}
	for _, r := range []struct {
		name string
		q    storage.REDQuery
	}{
		{"red", storage.REDQuery{Start: s.Start.Add(-time.Hour), End: s.Start.Add(time.Hour), Step: 5 * time.Minute}},
		{"red (1m step)", storage.REDQuery{Kinds: []storage.SpanKind{storage.KindServer}, Start: s.Start.Add(-time.Hour), End: s.Start.Add(time.Hour), Step: time.Minute}},
		{"red (1m step, by operation)", storage.REDQuery{GroupByOperation: true, Start: s.Start.Add(-time.Hour), End: s.Start.Add(time.Hour), Step: time.Minute}},
		{"red (every filter)", storage.REDQuery{Services: []string{s.Service, "other"}, Kinds: []storage.SpanKind{storage.KindServer, storage.KindClient},
			Operation: s.Operation, GroupByOperation: true, Start: s.Start.Add(-time.Hour), End: s.Start.Add(time.Hour), Step: 2 * time.Minute}},
	} {
		q, args := redQuery(r.q, 1000)
		out = append(out, NamedQuery{Name: r.name, SQL: q, Args: args})
	}
	for _, a := range []struct {
		name   string
		q      storage.AttributeQuery
		values bool
	}{
		{"attribute keys", storage.AttributeQuery{}, false},
		{"attribute keys (resource, every filter)", storage.AttributeQuery{Resource: true, Service: s.Service, Prefix: "service.",
			Start: s.Start.Add(-time.Hour), End: s.Start.Add(time.Hour)}, false},
		{"attribute values", storage.AttributeQuery{Key: s.AttrKey, Service: s.Service, Prefix: s.AttrValue[:1]}, true},
	} {
		q, args := attributeListQuery(a.q, a.values, 100)
		out = append(out, NamedQuery{Name: a.name, SQL: q, Args: args})
	}
	finds := []struct {
		name string
		q    storage.Query
	}{
		{"find traces (no filter)", storage.Query{}},
		{"find traces (service)", storage.Query{Service: s.Service}},
		{"find traces (attribute)", storage.Query{Attributes: map[string]string{s.AttrKey: s.AttrValue}}},
		{"find traces (every filter)", storage.Query{
			Service: s.Service, Operation: s.Operation, Kind: storage.KindServer, Status: storage.OnlyError,
			Attributes:         map[string]string{s.AttrKey: s.AttrValue, "service.name": s.Service},
			ResourceAttributes: map[string]string{"service.name": s.Service},
			DurationMin:        time.Nanosecond, DurationMax: time.Hour,
			StartMin: s.Start.Add(-time.Hour), StartMax: s.Start.Add(time.Hour), Limit: 5,
		}},
	}
	for _, f := range finds {
		sql, args := findTracesQuery(f.q, max(f.q.Limit, storage.DefaultLimit))
		out = append(out, NamedQuery{Name: f.name, SQL: sql, Args: args})
	}
	return out
}

// InsertStatements returns the writer's INSERT statements (explicit column
// lists, no data), by table.
func InsertStatements() map[string]string {
	return map[string]string{
		tableSpans:      insertSQL(tableSpans, spanInsertColumns),
		tableSearch:     insertSQL(tableSearch, searchInsertColumns),
		tableOperations: insertSQL(tableOperations, operationInsertColumns),
		tableResources:  insertSQL(tableResources, resourceInsertColumns),
		tableSearchAttr: insertSQL(tableSearchAttr, searchAttrInsertColumns),
		tableAttrValues: insertSQL(tableAttrValues, attrValueInsertColumns),
		tableRED:        insertSQL(tableRED, redInsertColumns),
		tableREDSvc:     insertSQL(tableREDSvc, redServiceInsertColumns),
		tableEdgeWrites: insertSQL(tableEdgeWrites, edgeWriteInsertColumns),
		tableEdges:      insertSQL(tableEdges, edgeInsertColumns),
		tableEdgeMins:   insertSQL(tableEdgeMins, edgeMinuteInsertColumns),
	}
}

// ValueHash is tracer_search_attributes' hash of an attribute value.
func ValueHash(v string) uint64 { return valueHash(v) }

// LatencyBucketOf is storage.LatencyBucket, as tracer_red stores it.
func LatencyBucketOf(d time.Duration) uint16 { return uint16(storage.LatencyBucket(d)) }

// DropPartitionQuery is dropPartitionQuery.
func DropPartitionQuery(database, table string, cluster ClusterConfig, id string) (string, error) {
	return dropPartitionQuery(database, table, cluster, id)
}

// QueryRow runs a query on s's connection (tests look at the tables).
func QueryRow(s *Store, ctx context.Context, query string, args ...any) driver.Row {
	return s.conn.QueryRow(ctx, query, args...)
}

// FreshMinutes returns the minutes of [first, last] (unix seconds) that
// Dependencies reads precomputed.
func FreshMinutes(s *Store, ctx context.Context, first, last int64) ([]int64, error) {
	fresh, _, err := s.freshMinutes(ctx, first, last)
	return fresh, err
}

// Exec runs a statement on s's connection (tests break the tables).
func Exec(s *Store, ctx context.Context, query string) error {
	return s.conn.Exec(ctx, query)
}

// BlockRows is blockRows.
const BlockRows = blockRows
