package clickhouse

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// spanSelectColumns is what the reader selects to rebuild a storage.Span.
const spanSelectColumns = "trace_id, span_id, parent_span_id, trace_state, flags, name, kind, " +
	"start_time, end_time, status_code, status_message, service, " +
	"resource_keys, resource_types, resource_values, scope_name, scope_version, " +
	"attr_keys, attr_types, attr_values, " +
	"event_times, event_names, event_attr_keys, event_attr_types, event_attr_values, " +
	"link_trace_ids, link_span_ids, link_trace_states, link_attr_keys, link_attr_types, link_attr_values, " +
	"dropped_attributes, dropped_events, dropped_links"

// The reader's fixed query texts. Every user-supplied value is a bound
// parameter (?); identifiers never come from users. LIMIT 1 BY trace_id,
// span_id (or DISTINCT) removes the copies a retried batch leaves until
// ClickHouse merges them away. Reads by trace id use PREWHERE: the
// primary key picks one granule in every part, and PREWHERE reads the other
// columns only of the granules that hold the trace.
const (
	// QueryTrace selects every span of one trace; the argument is the hex id.
	QueryTrace = "SELECT " + spanSelectColumns + " FROM " + tableSpans +
		" PREWHERE trace_id = toFixedString(unhex(?), 16) LIMIT 1 BY trace_id, span_id"
	// QueryServices lists services.
	QueryServices = "SELECT DISTINCT service FROM " + tableOperations + " ORDER BY service"
	// QueryOperations lists a service's operations of every kind.
	QueryOperations = "SELECT DISTINCT name, kind FROM " + tableOperations +
		" WHERE service = ? ORDER BY name, kind"
	// QueryOperationsKind lists a service's operations of one kind.
	QueryOperationsKind = "SELECT DISTINCT name, kind FROM " + tableOperations +
		" WHERE service = ? AND kind = ? ORDER BY name, kind"
	// QueryDependencies joins child spans that started in a window to their
	// parents and counts edges between distinct services. Parents may have
	// started up to a day before the window, and only parents in traces
	// that have a child in the window are loaded into the join (GLOBAL IN
	// also works across a Distributed table's shards). Arguments: see
	// DependenciesArgs.
	QueryDependencies = "SELECT parent, child, count() AS calls, sum(is_error) AS errors FROM (" +
		"SELECT trace_id, span_id, parent_span_id AS pid, service AS child, status_code = 2 AS is_error FROM " + tableIndex +
		" WHERE " + childWindow + " AND parent_span_id != toFixedString(unhex('0000000000000000'), 8)" +
		" LIMIT 1 BY trace_id, span_id" +
		") AS c ANY INNER JOIN (" +
		"SELECT trace_id, span_id AS pid, service AS parent FROM " + tableIndex +
		" WHERE day >= toDate(?) AND day <= toDate(?) AND start_time >= ? AND start_time <= ?" +
		" AND trace_id GLOBAL IN (SELECT trace_id FROM " + tableIndex + " WHERE " + childWindow + ")" +
		") AS p USING (trace_id, pid) WHERE parent != child GROUP BY parent, child ORDER BY parent, child"

	childWindow = "day >= toDate(?) AND day <= toDate(?) AND start_time >= ? AND start_time <= ?"
)

// Trace returns every stored span of the trace, or storage.ErrNotFound.
func (s *Store) Trace(ctx context.Context, id storage.TraceID) (storage.Trace, error) {
	spans, err := s.querySpans(ctx, QueryTrace, hex.EncodeToString(id[:]))
	if err != nil {
		return storage.Trace{}, fmt.Errorf("trace %s: %w", id, err)
	}
	if len(spans) == 0 {
		return storage.Trace{}, storage.ErrNotFound
	}
	return storage.Trace{ID: id, Spans: spans}, nil
}

