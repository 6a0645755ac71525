package clickhouse

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/tracerdev/tracer/storage"
)

// spanSelectColumns is what the reader selects to rebuild a storage.Span
// (its resource comes from tracer_resources, by resource_hash).
const spanSelectColumns = "trace_id, span_id, parent_span_id, trace_state, flags, name, kind, " +
	"start_time, end_time, status_code, status_message, service, " +
	"resource_hash, scope_name, scope_version, " +
	"attr_keys, attr_types, attr_values, " +
	"event_times, event_names, event_attr_keys, event_attr_types, event_attr_values, " +
	"link_trace_ids, link_span_ids, link_trace_states, link_attr_keys, link_attr_types, link_attr_values, " +
	"dropped_attributes, dropped_events, dropped_links"

// The reader's fixed query texts. Every user-supplied value is a bound
// parameter (?); identifiers never come from users. LIMIT 1 BY trace_id,
// span_id (or DISTINCT) removes the copies a retried batch leaves until
// ClickHouse merges them away; where a span may have been written again
// with other contents, ORDER BY written DESC first keeps its newest
// version, the one a merge keeps. Reads by trace id use PREWHERE: the
// primary key picks one granule in every part, and PREWHERE reads the other
// columns only of the granules that hold the trace.
const (
	// queryServices lists services.
	queryServices = "SELECT DISTINCT service FROM " + tableOperations + " ORDER BY service"
	// queryOperations lists a service's operations of every kind.
	queryOperations = "SELECT DISTINCT name, kind FROM " + tableOperations +
		" WHERE service = ? ORDER BY name, kind"
	// queryOperationsKind lists a service's operations of one kind.
	queryOperationsKind = "SELECT DISTINCT name, kind FROM " + tableOperations +
		" WHERE service = ? AND kind = ? ORDER BY name, kind"
	// queryDependencies joins child spans that started in a window to their
	// parents and counts edges between distinct services. Parents may have
	// started up to a day before the window, and only parents in traces
	// that have a child in the window are loaded into the join (GLOBAL IN
	// also works across a Distributed table's shards). Arguments: see
	// dependenciesArgs.
	queryDependencies = "SELECT parent, child, count() AS calls, sum(is_error) AS errors FROM (" +
		"SELECT trace_id, span_id, parent_span_id AS pid, service AS child, status_code = 2 AS is_error FROM " + tableIndex +
		" WHERE " + childWindow + " AND parent_span_id != toFixedString(unhex('0000000000000000'), 8)" +
		" LIMIT 1 BY trace_id, span_id" +
		") AS c ANY INNER JOIN (" +
		"SELECT trace_id, span_id AS pid, service AS parent FROM " + tableIndex +
		" WHERE day >= toDate(?) AND day <= toDate(?) AND start_time >= ? AND start_time <= ?" +
		" AND trace_id GLOBAL IN (SELECT trace_id FROM " + tableIndex + " WHERE " + childWindow + ")" +
		") AS p USING (trace_id, pid) WHERE parent != child GROUP BY parent, child ORDER BY parent, child"

	childWindow = "day >= toDate(?) AND day <= toDate(?) AND start_time >= ? AND start_time <= ?"

	// resourceMatch selects the resources holding an attribute; arguments:
	// key, value.
	resourceMatch = "SELECT hash FROM " + tableResources +
		" WHERE arrayExists((k, v) -> k = ? AND v = ?, attr_keys, attr_values)"
	// resourceHasValue selects the resources holding a value (a cheap
	// necessary condition of resourceMatch); argument: value.
	resourceHasValue = "SELECT hash FROM " + tableResources + " WHERE has(attr_values, ?)"
)

// Trace returns every stored span of the trace, or storage.ErrNotFound:
// at most ReaderLimits.MaxTraceSpans of them, with Truncated set when the
// trace has more.
func (s *Store) Trace(ctx context.Context, id storage.TraceID) (storage.Trace, error) {
	traces, err := s.tracesByID(ctx, []storage.TraceID{id})
	if err != nil {
		return storage.Trace{}, fmt.Errorf("trace %s: %w", id, err)
	}
	if len(traces) == 0 {
		return storage.Trace{}, storage.ErrNotFound
	}
	return traces[0], nil
}

