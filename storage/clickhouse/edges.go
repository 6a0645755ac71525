package clickhouse

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/tracerdev/tracer/storage"
)

// Dependencies are precomputed per minute of the children's start times
// (tracer_edges) by a background job, and computed live for the minutes
// the job has not computed since they were last written; see
// clickhouse.sql.

const (
	// parentLead is how long before the window a parent span may have
	// started and still count live (the contract asks for at least a
	// day); precomputed minutes count it to the minute.
	parentLead = 24 * time.Hour
	// parentNear is how far from its children a parent is looked for in
	// the join; the rest are looked up by trace id (parentsByID).
	parentNear = 5 * time.Minute
	// edgeChunk is the most minutes the job computes in one join.
	edgeChunk = 60
	// edgeLookback is how far back the job looks for minutes written
	// since it computed them; older minutes written again are computed
	// live by readers.
	edgeLookback = 7 * 24 * time.Hour
	// maxFreshRounds bounds how often Dependencies moves minutes whose
	// precomputed parents straddle the window's end to the live part.
	maxFreshRounds = 3
)

const nsPerMinute = int64(time.Minute)

// Column lists of the job's INSERTs.
var (
	edgeInsertColumns       = []string{"day", "minute", "parent", "child", "pminute", "calls", "errors", "computed"}
	edgeMinuteInsertColumns = []string{"day", "minute", "computed"}
)

// zeroSpanID is the parent span id of a root span, in SQL.
const zeroSpanID = "toFixedString(unhex('0000000000000000'), 8)"

// nsRange is a range of child start times, unix nanoseconds, inclusive.
type nsRange struct{ lo, hi int64 }

// edgeKey is one precomputed row's key: the child's start minute, the
// services, the parent's start minute (both unix seconds).
type edgeKey struct {
	minute        int64
	parent, child string
	pminute       int64
}

type edgeCount struct{ calls, errors uint64 }

// rangeConds returns "(start_time >= ? AND start_time <= ?) OR ..." over
// ranges, with the day partitions they span first, and the arguments.
func rangeConds(ranges []nsRange) (string, []any) {
	lo, hi := ranges[0].lo, ranges[len(ranges)-1].hi
	args := []any{dayOf(lo).Format(time.DateOnly), dayOf(hi).Format(time.DateOnly)}
	or := make([]string, len(ranges))
	for i, r := range ranges {
		or[i] = "(start_time >= ? AND start_time <= ?)"
		args = append(args, r.lo, r.hi)
	}
	return "day >= toDate(?) AND day <= toDate(?) AND (" + strings.Join(or, " OR ") + ")", args
}

// edgeJoinQuery returns the query that joins the children that started in
// ranges to their parents that started in [plo, phi], both read from table
// (tracer_search), and its arguments.
// Rows: child minute, parent service, child service, parent minute, found
// (0: no parent in [plo, phi]; tid and ppid then name the trace and the
// missing parent, in hex), calls, errors. Only parents in traces that have
// a child in the ranges are loaded into the join (GLOBAL IN also works
// across a Distributed table's shards).
func edgeJoinQuery(table string, ranges []nsRange, plo, phi int64) (string, []any) {
	where, wargs := rangeConds(ranges)
	var args []any
	args = append(args, wargs...)
	args = append(args, dayOf(plo).Format(time.DateOnly), dayOf(phi).Format(time.DateOnly), plo, phi)
	args = append(args, wargs...)
	q := "SELECT minute, parent, child, intDiv(pstart, 60000000000) * 60 AS pminute, found," +
		" if(found = 1, '', hex(trace_id)) AS tid, if(found = 1, '', hex(pid)) AS ppid," +
		" count() AS calls, sum(is_error) AS errors FROM (" +
		"SELECT trace_id, span_id, parent_span_id AS pid, service AS child, status_code = 2 AS is_error," +
		" intDiv(start_time, 60000000000) * 60 AS minute FROM " + table +
		" WHERE " + where + " AND parent_span_id != " + zeroSpanID +
		" LIMIT 1 BY trace_id, span_id" +
		") AS c ANY LEFT JOIN (" +
		"SELECT trace_id, span_id AS pid, service AS parent, start_time AS pstart, toUInt8(1) AS found FROM " + table +
		" WHERE day >= toDate(?) AND day <= toDate(?) AND start_time >= ? AND start_time <= ?" +
		" AND trace_id GLOBAL IN (SELECT trace_id FROM " + table + " WHERE " + where + ")" +
		") AS p USING (trace_id, pid) GROUP BY minute, parent, child, pminute, found, tid, ppid"
	return q, args
}