// FindTracesQuery returns the query that finds the ids of the traces
// matching q (most recent matching span first) and its arguments.
func FindTracesQuery(q storage.Query) (string, []any, error) {
	limit := q.Limit
	if limit < 0 {
		return "", nil, storage.Permanent(fmt.Errorf("limit %d: must not be negative", limit))
	}
	if limit == 0 {
		limit = storage.DefaultLimit
	}
	var (
		conds []string
		args  []any
	)
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if q.Service != "" {
		add("service = ?", q.Service)
	}
	if q.Operation != "" {
		add("name = ?", q.Operation)
	}
	if q.Kind != storage.KindUnspecified {
		add("kind = ?", int8(q.Kind))
	}
	if !q.StartMin.IsZero() {
		add("day >= toDate(?)", dayOf(q.StartMin.UnixNano()).Format(time.DateOnly))
		add("start_time >= ?", q.StartMin.UnixNano())
	}
	if !q.StartMax.IsZero() {
		add("day <= toDate(?)", dayOf(q.StartMax.UnixNano()).Format(time.DateOnly))
		add("start_time <= ?", q.StartMax.UnixNano())
	}
	if q.DurationMin > 0 {
		add("duration >= ?", int64(q.DurationMin))
	}
	if q.DurationMax > 0 {
		add("duration <= ?", int64(q.DurationMax))
	}
	keys := make([]string, 0, len(q.Attributes))
	for k := range q.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var (
		pre     []string
		preArgs []any
	)
	for _, k := range keys {
		v := q.Attributes[k]
		// The span's attribute, or the resource's when the span has no
		// such key.
		add("(arrayExists((k, v) -> k = ? AND v = ?, attr_keys, attr_values)"+
			" OR (NOT has(attr_keys, ?) AND arrayExists((k, v) -> k = ? AND v = ?, resource_keys, resource_values)))",
			k, v, k, k, v)
		// With a service, the primary key bounds the rows read: check a
		// cheap necessary condition first (PREWHERE reads only the value
		// arrays, and has() needs no lambda). Without one, ClickHouse's own
		// PREWHERE on the time bounds is the better filter.
		if q.Service != "" {
			pre = append(pre, "(has(attr_values, ?) OR has(resource_values, ?))")
			preArgs = append(preArgs, v, v)
		}
	}
	var b strings.Builder
	b.WriteString("SELECT trace_id, max(start_time) AS t FROM " + tableIndex)
	if len(pre) > 0 {
		b.WriteString(" PREWHERE ")
		b.WriteString(strings.Join(pre, " AND "))
		args = append(preArgs, args...)
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(conds, " AND "))
	}
	b.WriteString(" GROUP BY trace_id ORDER BY t DESC, trace_id LIMIT ?")
	args = append(args, limit)
	return b.String(), args, nil
}

// TracesByIDQuery returns the query that reads the spans of n traces; its
// arguments are the n hex trace ids.
func TracesByIDQuery(n int) string {
	ph := strings.TrimSuffix(strings.Repeat("toFixedString(unhex(?), 16), ", n), ", ")
	return "SELECT " + spanSelectColumns + " FROM " + tableSpans +
		" PREWHERE trace_id IN (" + ph + ") LIMIT 1 BY trace_id, span_id"
}

// searchWindows are the widths of the time windows FindTraces searches,
// newest first, before it searches everything older: most searches are
// answered from recent data, and ClickHouse then reads a few day
// partitions' worth of a service's rows instead of all of them.
// Few windows: a search that matches little pays one query per window.
var searchWindows = []time.Duration{time.Hour, 24 * time.Hour}

