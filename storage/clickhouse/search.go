package clickhouse

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// conds is a WHERE clause in the making: conditions joined by AND and
// their arguments, in order.
type conds struct {
	where []string
	args  []any
}

func (c *conds) add(cond string, a ...any) {
	c.where = append(c.where, cond)
	c.args = append(c.args, a...)
}

func (c *conds) sql() string { return strings.Join(c.where, " AND ") }

// sortedKeys returns the keys of m, sorted, so that query texts are stable.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// statusCode returns the status code a filter selects.
func statusCode(f storage.StatusFilter) (storage.StatusCode, bool) {
	switch f {
	case storage.OnlyUnset:
		return storage.StatusUnset, true
	case storage.OnlyOK:
		return storage.StatusOK, true
	case storage.OnlyError:
		return storage.StatusError, true
	}
	return 0, false
}

// timeConds adds q's start-time bounds (and the day partitions they
// select) to c.
func timeConds(c *conds, q *storage.Query) {
	if !q.StartMin.IsZero() {
		c.add("day >= toDate(?)", dayOf(q.StartMin.UnixNano()).Format(time.DateOnly))
		c.add("start_time >= ?", q.StartMin.UnixNano())
	}
	if !q.StartMax.IsZero() {
		c.add("day <= toDate(?)", dayOf(q.StartMax.UnixNano()).Format(time.DateOnly))
		c.add("start_time <= ?", q.StartMax.UnixNano())
	}
}

// spanConds returns q's conditions on one span, for a table with the
// columns of tracer_search (tracer_spans has them too, duration is
// then an expression): what storage.Query.Matches checks, in SQL.
func spanConds(q *storage.Query, duration string) conds {
	var c conds
	if q.Service != "" {
		c.add("service = ?", q.Service)
	}
	if q.Operation != "" {
		c.add("name = ?", q.Operation)
	}
	if q.Kind != storage.KindUnspecified {
		c.add("kind = ?", int8(q.Kind))
	}
	if code, ok := statusCode(q.Status); ok {
		c.add("status_code = ?", int8(code))
	}
	timeConds(&c, q)
	if q.DurationMin > 0 {
		c.add(duration+" >= ?", int64(q.DurationMin))
	}
	if q.DurationMax > 0 {
		c.add(duration+" <= ?", int64(q.DurationMax))
	}
	for _, k := range sortedKeys(q.Attributes) {
		v := q.Attributes[k]
		// The span's attribute, or the resource's when the span has no
		// such key.
		c.add("(arrayExists((k, v) -> k = ? AND v = ?, attr_keys, attr_values)"+
			" OR (NOT has(attr_keys, ?) AND resource_hash GLOBAL IN ("+resourceMatch+")))",
			k, v, k, k, v)
	}
	for _, k := range sortedKeys(q.ResourceAttributes) {
		c.add("resource_hash GLOBAL IN ("+resourceMatch+")", k, q.ResourceAttributes[k])
	}
	return c
}

// findTracesQuery returns the query that finds the ids of up to limit
// traces with an index row matching q (most recent matching row first),
// and its arguments. The rows of a span's older versions match too: the
// search checks what it finds against the spans themselves (checkQuery).
func findTracesQuery(q storage.Query, limit int) (string, []any) {
	c := spanConds(&q, "duration")
	var pre conds
	if q.Service != "" {
		// With a service, the primary key bounds the rows read: check a
		// cheap necessary condition first (PREWHERE reads only the value
		// array and the resource hash, and has() needs no lambda). Without
		// one, ClickHouse's own PREWHERE on the time bounds is the better
		// filter.
		for _, k := range sortedKeys(q.Attributes) {
			v := q.Attributes[k]
			pre.add("(has(attr_values, ?) OR resource_hash GLOBAL IN ("+resourceHasValue+"))", v, v)
		}
	}
	var b strings.Builder
	var args []any
	b.WriteString("SELECT trace_id, max(start_time) AS t FROM " + tableSearch)
	if len(pre.where) > 0 {
		b.WriteString(" PREWHERE " + pre.sql())
		args = append(args, pre.args...)
	}
	if len(c.where) > 0 {
		b.WriteString(" WHERE " + c.sql())
		args = append(args, c.args...)
	}
	b.WriteString(" GROUP BY trace_id ORDER BY t DESC, trace_id LIMIT ?")
	return b.String(), append(args, limit)
}

// attributeSearch reports whether q is answered from tracer_search_attributes:
// it filters on indexed span attributes, the service and time only.
func attributeSearch(q *storage.Query) bool {
	if len(q.Attributes) == 0 || q.Operation != "" || q.Kind != storage.KindUnspecified ||
		q.Status != storage.AnyStatus || q.DurationMin > 0 || q.DurationMax > 0 || len(q.ResourceAttributes) > 0 {
		return false
	}
	for k := range q.Attributes {
		if !indexed(k) {
			return false
		}
	}
	return true
}