// parentsQuery reads the newest version of the spans of n traces:
// trace id, span id, service, start.
func parentsQuery(n int) string {
	return "SELECT trace_id, span_id, service, start_time FROM (" +
		newestSpans("trace_id, span_id, service, start_time", n) + ")"
}

// missingParent is a group of children whose parent the join did not
// find.
type missingParent struct {
	trace, parent string // raw ids
	minute        int64
	child         string
	edgeCount
}

// computeEdges counts the edges of the children that started in ranges
// (sorted, disjoint) whose parent started in [plo, phi], by child minute
// and parent minute: what storage.DependencyCounter counts, split by
// minute. Ranges close to each other share one join.
func (s *Store) computeEdges(ctx context.Context, ranges []nsRange, plo, phi int64, maxJoin int) (map[edgeKey]*edgeCount, error) {
	var clusters [][]nsRange
	for len(ranges) > 0 {
		n := 1
		for n < len(ranges) && ranges[n].lo-ranges[n-1].hi <= int64(parentNear) && n < edgeChunk {
			n++
		}
		clusters = append(clusters, ranges[:n])
		ranges = ranges[n:]
	}
	// The joins of distant clusters (a window's two ends) run at once, on
	// connections of their own, at most maxParallelJoins.
	type result struct {
		edges   map[edgeKey]*edgeCount
		missing []missingParent
		err     error
	}
	results := make([]result, len(clusters))
	sem := make(chan struct{}, maxParallelJoins)
	var wg sync.WaitGroup
	for i, cluster := range clusters {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			lo := max(plo, satAdd(cluster[0].lo, -int64(parentNear)))
			hi := min(phi, satAdd(cluster[len(cluster)-1].hi, int64(parentNear)))
			r := &results[i]
			r.edges = make(map[edgeKey]*edgeCount)
			r.missing, r.err = s.joinEdges(ctx, cluster, lo, hi, maxJoin, r.edges)
		})
	}
	wg.Wait()
	out := make(map[edgeKey]*edgeCount)
	var missing []missingParent
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		for k, c := range r.edges {
			addEdge(out, k, *c)
		}
		missing = append(missing, r.missing...)
	}
	if err := s.resolveMissing(ctx, missing, plo, phi, out); err != nil {
		return nil, err
	}
	return out, nil
}

// maxParallelJoins bounds the joins one computeEdges runs at once.
const maxParallelJoins = 2

// satAdd is a + d, saturated to int64's range.
func satAdd(a, d int64) int64 {
	switch {
	case d > 0 && a > math.MaxInt64-d:
		return math.MaxInt64
	case d < 0 && a < math.MinInt64-d:
		return math.MinInt64
	}
	return a + d
}

// addEdge adds c to edge k. A parent that started in its child's minute
// or up to a day before is counted by every window that counts the child
// (the contract's lead is a day before the window), so its minute is
// recorded as the child's: one row per edge and minute, mostly.
func addEdge(out map[edgeKey]*edgeCount, k edgeKey, c edgeCount) {
	if k.parent == k.child {
		return
	}
	if k.pminute <= k.minute && k.pminute >= k.minute-int64(parentLead/time.Second) {
		k.pminute = k.minute
	}
	e := out[k]
	if e == nil {
		e = new(edgeCount)
		out[k] = e
	}
	e.calls += c.calls
	e.errors += c.errors
}