// FindTraces returns the whole traces that match q, most recently started
// matching span first. It searches time windows going back from q.StartMax
// (or now), 1 hour, then 1 day, then the rest, until it has q.Limit traces;
// a trace's most recent matching span lies in the first window it is found
// in, so the order is the same as one search over the whole range.
func (s *Store) FindTraces(ctx context.Context, q storage.Query) ([]storage.Trace, error) {
	if q.Limit < 0 {
		return nil, storage.Permanent(fmt.Errorf("limit %d: must not be negative", q.Limit))
	}
	limit := q.Limit
	if limit == 0 {
		limit = storage.DefaultLimit
	}
	hi := q.StartMax
	openEnd := hi.IsZero() // no upper bound: spans from clocks ahead of ours count too
	if openEnd {
		hi = time.Now()
	}
	var ids []storage.TraceID
	seen := make(map[storage.TraceID]bool)
	for i := 0; i <= len(searchWindows) && len(ids) < limit; i++ {
		w := q
		// limit, not what is missing: traces found in newer windows may
		// show up again and take places.
		w.Limit = limit
		if i > 0 || !openEnd {
			w.StartMax = hi
		}
		last := i == len(searchWindows)
		if !last {
			lo := hi.Add(-searchWindows[i])
			if !q.StartMin.IsZero() && !lo.After(q.StartMin) {
				last = true // this window reaches q.StartMin: the last one
			} else {
				w.StartMin = lo
			}
		}
		found, err := s.findIDs(ctx, w)
		if err != nil {
			return nil, err
		}
		for _, id := range found {
			if !seen[id] && len(ids) < limit {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		if last {
			break
		}
		hi = w.StartMin.Add(-time.Nanosecond)
	}
	return s.tracesByID(ctx, ids)
}

// findIDs runs one search and returns the trace ids, newest first.
func (s *Store) findIDs(ctx context.Context, q storage.Query) ([]storage.TraceID, error) {
	query, args, err := FindTracesQuery(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("find traces: %w", err)
	}
	defer rows.Close()
	var ids []storage.TraceID
	for rows.Next() {
		var raw string
		var t int64
		if err := rows.Scan(&raw, &t); err != nil {
			return nil, fmt.Errorf("find traces: %w", err)
		}
		var id storage.TraceID
		copy(id[:], raw)
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find traces: %w", err)
	}
	return ids, nil
}

// tracesByID reads whole traces, in the order of ids.
func (s *Store) tracesByID(ctx context.Context, ids []storage.TraceID) ([]storage.Trace, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	hexIDs := make([]any, len(ids))
	for i, id := range ids {
		hexIDs[i] = hex.EncodeToString(id[:])
	}
	spans, err := s.querySpans(ctx, TracesByIDQuery(len(ids)), hexIDs...)
	if err != nil {
		return nil, fmt.Errorf("find traces: %w", err)
	}
	byID := make(map[storage.TraceID][]storage.Span, len(ids))
	for _, sp := range spans {
		byID[sp.TraceID] = append(byID[sp.TraceID], sp)
	}
	out := make([]storage.Trace, 0, len(ids))
	for _, id := range ids {
		// A trace purged between the two queries is left out.
		if sp := byID[id]; len(sp) > 0 {
			out = append(out, storage.Trace{ID: id, Spans: sp})
		}
	}
	return out, nil
}

// Services returns the service names seen, sorted.
func (s *Store) Services(ctx context.Context) ([]string, error) {
	rows, err := s.conn.Query(ctx, QueryServices)
	if err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var svc string
		if err := rows.Scan(&svc); err != nil {
			return nil, fmt.Errorf("services: %w", err)
		}
		out = append(out, svc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	// ClickHouse orders bytes as Go does; sort anyway so the contract does
	// not depend on the server's collation.
	slices.Sort(out)
	return out, nil
}

// Operations returns the operations seen for service, sorted by name then
// kind; kind storage.KindUnspecified means every kind.
func (s *Store) Operations(ctx context.Context, service string, kind storage.SpanKind) ([]storage.Operation, error) {
	query, args := QueryOperations, []any{service}
	if kind != storage.KindUnspecified {
		query, args = QueryOperationsKind, []any{service, int8(kind)}
	}
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("operations: %w", err)
	}
	defer rows.Close()
	var out []storage.Operation
	for rows.Next() {
		var name string
		var k int8
		if err := rows.Scan(&name, &k); err != nil {
			return nil, fmt.Errorf("operations: %w", err)
		}
		out = append(out, storage.Operation{Name: name, Kind: storage.SpanKind(k)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("operations: %w", err)
	}
	slices.SortFunc(out, func(a, b storage.Operation) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return int(a.Kind) - int(b.Kind)
	})
	return out, nil
}

// parentLead is how long before the window a parent span may have started
// and still count (the contract asks for at least a day).
const parentLead = 24 * time.Hour

// DependenciesArgs returns QueryDependencies' arguments for a window:
// the child window (first day, last day, start ns, end ns), the parents'
// range (the same, from parentLead before the window), the child window
// again.
func DependenciesArgs(end time.Time, lookback time.Duration) []any {
	begin := end.Add(-lookback)
	window := func(from time.Time) []any {
		return []any{dayOf(from.UnixNano()).Format(time.DateOnly), dayOf(end.UnixNano()).Format(time.DateOnly),
			from.UnixNano(), end.UnixNano()}
	}
	args := window(begin)
	args = append(args, window(begin.Add(-parentLead))...)
	return append(args, window(begin)...)
}

// Dependencies returns the edges between distinct services over spans that
// started in [end-lookback, end], sorted by parent then child.
func (s *Store) Dependencies(ctx context.Context, end time.Time, lookback time.Duration) ([]storage.Dependency, error) {
	if lookback < 0 {
		return nil, storage.Permanent(fmt.Errorf("lookback %s: must not be negative", lookback))
	}
	rows, err := s.conn.Query(ctx, QueryDependencies, DependenciesArgs(end, lookback)...)
	if err != nil {
		return nil, fmt.Errorf("dependencies: %w", err)
	}
	defer rows.Close()
	var out []storage.Dependency
	for rows.Next() {
		var d storage.Dependency
		if err := rows.Scan(&d.Parent, &d.Child, &d.CallCount, &d.ErrorCount); err != nil {
			return nil, fmt.Errorf("dependencies: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dependencies: %w", err)
	}
	slices.SortFunc(out, func(a, b storage.Dependency) int {
		if c := strings.Compare(a.Parent, b.Parent); c != 0 {
			return c
		}
		return strings.Compare(a.Child, b.Child)
	})
	return out, nil
}

// querySpans runs a query selecting spanSelectColumns.
func (s *Store) querySpans(ctx context.Context, query string, args ...any) ([]storage.Span, error) {
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.Span
	for rows.Next() {
		var r spanRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		sp, err := r.span()
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, rows.Err()
}

// spanRow is one row of spanSelectColumns.
type spanRow struct {
	traceID, spanID, parentID, traceState string
	flags                                 uint32
	name                                  string
	kind                                  int8
	start, end                            int64
	status                                int8
	statusMsg, service                    string
	resKeys                               []string
	resTypes                              []uint8
	resValues                             []string
	scopeName, scopeVersion               string
	attrKeys                              []string
	attrTypes                             []uint8
	attrValues                            []string
	evTimes                               []int64
	evNames                               []string
	evKeys                                [][]string
	evTypes                               [][]uint8
	evValues                              [][]string
	lnTrace, lnSpan, lnState              []string
	lnKeys                                [][]string
	lnTypes                               [][]uint8
	lnValues                              [][]string
	dropA, dropE, dropL                   uint32
}

func (r *spanRow) dest() []any {
	return []any{
		&r.traceID, &r.spanID, &r.parentID, &r.traceState, &r.flags, &r.name, &r.kind,
		&r.start, &r.end, &r.status, &r.statusMsg, &r.service,
		&r.resKeys, &r.resTypes, &r.resValues, &r.scopeName, &r.scopeVersion,
		&r.attrKeys, &r.attrTypes, &r.attrValues,
		&r.evTimes, &r.evNames, &r.evKeys, &r.evTypes, &r.evValues,
		&r.lnTrace, &r.lnSpan, &r.lnState, &r.lnKeys, &r.lnTypes, &r.lnValues,
		&r.dropA, &r.dropE, &r.dropL,
	}
}

var errCorrupt = errors.New("corrupt row: parallel arrays differ in length")

func joinAttrs(keys []string, types []uint8, values []string) ([]storage.Attribute, error) {
	if len(keys) != len(types) || len(keys) != len(values) {
		return nil, errCorrupt
	}
	if len(keys) == 0 {
		return nil, nil
	}
	out := make([]storage.Attribute, len(keys))
	for i := range keys {
		out[i] = storage.Attribute{Key: keys[i], Type: storage.ValueType(types[i]), Value: values[i]}
	}
	return out, nil
}

func (r *spanRow) span() (storage.Span, error) {
	sp := storage.Span{
		TraceState:        r.traceState,
		Flags:             r.flags,
		Name:              r.name,
		Kind:              storage.SpanKind(r.kind),
		StartTime:         r.start,
		EndTime:           r.end,
		StatusCode:        storage.StatusCode(r.status),
		StatusMessage:     r.statusMsg,
		Service:           r.service,
		ScopeName:         r.scopeName,
		ScopeVersion:      r.scopeVersion,
		DroppedAttributes: r.dropA,
		DroppedEvents:     r.dropE,
		DroppedLinks:      r.dropL,
	}
	copy(sp.TraceID[:], r.traceID)
	copy(sp.SpanID[:], r.spanID)
	copy(sp.ParentSpanID[:], r.parentID)
	var err error
	if sp.Resource, err = joinAttrs(r.resKeys, r.resTypes, r.resValues); err != nil {
		return sp, err
	}
	if sp.Attributes, err = joinAttrs(r.attrKeys, r.attrTypes, r.attrValues); err != nil {
		return sp, err
	}
	n := len(r.evTimes)
	if len(r.evNames) != n || len(r.evKeys) != n || len(r.evTypes) != n || len(r.evValues) != n {
		return sp, errCorrupt
	}
	if n > 0 {
		sp.Events = make([]storage.Event, n)
		for i := range n {
			attrs, err := joinAttrs(r.evKeys[i], r.evTypes[i], r.evValues[i])
			if err != nil {
				return sp, err
			}
			sp.Events[i] = storage.Event{Time: r.evTimes[i], Name: r.evNames[i], Attributes: attrs}
		}
	}
	n = len(r.lnTrace)
	if len(r.lnSpan) != n || len(r.lnState) != n || len(r.lnKeys) != n || len(r.lnTypes) != n || len(r.lnValues) != n {
		return sp, errCorrupt
	}
	if n > 0 {
		sp.Links = make([]storage.Link, n)
		for i := range n {
			attrs, err := joinAttrs(r.lnKeys[i], r.lnTypes[i], r.lnValues[i])
			if err != nil {
				return sp, err
			}
			l := storage.Link{TraceState: r.lnState[i], Attributes: attrs}
			copy(l.TraceID[:], r.lnTrace[i])
			copy(l.SpanID[:], r.lnSpan[i])
			sp.Links[i] = l
		}
	}
	return sp, nil
}