// findByAttributesQuery returns the query that finds the ids of up to
// limit traces with a span holding every attribute of q (most recent such
// span first), and its arguments. tracer_search_attributes gives the
// matching spans as (service, start time), a span holding every attribute
// having a row of each key; tracer_search, ordered by (service,
// start_time), turns them into trace ids (two spans of a service starting
// in the same nanosecond both count: the search checks its candidates).
func findByAttributesQuery(q storage.Query, limit int) (string, []any) {
	var in conds
	keys := sortedKeys(q.Attributes)
	var or []string
	for _, k := range keys {
		or = append(or, "(key = ? AND value_hash = ?)")
		in.args = append(in.args, k, valueHash(q.Attributes[k]))
	}
	in.where = append(in.where, "("+strings.Join(or, " OR ")+")")
	var out conds
	if q.Service != "" {
		in.add("service = ?", q.Service)
		out.add("service = ?", q.Service)
	}
	timeConds(&in, &q)
	timeConds(&out, &q)
	inner := "SELECT service, start_time FROM " + tableSearchAttr + " WHERE " + in.sql()
	if len(keys) > 1 {
		inner += " GROUP BY service, start_time HAVING uniqExact(key) = ?"
		in.args = append(in.args, len(keys))
	}
	out.add("(service, start_time) GLOBAL IN ("+inner+")", in.args...)
	return "SELECT trace_id, max(start_time) AS t FROM " + tableSearch + " WHERE " + out.sql() +
		" GROUP BY trace_id ORDER BY t DESC, trace_id LIMIT ?", append(out.args, limit)
}

// queryResourcesMatching counts the resources holding any of n attributes;
// arguments: key, value of each.
func queryResourcesMatching(n int) string {
	or := strings.TrimSuffix(strings.Repeat("(k = ? AND v = ?) OR ", n), " OR ")
	return "SELECT count() FROM " + tableResources + " WHERE arrayExists((k, v) -> " + or + ", attr_keys, attr_values)"
}

// idList returns n trace-id placeholders, for IN (...).
func idList(n int) string {
	return strings.TrimSuffix(strings.Repeat("toFixedString(unhex(?), 16), ", n), ", ")
}

// newestSpans selects cols of the newest version of each span of n traces
// (arguments: the hex ids).
func newestSpans(cols string, n int) string {
	return "SELECT " + cols + " FROM " + tableSpans + " PREWHERE trace_id IN (" + idList(n) + ")" +
		" ORDER BY written DESC LIMIT 1 BY trace_id, span_id"
}

// checkQuery returns the query that finds, among n traces, those with a
// span (its newest version) matching q and that span's latest start, and
// its arguments after the n hex trace ids.
func checkQuery(q storage.Query, n int) (string, []any) {
	c := spanConds(&q, "(end_time - start_time)")
	query := "SELECT trace_id, max(start_time) AS t FROM (" +
		newestSpans("trace_id, span_id, day, service, name, kind, start_time, end_time, status_code, attr_keys, attr_values, resource_hash", n) + ")"
	if len(c.where) > 0 {
		query += " WHERE " + c.sql()
	}
	return query + " GROUP BY trace_id", c.args
}

// searchWindows are the widths of the time windows a search goes through,
// newest first, before it searches everything older: most searches are
// answered from recent data, and ClickHouse then reads a few day
// partitions' worth of a service's rows instead of all of them.
// Few windows: a search that matches little pays one query per window.
var searchWindows = []time.Duration{time.Hour, 24 * time.Hour}

// maxSearchRounds bounds how often a search asks the index again for more
// candidates, twice as many each time, when some it found matched only
// older versions of spans.
const maxSearchRounds = 4

// match is a trace found, with the latest start of its matching spans (or
// of its matching index rows, for a candidate).
type match struct {
	id    storage.TraceID
	start int64
}

func byStartDesc(a, b match) int {
	if c := cmp.Compare(b.start, a.start); c != 0 {
		return c
	}
	return bytes.Compare(a.id[:], b.id[:])
}

// checkLimit validates a search limit and returns the one to apply.
func (s *Store) checkLimit(what string, limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, fmt.Errorf("%s: limit %d: %w: must not be negative", what, limit, storage.ErrInvalidQuery)
	case limit > s.limits.MaxTraces:
		return 0, fmt.Errorf("%s: limit %d: %w: at most %d traces", what, limit, storage.ErrInvalidQuery, s.limits.MaxTraces)
	case limit == 0:
		return storage.DefaultLimit, nil
	}
	return limit, nil
}