// joinEdges runs edgeJoinQuery, adds the edges found to out and returns
// the children whose parent it did not find.
func (s *Store) joinEdges(ctx context.Context, ranges []nsRange, plo, phi int64, maxJoin int, out map[edgeKey]*edgeCount) ([]missingParent, error) {
	if maxJoin > 0 {
		// join_overflow_mode's default, throw, makes a larger join an
		// error (a string setting cannot be sent to 18.16 by
		// clickhouse-go).
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"max_rows_in_join": maxJoin}))
	}
	// tracer_search, ordered by service then time, holds what the join
	// needs of every span: a time range is one short range per service.
	query, args := edgeJoinQuery(tableSearch, ranges, plo, phi)
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var missing []missingParent
	for rows.Next() {
		var (
			k        edgeKey
			found    uint8
			tid, pid string
			c        edgeCount
		)
		if err := rows.Scan(&k.minute, &k.parent, &k.child, &k.pminute, &found, &tid, &pid, &c.calls, &c.errors); err != nil {
			return nil, err
		}
		if found == 1 {
			addEdge(out, k, c)
			continue
		}
		traceID, err1 := hex.DecodeString(tid)
		parentID, err2 := hex.DecodeString(pid)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("missing parent ids: %w", err)
		}
		missing = append(missing, missingParent{string(traceID), string(parentID), k.minute, k.child, c})
	}
	return missing, rows.Err()
}

// resolveMissing looks up the parents the joins did not find, by trace id
// in tracer_spans (whatever their start time), and adds the edges of those
// that started in [plo, phi].
func (s *Store) resolveMissing(ctx context.Context, missing []missingParent, plo, phi int64, out map[edgeKey]*edgeCount) error {
	seen := make(map[string]bool)
	var ids []storage.TraceID
	for _, m := range missing {
		if !seen[m.trace] {
			seen[m.trace] = true
			var id storage.TraceID
			copy(id[:], m.trace)
			ids = append(ids, id)
		}
	}
	type parent struct {
		service string
		start   int64
	}
	parents := make(map[[2]string]parent)
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxIDsPerQuery)]
		ids = ids[len(chunk):]
		rows, err := s.conn.Query(ctx, parentsQuery(len(chunk)), hexIDs(chunk)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var tid, sid string
			var p parent
			if err := rows.Scan(&tid, &sid, &p.service, &p.start); err != nil {
				rows.Close()
				return err
			}
			parents[[2]string{tid, sid}] = p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for _, m := range missing {
		p, ok := parents[[2]string{m.trace, m.parent}]
		if !ok || p.start < plo || p.start > phi {
			continue
		}
		addEdge(out, edgeKey{m.minute, p.service, m.child, floorDiv(p.start, nsPerMinute) * 60}, m.edgeCount)
	}
	return nil
}

// dependenciesError wraps an error of a dependencies query; a join over
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

