package clickhouse

import (
	"encoding/hex"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// NamedQuery is one query text the Store runs, with sample arguments, so
// that tests can run every text on other ClickHouse versions (see
// internal/chdb).
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
}

// Queries returns every query text the Store's reads, schema check and
// retention run, bound to s's values where they take arguments. Query
// shapes that vary (FindTraces' filters, the number of ids) are listed in
// their minimal and fullest forms.
func Queries(s Sample) []NamedQuery {
	id := hex.EncodeToString(s.TraceID[:])
	out := []NamedQuery{
		{Name: "schema version", SQL: QuerySchemaVersion},
		{Name: "trace", SQL: QueryTrace, Args: []any{id}},
		{Name: "traces by id (1)", SQL: TracesByIDQuery(1), Args: []any{id}},
		{Name: "traces by id (3)", SQL: TracesByIDQuery(3), Args: []any{id, id, id}},
		{Name: "services", SQL: QueryServices},
		{Name: "operations", SQL: QueryOperations, Args: []any{s.Service}},
		{Name: "operations of a kind", SQL: QueryOperationsKind, Args: []any{s.Service, int8(storage.KindServer)}},
		{Name: "dependencies", SQL: QueryDependencies, Args: DependenciesArgs(s.Start.Add(time.Hour), 2*time.Hour)},
		{Name: "partitions", SQL: QueryPartitions, Args: PartitionsArgs(s.Database,
			[3]string{tableSpans, tableIndex, tableOperations}, s.Start.Add(48*time.Hour))},
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
		sql, args, err := FindTracesQuery(f.q)
		if err != nil {
			// The sample queries are valid; an error here is a bug the
			// caller's check of the query text will show.
			sql = "-- " + err.Error()
		}
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
	}
}