// search returns the traces that match q, the most recently started
// matching span first, at most the limit: the one search FindTraces,
// FindTraceIDs and FindTraceSummaries share.
//
// It asks the index for candidates (tracer_search_attributes for a search
// by attributes alone, tracer_search otherwise), going back in time
// windows from q.StartMax (or now): the last hour, the last day, then the
// rest, until it has enough; a trace's most recent matching row lies in
// the first window it is found in, so the order is that of one search over
// the whole range. The index also holds the rows of older versions of
// spans written again with the same ids, so every candidate is checked
// against the newest version of its spans (checkQuery), which also gives
// its exact rank. A candidate's rank is never below its checked one, so
// once the limit-th checked trace ranks at or above the last candidate,
// no trace left unchecked can take its place; until then it asks for twice
// as many candidates.
func (s *Store) search(ctx context.Context, what string, q storage.Query) ([]match, error) {
	limit, err := s.checkLimit(what, q.Limit)
	if err != nil {
		return nil, err
	}
	byAttrs := attributeSearch(&q)
	if byAttrs {
		// tracer_search_attributes has the spans' attributes only: a search that
		// a resource attribute may answer takes the index.
		var args []any
		for _, k := range sortedKeys(q.Attributes) {
			args = append(args, k, q.Attributes[k])
		}
		var n uint64
		if err := s.conn.QueryRow(ctx, queryResourcesMatching(len(q.Attributes)), args...).Scan(&n); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		byAttrs = n == 0
	}
	var (
		out     []match
		checked = make(map[storage.TraceID]bool)
		want    = limit
	)
	for round := 0; ; round++ {
		cands, err := s.candidates(ctx, q, want, byAttrs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		var ids []storage.TraceID
		for _, c := range cands {
			if !checked[c.id] {
				checked[c.id] = true
				ids = append(ids, c.id)
			}
		}
		found, err := s.check(ctx, q, ids)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, found...)
		slices.SortFunc(out, byStartDesc)
		if len(cands) < want || round+1 == maxSearchRounds ||
			len(out) >= limit && out[limit-1].start >= cands[len(cands)-1].start {
			break
		}
		want *= 2
	}
	return out[:min(len(out), limit)], nil
}

// maxIDsPerQuery bounds the trace ids one query binds.
const maxIDsPerQuery = 1000

// hexIDs returns ids as hex strings, query arguments.
func hexIDs(ids []storage.TraceID) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = hex.EncodeToString(id[:])
	}
	return out
}

// check returns the traces among ids with a span matching q.
func (s *Store) check(ctx context.Context, q storage.Query, ids []storage.TraceID) ([]match, error) {
	var out []match
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxIDsPerQuery)]
		ids = ids[len(chunk):]
		query, args := checkQuery(q, len(chunk))
		found, err := s.queryMatches(ctx, query, append(hexIDs(chunk), args...)...)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

// candidates searches the index, window by window, for up to want traces.
// A window that may hold spans written before tracer_attributes existed
// (a database migrated from version 2, see attributesSince; an hour's
// margin for clocks and batching) is searched in tracer_search's arrays.
func (s *Store) candidates(ctx context.Context, q storage.Query, want int, byAttrs bool) ([]match, error) {
	hi := q.StartMax
	openEnd := hi.IsZero() // no upper bound: spans from clocks ahead of ours count too
	if openEnd {
		hi = time.Now()
	}
	var out []match
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
		query, args := findTracesQuery(w, want)
		// tracer_search_attributes holds the spans written since
		// tracer_attributes existed (version 3, copied by version 4).
		if byAttrs && (s.attrsSince.IsZero() || !w.StartMin.IsZero() && w.StartMin.After(s.attrsSince.Add(-time.Hour))) {
			query, args = findByAttributesQuery(w, want)
		}
		found, err := s.queryMatches(ctx, query, args...)
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

// queryMatches runs a query selecting (trace_id, start).
func (s *Store) queryMatches(ctx context.Context, query string, args ...any) ([]match, error) {
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []match
	for rows.Next() {
		var raw string
		var m match
		if err := rows.Scan(&raw, &m.start); err != nil {
			return nil, err
		}
		copy(m.id[:], raw)
		out = append(out, m)
	}
	return out, rows.Err()
}

// FindTraces returns the whole traces that match q, the most recently
// started matching span first (see search), each truncated to
// ReaderLimits.MaxTraceSpans spans.
func (s *Store) FindTraces(ctx context.Context, q storage.Query) ([]storage.Trace, error) {
	found, err := s.search(ctx, "find traces", q)
	if err != nil {
		return nil, err
	}
	traces, err := s.tracesByID(ctx, matchIDs(found))
	if err != nil {
		return nil, fmt.Errorf("find traces: %w", err)
	}
	return traces, nil
}

// FindTraceIDs returns the ids of the traces FindTraces returns for q, in
// the same order, without reading the traces.
func (s *Store) FindTraceIDs(ctx context.Context, q storage.Query) ([]storage.TraceID, error) {
	found, err := s.search(ctx, "find trace ids", q)
	if err != nil {
		return nil, err
	}
	return matchIDs(found), nil
}

func matchIDs(ms []match) []storage.TraceID {
	ids := make([]storage.TraceID, len(ms))
	for i, m := range ms {
		ids[i] = m.id
	}
	return ids
}

// FindTraceSummaries returns the summaries of the traces FindTraces
// returns for q, in the same order. The server aggregates them (span and
// error counts per service, the root span, the time range) over the newest
// version of every stored span, so no span travels.
func (s *Store) FindTraceSummaries(ctx context.Context, q storage.Query) ([]storage.TraceSummary, error) {
	found, err := s.search(ctx, "find trace summaries", q)
	if err != nil {
		return nil, err
	}
	ids := matchIDs(found)
	sums := make(map[storage.TraceID]*summary, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxIDsPerQuery)]
		ids = ids[len(chunk):]
		if err := s.summaries(ctx, chunk, sums); err != nil {
			return nil, fmt.Errorf("find trace summaries: %w", err)
		}
	}
	out := make([]storage.TraceSummary, 0, len(found))
	for _, m := range found {
		if sum := sums[m.id]; sum != nil {
			out = append(out, sum.finish())
		} // else purged between the two queries
	}
	return out, nil
}