// Dependencies returns the edges between distinct services over spans that
// started in [end-lookback, end], sorted by parent then child. Whole
// minutes of the window that the background job computed since they were
// last written are read from tracer_edges; the rest (the partial minutes
// at both ends, minutes written since, minutes never computed) are joined
// live, the server holding their parents in a join: more than
// ReaderLimits.MaxDependencySpans of them is an error wrapping
// storage.ErrInvalidQuery.
func (s *Store) Dependencies(ctx context.Context, end time.Time, lookback time.Duration) ([]storage.Dependency, error) {
	if lookback < 0 {
		return nil, fmt.Errorf("dependencies: lookback %s: %w: must not be negative", lookback, storage.ErrInvalidQuery)
	}
	lo, hi := end.Add(-lookback).UnixNano(), end.UnixNano()
	// Whole minutes of the window, unix seconds: [first, last].
	first := floorDiv(satAdd(lo, nsPerMinute-1), nsPerMinute) * 60
	last := (floorDiv(satAdd(hi, 1), nsPerMinute) - 1) * 60
	var (
		fresh   []int64
		written map[int64]time.Time
	)
	if first <= last {
		var err error
		if fresh, written, err = s.freshMinutes(ctx, first, last); err != nil {
			return nil, fmt.Errorf("dependencies: %w", err)
		}
	}
	total := make(map[[2]string]*edgeCount)
	add := func(parent, child string, c edgeCount) {
		k := [2]string{parent, child}
		e := total[k]
		if e == nil {
			e = new(edgeCount)
			total[k] = e
		}
		e.calls += c.calls
		e.errors += c.errors
	}
	// Besides the fresh minutes, those no batch wrote to hold no child:
	// every batch records the minutes its spans started in (unless the
	// database was migrated, for its older minutes). The rest is joined
	// live, while the fresh minutes are summed.
	skip := fresh
	if first <= last {
		since := int64(math.MinInt64)
		if !s.attrsSince.IsZero() {
			since = s.attrsSince.Add(time.Hour).Unix()
		}
		skip = nil
		next := 0
		for m := first; m <= last; m += 60 {
			switch {
			case next < len(fresh) && fresh[next] == m:
				skip = append(skip, m)
				next++
			case m >= since:
				if _, ok := written[m]; !ok {
					skip = append(skip, m)
				}
			}
		}
	}
	plo := satAdd(lo, -int64(parentLead))
	var (
		liveEdges map[edgeKey]*edgeCount
		liveErr   error
		wg        sync.WaitGroup
	)
	if live := liveRanges(lo, hi, skip); len(live) > 0 {
		wg.Go(func() { liveEdges, liveErr = s.computeEdges(ctx, live, plo, hi, s.limits.MaxDependencySpans) })
	}
	endMinute := floorDiv(hi, nsPerMinute) * 60
	lowMinute := floorDiv(plo, nsPerMinute) * 60
	var moved []int64 // fresh minutes joined live after all
	for round := 0; len(fresh) > 0; round++ {
		if round == maxFreshRounds {
			moved = append(moved, fresh...)
			fresh = nil
			break
		}
		clear(total)
		straddling, err := s.precomputed(ctx, fresh, endMinute, lowMinute, add)
		if err != nil {
			wg.Wait()
			return nil, fmt.Errorf("dependencies: %w", err)
		}
		if len(straddling) == 0 {
			break
		}
		fresh = slices.DeleteFunc(fresh, func(m int64) bool {
			if straddling[m] {
				moved = append(moved, m)
			}
			return straddling[m]
		})
	}
	if len(fresh) == 0 {
		clear(total)
	}
	wg.Wait()
	if liveErr != nil {
		return nil, s.dependenciesError(liveErr)
	}
	if len(moved) > 0 {
		slices.Sort(moved)
		ranges := make([]nsRange, len(moved))
		for i, m := range moved {
			ranges[i] = nsRange{m * int64(time.Second), m*int64(time.Second) + nsPerMinute - 1}
		}
		edges, err := s.computeEdges(ctx, ranges, plo, hi, s.limits.MaxDependencySpans)
		if err != nil {
			return nil, s.dependenciesError(err)
		}
		for k, c := range edges {
			add(k.parent, k.child, *c)
		}
	}
	for k, c := range liveEdges {
		add(k.parent, k.child, *c)
	}
	out := make([]storage.Dependency, 0, len(total))
	for k, c := range total {
		out = append(out, storage.Dependency{Parent: k[0], Child: k[1], CallCount: c.calls, ErrorCount: c.errors})
	}
	storage.SortDependencies(out)
	return out, nil
}

// liveRanges returns the child ranges of [lo, hi] outside the skipped
// minutes (sorted unix seconds).
func liveRanges(lo, hi int64, skip []int64) []nsRange {
	var out []nsRange
	next := lo
	for _, m := range skip {
		start := m * int64(time.Second)
		if start > next {
			out = append(out, nsRange{next, start - 1})
		}
		next = start + nsPerMinute
	}
	if next <= hi {
		out = append(out, nsRange{next, hi})
	}
	return out
}

// minuteRanges returns "(minute >= ? AND minute <= ?) OR ..." over the
// runs of consecutive minutes (sorted unix seconds), with the day
// partitions first, and the arguments.
func minuteRanges(minutes []int64) (string, []any) {
	args := []any{dayOf(minutes[0] * int64(time.Second)).Format(time.DateOnly),
		dayOf(minutes[len(minutes)-1] * int64(time.Second)).Format(time.DateOnly)}
	var or []string
	for i := 0; i < len(minutes); {
		j := i + 1
		for j < len(minutes) && minutes[j] == minutes[j-1]+60 {
			j++
		}
		or = append(or, "(minute >= ? AND minute <= ?)")
		args = append(args, minutes[i], minutes[j-1])
		i = j
	}
	return "day >= toDate(?) AND day <= toDate(?) AND (" + strings.Join(or, " OR ") + ")", args
}