// findTracesQuery returns the query that finds the ids of up to limit
// traces with an index row matching q (most recent matching row first),
// and its arguments. The rows of a span's older versions match too:
// FindTraces checks what it finds against the spans themselves.
func findTracesQuery(q storage.Query, limit int) (string, []any) {
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
			" OR (NOT has(attr_keys, ?) AND resource_hash GLOBAL IN ("+resourceMatch+")))",
			k, v, k, k, v)
		// With a service, the primary key bounds the rows read: check a
		// cheap necessary condition first (PREWHERE reads only the value
		// array and the resource hash, and has() needs no lambda). Without
		// one, ClickHouse's own PREWHERE on the time bounds is the better
		// filter.
		if q.Service != "" {
			pre = append(pre, "(has(attr_values, ?) OR resource_hash GLOBAL IN ("+resourceHasValue+"))")
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
	return b.String(), args
}

// tracesByIDQuery returns the query that reads the spans of n traces, the
// newest version of each span, at most perTrace spans of a trace; its
// arguments are the n hex trace ids, then perTrace.
func tracesByIDQuery(n int) string {
	ph := strings.TrimSuffix(strings.Repeat("toFixedString(unhex(?), 16), ", n), ", ")
	return "SELECT " + spanSelectColumns + " FROM (SELECT " + spanSelectColumns + " FROM " + tableSpans +
		" PREWHERE trace_id IN (" + ph + ") ORDER BY written DESC LIMIT 1 BY trace_id, span_id) LIMIT ? BY trace_id"
}

// resourcesQuery returns the query that reads n resources; its arguments
// are the n hex hashes.
func resourcesQuery(n int) string {
	ph := strings.TrimSuffix(strings.Repeat("toFixedString(unhex(?), 16), ", n), ", ")
	return "SELECT hash, attr_keys, attr_types, attr_values FROM " + tableResources +
		" WHERE hash IN (" + ph + ") LIMIT 1 BY hash"
}

// searchWindows are the widths of the time windows FindTraces searches,
// newest first, before it searches everything older: most searches are
// answered from recent data, and ClickHouse then reads a few day
// partitions' worth of a service's rows instead of all of them.
// Few windows: a search that matches little pays one query per window.
var searchWindows = []time.Duration{time.Hour, 24 * time.Hour}

// maxSearchRounds bounds how often FindTraces searches again for more
// candidates when some it found matched only older versions of spans.
const maxSearchRounds = 4

// candidate is a trace the index found, with its most recent matching
// start time.
type candidate struct {
	id    storage.TraceID
	start int64
}

// FindTraces returns the whole traces that match q, most recently started
// matching span first. It searches time windows going back from q.StartMax
// (or now), 1 hour, then 1 day, then the rest, until it has q.Limit traces;
// a trace's most recent matching span lies in the first window it is found
// in, so the order is the same as one search over the whole range.
//
// The index also holds the rows of older versions of spans written again
// with the same ids, so each trace found is checked against its spans
// (storage.Query.Matches) and kept only when one of them matches; when that
// leaves fewer than q.Limit, it searches again for more. A trace longer
// than ReaderLimits.MaxTraceSpans comes back truncated and is kept
// unchecked.
func (s *Store) FindTraces(ctx context.Context, q storage.Query) ([]storage.Trace, error) {
	switch {
	case q.Limit < 0:
		return nil, fmt.Errorf("find traces: limit %d: %w: must not be negative", q.Limit, storage.ErrInvalidQuery)
	case q.Limit > s.limits.MaxTraces:
		return nil, fmt.Errorf("find traces: limit %d: %w: at most %d traces", q.Limit, storage.ErrInvalidQuery, s.limits.MaxTraces)
	}
	limit := q.Limit
	if limit == 0 {
		limit = storage.DefaultLimit
	}
	type found struct {
		tr    storage.Trace
		start int64
	}
	var (
		out     []found
		checked = make(map[storage.TraceID]bool)
		want    = limit
	)
	for round := 0; ; round++ {
		cands, err := s.candidates(ctx, q, want)
		if err != nil {
			return nil, err
		}
		var ids []storage.TraceID
		starts := make(map[storage.TraceID]int64)
		for _, c := range cands {
			if !checked[c.id] {
				checked[c.id] = true
				ids = append(ids, c.id)
				starts[c.id] = c.start
			}
		}
		traces, err := s.tracesByID(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("find traces: %w", err)
		}
		for _, tr := range traces {
			if tr.Truncated {
				out = append(out, found{tr, starts[tr.ID]})
				continue
			}
			if start, ok := latestMatch(&q, tr.Spans); ok {
				out = append(out, found{tr, start})
			}
		}
		if len(out) >= limit || len(cands) < want || round+1 == maxSearchRounds {
			break
		}
		want = len(cands) + limit - len(out)
	}
	slices.SortFunc(out, func(a, b found) int {
		if c := cmp.Compare(b.start, a.start); c != 0 {
			return c
		}
		return bytes.Compare(a.tr.ID[:], b.tr.ID[:])
	})
	res := make([]storage.Trace, 0, min(len(out), limit))
	for i := range out[:min(len(out), limit)] {
		res = append(res, out[i].tr)
	}
	return res, nil
}