// summaryQuery aggregates the spans of n traces per trace and service;
// arguments: the n hex ids.
func summaryQuery(n int) string {
	const root = "parent_span_id = toFixedString(unhex('0000000000000000'), 8)"
	return "SELECT trace_id, service, count() AS spans, sum(status_code = 2) AS errors," +
		" min(start_time) AS first, max(end_time) AS last, argMin(name, start_time) AS first_name," +
		" countIf(" + root + ") AS roots, minIf(start_time, " + root + ") AS root_start," +
		" argMinIf(name, start_time, " + root + ") AS root_name FROM (" +
		newestSpans("trace_id, span_id, parent_span_id, service, name, start_time, end_time, status_code", n) + ")" +
		" GROUP BY trace_id, service"
}

// summary is a TraceSummary being put together from per-service rows.
type summary struct {
	storage.TraceSummary
	rootAt int64
	any    bool
}

func (s *Store) summaries(ctx context.Context, ids []storage.TraceID, into map[storage.TraceID]*summary) error {
	rows, err := s.conn.Query(ctx, summaryQuery(len(ids)), hexIDs(ids)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			raw, service, firstName, rootName string
			spans, errs, roots                uint64
			first, last, rootStart            int64
		)
		if err := rows.Scan(&raw, &service, &spans, &errs, &first, &last, &firstName, &roots, &rootStart, &rootName); err != nil {
			return err
		}
		var id storage.TraceID
		copy(id[:], raw)
		sum := into[id]
		if sum == nil {
			sum = &summary{TraceSummary: storage.TraceSummary{ID: id}}
			into[id] = sum
		}
		sum.add(service, int(spans), int(errs), first, last, firstName, roots > 0, rootStart, rootName)
	}
	return rows.Err()
}

// add counts one service's row, choosing the root span as
// storage.SummaryBuilder does: a span without a parent over any other, the
// earliest-starting one among those.
func (s *summary) add(service string, spans, errs int, first, last int64, firstName string, hasRoot bool, rootStart int64, rootName string) {
	name, at := firstName, first
	if hasRoot {
		name, at = rootName, rootStart
	}
	switch {
	case !s.any:
		s.Start, s.End = first, last
		s.take(service, name, at, hasRoot)
	case hasRoot && !s.HasRoot, hasRoot == s.HasRoot && at < s.rootAt:
		s.take(service, name, at, hasRoot)
	}
	s.any = true
	s.Start, s.End = min(s.Start, first), max(s.End, last)
	s.SpanCount += spans
	s.ErrorCount += errs
	s.Services = append(s.Services, storage.ServiceSummary{Service: service, SpanCount: spans, ErrorCount: errs})
}

func (s *summary) take(service, name string, at int64, root bool) {
	s.RootService, s.RootName, s.HasRoot, s.rootAt = service, name, root, at
}

func (s *summary) finish() storage.TraceSummary {
	out := s.TraceSummary
	slices.SortFunc(out.Services, func(a, b storage.ServiceSummary) int { return strings.Compare(a.Service, b.Service) })
	return out
}
