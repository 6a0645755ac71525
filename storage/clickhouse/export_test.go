package clickhouse

import (
	"encoding/hex"
	"time"

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
		{Name: "dependencies", SQL: queryDependencies, Args: dependenciesArgs(s.Start.Add(time.Hour), 2*time.Hour)},
		{Name: "partitions", SQL: queryPartitions, Args: partitionsArgs(s.Database, dataTables, s.Start.Add(48*time.Hour))},
	}
	finds := []struct {
		name string
		q    storage.Query
	}{
		{"find traces (no filter)", storage.Query{}},
		{"find traces (service)", storage.Query{Service: s.Service}},
		{"find traces (attribute)", storage.Query{Attributes: map[string]string{s.AttrKey: s.AttrValue}}},
		{"find traces (every filter)", storage.Query{
			Service: s.Service, Operation: s.Operation, Kind: storage.KindServer,
			Attributes:  map[string]string{s.AttrKey: s.AttrValue, "service.name": s.Service},
			DurationMin: time.Nanosecond, DurationMax: time.Hour,
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
		tableIndex:      insertSQL(tableIndex, indexInsertColumns),
		tableOperations: insertSQL(tableOperations, operationInsertColumns),
		tableResources:  insertSQL(tableResources, resourceInsertColumns),
	}
}

// DropPartitionQuery is dropPartitionQuery.
func DropPartitionQuery(database, table string, cluster ClusterConfig, id string) (string, error) {
	return dropPartitionQuery(database, table, cluster, id)
}