// latestMatch returns the latest start time of the spans that match q.
func latestMatch(q *storage.Query, spans []storage.Span) (int64, bool) {
	var (
		latest int64
		ok     bool
	)
	for i := range spans {
		if q.Matches(&spans[i]) && (!ok || spans[i].StartTime > latest) {
			latest, ok = spans[i].StartTime, true
		}
	}
	return latest, ok
}

// candidates searches the index, window by window, for up to want traces.
func (s *Store) candidates(ctx context.Context, q storage.Query, want int) ([]candidate, error) {
	hi := q.StartMax
	openEnd := hi.IsZero() // no upper bound: spans from clocks ahead of ours count too
	if openEnd {
		hi = time.Now()
	}
	var out []candidate
	seen := make(map[storage.TraceID]bool)
	for i := 0; i <= len(searchWindows) && len(out) < want; i++ {
		w := q
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
		// want, not what is missing: traces found in newer windows may
		// show up again and take places.
		found, err := s.findIDs(ctx, w, want)
		if err != nil {
			return nil, err
		}
		for _, c := range found {
			if !seen[c.id] && len(out) < want {
				seen[c.id] = true
				out = append(out, c)
			}
		}
		if last {
			break
		}
		hi = w.StartMin.Add(-time.Nanosecond)
	}
	return out, nil
}

// findIDs runs one search and returns the trace ids, newest first.
func (s *Store) findIDs(ctx context.Context, q storage.Query, limit int) ([]candidate, error) {
	query, args := findTracesQuery(q, limit)
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("find traces: %w", err)
	}
	defer rows.Close()
	var out []candidate
	for rows.Next() {
		var raw string
		var c candidate
		if err := rows.Scan(&raw, &c.start); err != nil {
			return nil, fmt.Errorf("find traces: %w", err)
		}
		copy(c.id[:], raw)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find traces: %w", err)
	}
	return out, nil
}

// tracesByID reads whole traces, in the order of ids, each truncated to
// ReaderLimits.MaxTraceSpans spans; a trace with no span is left out.
func (s *Store) tracesByID(ctx context.Context, ids []storage.TraceID) ([]storage.Trace, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids), len(ids)+1)
	for i, id := range ids {
		args[i] = hex.EncodeToString(id[:])
	}
	max := s.limits.MaxTraceSpans
	args = append(args, max+1)
	spans, err := s.querySpans(ctx, tracesByIDQuery(len(ids)), args...)
	if err != nil {
		return nil, err
	}
	byID := make(map[storage.TraceID][]storage.Span, len(ids))
	for _, sp := range spans {
		byID[sp.TraceID] = append(byID[sp.TraceID], sp)
	}
	out := make([]storage.Trace, 0, len(ids))
	for _, id := range ids {
		sp := byID[id]
		if len(sp) == 0 {
			continue // a trace purged between the two queries
		}
		tr := storage.Trace{ID: id, Spans: sp}
		if len(sp) > max {
			tr.Spans, tr.Truncated = sp[:max:max], true
		}
		out = append(out, tr)
	}
	return out, nil
}

