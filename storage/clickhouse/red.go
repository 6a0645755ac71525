package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// redQuery returns the query that sums tracer_red for q (or
// tracer_red_services, a row per service and minute, when q neither
// filters on nor groups by the operation), one row per
// series and step (service, operation or ”, step start in unix seconds,
// calls, errors, latency buckets, their counts), at most limit rows, and
// its arguments. Minutes are the spans' start minutes: Start and End are
// rounded down to the minute.
func redQuery(q storage.REDQuery, limit int) (string, []any) {
	first := floorDiv(q.Start.UnixNano(), nsPerMinute) * 60
	end := floorDiv(q.End.UnixNano(), nsPerMinute) * 60
	step := int64(q.Step / time.Second)
	var c conds
	c.add("day >= toDate(?)", dayOf(first*int64(time.Second)).Format(time.DateOnly))
	c.add("day <= toDate(?)", dayOf(end*int64(time.Second)).Format(time.DateOnly))
	c.add("minute >= ?", first)
	c.add("minute < ?", end)
	if len(q.Services) > 0 {
		c.add("service IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(q.Services)), ", ")+")", anySlice(q.Services)...)
	}
	if len(q.Kinds) > 0 {
		kinds := make([]any, len(q.Kinds))
		for i, k := range q.Kinds {
			kinds[i] = int8(k)
		}
		c.add("kind IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(kinds)), ", ")+")", kinds...)
	}
	if q.Operation != "" {
		c.add("name = ?", q.Operation)
	}
	op, table := "''", tableREDSvc
	if q.GroupByOperation || q.Operation != "" {
		op, table = "name", tableRED
		if !q.GroupByOperation {
			op = "''"
		}
	}
	// The step's start: minute rounded down to a multiple of step (%
	// takes the dividend's sign).
	query := "SELECT service, op, t, calls, errors, h.1, h.2 FROM (" +
		"SELECT service, " + op + " AS op, minute - (minute % ? + ?) % ? AS t, sum(calls) AS calls, sum(errors) AS errors," +
		" sumMap(latencyMap.bucket, latencyMap.count) AS h FROM " + table +
		" WHERE " + c.sql() + " GROUP BY service, op, t) ORDER BY service, op, t LIMIT ?"
	args := append([]any{step, step, step}, c.args...)
	return query, append(args, limit)
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// RED returns the RED series of q from the per-minute aggregates the
// writer keeps (tracer_red): spans are counted by their start minute, so
// q.Start and q.End are rounded down to the minute. A batch written twice
// counts twice (see clickhouse.sql).
func (s *Store) RED(ctx context.Context, q storage.REDQuery) ([]storage.REDSeries, error) {
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("red: %w", err)
	}
	max := s.limits.MaxREDPoints
	query, args := redQuery(q, max+1)
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("red: %w", err)
	}
	defer rows.Close()
	var (
		out    []storage.REDSeries
		points int
	)
	for rows.Next() {
		var (
			service, op   string
			t             int64
			calls, errors uint64
			buckets       []uint16
			counts        []uint64
		)
		if err := rows.Scan(&service, &op, &t, &calls, &errors, &buckets, &counts); err != nil {
			return nil, fmt.Errorf("red: %w", err)
		}
		if points++; points > max {
			return nil, fmt.Errorf("red: more than %d points, ask for a longer step or a shorter range: %w", max, storage.ErrInvalidQuery)
		}
		if len(buckets) != len(counts) {
			return nil, fmt.Errorf("red: %w", errCorrupt)
		}
		if n := len(out); n == 0 || out[n-1].Service != service || out[n-1].Operation != op {
			out = append(out, storage.REDSeries{Service: service, Operation: op})
		}
		p := storage.REDPoint{Time: t * int64(time.Second), Calls: calls, Errors: errors}
		for i, b := range buckets {
			p.Latency.AddBucket(int(b), counts[i])
		}
		series := &out[len(out)-1]
		series.Points = append(series.Points, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("red: %w", err)
	}
	return out, nil
}