// queryMinuteState reads, per minute in [?, ?] (unix seconds, after the
// days), the newest computation and the last write.
const (
	queryMinutesComputed = "SELECT minute, max(computed) FROM " + tableEdgeMins +
		" WHERE day >= toDate(?) AND day <= toDate(?) AND minute >= ? AND minute <= ? GROUP BY minute"
	queryMinutesWritten = "SELECT minute, max(at) FROM " + tableEdgeWrites +
		" WHERE day >= toDate(?) AND day <= toDate(?) AND minute >= ? AND minute <= ? GROUP BY minute"
)

func minuteArgs(first, last int64) []any {
	return []any{dayOf(first * int64(time.Second)).Format(time.DateOnly), dayOf(last * int64(time.Second)).Format(time.DateOnly), first, last}
}

// minuteTimes runs one of the minute-state queries.
func (s *Store) minuteTimes(ctx context.Context, query string, first, last int64) (map[int64]time.Time, error) {
	rows, err := s.conn.Query(ctx, query, minuteArgs(first, last)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64]time.Time)
	for rows.Next() {
		var m int64
		var t time.Time
		if err := rows.Scan(&m, &t); err != nil {
			return nil, err
		}
		out[m] = t
	}
	return out, rows.Err()
}

// freshMinutes returns the minutes in [first, last] (unix seconds) whose
// newest computation started after their last write, sorted, and the
// minutes' last writes.
func (s *Store) freshMinutes(ctx context.Context, first, last int64) ([]int64, map[int64]time.Time, error) {
	computed, err := s.minuteTimes(ctx, queryMinutesComputed, first, last)
	if err != nil {
		return nil, nil, err
	}
	written, err := s.minuteTimes(ctx, queryMinutesWritten, first, last)
	if err != nil {
		return nil, nil, err
	}
	var out []int64
	for m, c := range computed {
		if w, ok := written[m]; !ok || w.Before(c) {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out, written, nil
}

// precomputedQuery sums the newest computation of the given minutes, by
// edge; parents of the minute holding the window's end (first argument
// after the ranges' own, twice) come back apart (class 1, with their
// child's minute), those after it not at all, nor those that started
// before the minute of the lowest argument.
func precomputedQuery(minutes []int64) (string, []any) {
	where, args := minuteRanges(minutes)
	q := "SELECT parent, child, multiIf(pminute < ?, 0, pminute = ?, 1, 2) AS class, if(class = 1, minute, 0) AS m," +
		" sum(calls), sum(errors) FROM (" +
		"SELECT minute, parent, child, pminute, calls, errors FROM " + tableEdges + " WHERE " + where +
		" AND (minute, computed) GLOBAL IN (SELECT minute, max(computed) FROM " + tableEdgeMins + " WHERE " + where + " GROUP BY minute)" +
		" LIMIT 1 BY minute, parent, child, pminute" +
		") WHERE pminute >= ? AND class < 2 GROUP BY parent, child, class, m"
	var all []any
	all = append(all, args...)
	all = append(all, args...)
	return q, all
}

// precomputed adds the precomputed edges of the fresh minutes; it returns
// the minutes with a parent in the window's last minute, whose edges it
// cannot split at the window's end (then nothing is to be trusted of this
// call's sums: the caller starts again without those minutes).
func (s *Store) precomputed(ctx context.Context, fresh []int64, endMinute, lowMinute int64, add func(parent, child string, c edgeCount)) (map[int64]bool, error) {
	query, args := precomputedQuery(fresh)
	args = append([]any{endMinute, endMinute}, args...)
	args = append(args, lowMinute)
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var straddling map[int64]bool
	for rows.Next() {
		var (
			parent, child string
			class         uint8
			m             int64
			c             edgeCount
		)
		if err := rows.Scan(&parent, &child, &class, &m, &c.calls, &c.errors); err != nil {
			return nil, err
		}
		if class == 1 {
			if straddling == nil {
				straddling = make(map[int64]bool)
			}
			straddling[m] = true
			continue
		}
		add(parent, child, c)
	}
	return straddling, rows.Err()
}

// RefreshDependencies runs the background job's work once now: it
// computes the edges of every minute (of the last week) written since it
// was last computed, at least settle (and ClockMargin) ago. The Store
// runs it every Config.DependencyRefresh by itself; tools and tests call
// it to have dependencies precomputed at once.
func (s *Store) RefreshDependencies(ctx context.Context, settle time.Duration) error {
	settle = max(settle, ClockMargin) // what is newer would not count as computed
	var now time.Time
	if err := s.conn.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
		return fmt.Errorf("refresh dependencies: server time: %w", err)
	}
	first := floorDiv(now.Add(-edgeLookback).UnixNano(), nsPerMinute) * 60
	last := floorDiv(now.Add(time.Hour).UnixNano(), nsPerMinute) * 60
	written, err := s.minuteTimes(ctx, queryMinutesWritten, first, last)
	if err != nil {
		return fmt.Errorf("refresh dependencies: %w", err)
	}
	computed, err := s.minuteTimes(ctx, queryMinutesComputed, first, last)
	if err != nil {
		return fmt.Errorf("refresh dependencies: %w", err)
	}
	var todo []int64
	for m, w := range written {
		if c, ok := computed[m]; (!ok || !w.Before(c)) && !w.After(now.Add(-settle)) {
			todo = append(todo, m)
		}
	}
	slices.Sort(todo)
	for len(todo) > 0 {
		n := 1
		for n < len(todo) && todo[n]-todo[0] < edgeChunk*60 {
			n++
		}
		if err := s.computeMinutes(ctx, todo[:n]); err != nil {
			return fmt.Errorf("refresh dependencies: %w", err)
		}
		todo = todo[n:]
	}
	return nil
}

// ClockMargin is how much earlier than the server's time the job stamps
// what it computes: a minute written less than that before a computation
// is computed again, so clocks of a cluster's servers that differ by less
// do not make a minute look computed when its last write was not seen.
const ClockMargin = 5 * time.Second

// computeMinutes computes and stores the edges of the given minutes
// (sorted unix seconds), then their markers, stamped with the server time
// before the computation began (less ClockMargin).
func (s *Store) computeMinutes(ctx context.Context, minutes []int64) error {
	var at time.Time
	if err := s.conn.QueryRow(ctx, "SELECT now()").Scan(&at); err != nil {
		return fmt.Errorf("server time: %w", err)
	}
	// Stamped a little earlier than it starts: on a cluster the write
	// marks carry the clock of the server that took the insert.
	at = at.Add(-ClockMargin)
	var ranges []nsRange
	for i := 0; i < len(minutes); {
		j := i + 1
		for j < len(minutes) && minutes[j] == minutes[j-1]+60 {
			j++
		}
		ranges = append(ranges, nsRange{minutes[i] * int64(time.Second), (minutes[j-1]+60)*int64(time.Second) - 1})
		i = j
	}
	edges, err := s.computeEdges(ctx, ranges, math.MinInt64, math.MaxInt64, 0)
	if err != nil {
		return err
	}
	ctx = s.writeContext(ctx)
	if len(edges) > 0 {
		b, err := s.prepareBatch(ctx, insertSQL(tableEdges, edgeInsertColumns))
		if err != nil {
			return fmt.Errorf("prepare %s batch: %w", tableEdges, err)
		}
		for k, c := range edges {
			if err := b.Append(dayOf(k.minute*int64(time.Second)), k.minute, k.parent, k.child, k.pminute, c.calls, c.errors, at); err != nil {
				_ = b.Abort()
				return fmt.Errorf("append %s: %w", tableEdges, err)
			}
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("send %s batch: %w", tableEdges, err)
		}
	}
	b, err := s.prepareBatch(ctx, insertSQL(tableEdgeMins, edgeMinuteInsertColumns))
	if err != nil {
		return fmt.Errorf("prepare %s batch: %w", tableEdgeMins, err)
	}
	for _, m := range minutes {
		if err := b.Append(dayOf(m*int64(time.Second)), m, at); err != nil {
			_ = b.Abort()
			return fmt.Errorf("append %s: %w", tableEdgeMins, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("send %s batch: %w", tableEdgeMins, err)
	}
	return nil
}

// refreshLoop runs RefreshDependencies every interval until ctx is
// cancelled (Close), logging its errors.
func (s *Store) refreshLoop(ctx context.Context, interval, settle time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.RefreshDependencies(ctx, settle); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("clickhouse: dependencies job", "err", err)
		}
	}
}
