package clickhouse

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

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