// Services returns the service names seen, sorted.
func (s *Store) Services(ctx context.Context) ([]string, error) {
	rows, err := s.conn.Query(ctx, queryServices)
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
	query, args := queryOperations, []any{service}
	if kind != storage.KindUnspecified {
		query, args = queryOperationsKind, []any{service, int8(kind)}
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
	storage.SortOperations(out)
	return out, nil
}

// dependenciesError wraps an error of the dependencies query; a join over
// its limit is the caller's to fix (a shorter lookback).
func (s *Store) dependenciesError(err error) error {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) && ex.Code == codeSetSizeLimitExceeded {
		return fmt.Errorf("dependencies: more than %d spans in the window, ask for a shorter lookback: %w: %w",
			s.limits.MaxDependencySpans, storage.ErrInvalidQuery, err)
	}
	return fmt.Errorf("dependencies: %w", err)
}

// codeSetSizeLimitExceeded is ClickHouse's SET_SIZE_LIMIT_EXCEEDED, what a
// join over max_rows_in_join throws.
const codeSetSizeLimitExceeded = 191

// parentLead is how long before the window a parent span may have started
// and still count (the contract asks for at least a day).
const parentLead = 24 * time.Hour

// dependenciesArgs returns queryDependencies' arguments for a window:
// the child window (first day, last day, start ns, end ns), the parents'
// range (the same, from parentLead before the window), the child window
// again.
func dependenciesArgs(end time.Time, lookback time.Duration) []any {
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
// started in [end-lookback, end], sorted by parent then child. The server
// holds the parent spans of the window in a join: more than
// ReaderLimits.MaxDependencySpans of them is an error wrapping
// storage.ErrInvalidQuery.
func (s *Store) Dependencies(ctx context.Context, end time.Time, lookback time.Duration) ([]storage.Dependency, error) {
	if lookback < 0 {
		return nil, fmt.Errorf("dependencies: lookback %s: %w: must not be negative", lookback, storage.ErrInvalidQuery)
	}
	// join_overflow_mode's default, throw, makes a larger join an error
	// (a string setting cannot be sent to 18.16 by clickhouse-go).
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"max_rows_in_join": s.limits.MaxDependencySpans,
	}))
	rows, err := s.conn.Query(ctx, queryDependencies, dependenciesArgs(end, lookback)...)
	if err != nil {
		return nil, s.dependenciesError(err)
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
		return nil, s.dependenciesError(err)
	}
	storage.SortDependencies(out)
	return out, nil
}

// querySpans runs a query selecting spanSelectColumns and joins the
// spans' resources: the spans of one resource share one Resource slice.
func (s *Store) querySpans(ctx context.Context, query string, args ...any) ([]storage.Span, error) {
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		out    []storage.Span
		hashes []string // of out's spans
	)
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
		hashes = append(hashes, r.resHash)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	res, err := s.resources(ctx, hashes)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Resource = res[hashes[i]]
	}
	return out, nil
}

// maxResourcesPerQuery bounds the hashes one resources query binds.
const maxResourcesPerQuery = 1000

// resources reads the distinct resources of hashes (raw 16-byte strings;
// the zero hash is the empty resource). A hash without a row (a resource
// partition dropped before its spans') maps to no attributes.
func (s *Store) resources(ctx context.Context, hashes []string) (map[string][]storage.Attribute, error) {
	zero := string(make([]byte, len(resourceHash{})))
	want := make(map[string]bool)
	var list []any
	for _, h := range hashes {
		if h != zero && !want[h] {
			want[h] = true
			list = append(list, hex.EncodeToString([]byte(h)))
		}
	}
	out := make(map[string][]storage.Attribute, len(list))
	for len(list) > 0 {
		chunk := list[:min(len(list), maxResourcesPerQuery)]
		list = list[len(chunk):]
		if err := s.readResources(ctx, chunk, out); err != nil {
			return nil, fmt.Errorf("resources: %w", err)
		}
	}
	return out, nil
}

func (s *Store) readResources(ctx context.Context, hexHashes []any, into map[string][]storage.Attribute) error {
	rows, err := s.conn.Query(ctx, resourcesQuery(len(hexHashes)), hexHashes...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			h      string
			keys   []string
			types  []uint8
			values []string
		)
		if err := rows.Scan(&h, &keys, &types, &values); err != nil {
			return err
		}
		attrs, err := joinAttrs(keys, types, values)
		if err != nil {
			return err
		}
		into[h] = attrs
	}
	return rows.Err()
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
	resHash                               string
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
		&r.resHash, &r.scopeName, &r.scopeVersion,
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
