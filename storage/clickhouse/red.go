package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// redQuery returns the query that sums tracer_red for q (or
// tracer_red_services, a row per service and minute, when q neither
// filters on nor groups by the operation); for one-minute steps it
// returns the stored rows in point order instead, without a limit. One
// row per
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
	if step == int64(storage.REDResolution/time.Second) {
		// A point per row's minute: the rows come as they are stored (a
		// few per point: kinds, parts not merged yet) and RED adds them
		// up, cheaper than sumMap on the server.
		return "SELECT service, " + op + " AS op, minute AS t, calls, errors, " + histText("latencyMap.bucket", "latencyMap.count") +
			" FROM " + table + " WHERE " + c.sql() + " ORDER BY service, op, t", c.args
	}
	// The step's start: minute rounded down to a multiple of step (%
	// takes the dividend's sign).
	query := "SELECT service, op, t, calls, errors, " + histText("h.1", "h.2") + " FROM (" +
		"SELECT service, " + op + " AS op, minute - (minute % ? + ?) % ? AS t, sum(calls) AS calls, sum(errors) AS errors," +
		" sumMap(latencyMap.bucket, latencyMap.count) AS h FROM " + table +
		" WHERE " + c.sql() + " GROUP BY service, op, t) ORDER BY service, op, t LIMIT ?"
	args := append([]any{step, step, step}, c.args...)
	return query, append(args, limit)
}

// histText is the SQL of a histogram's buckets and counts as text,
// "bucket:count,...": clickhouse-go scans arrays by reflection, value by
// value, several times slower than RED parses this.
func histText(buckets, counts string) string {
	return "arrayStringConcat(arrayMap((b, n) -> concat(toString(b), ':', toString(n)), " + buckets + ", " + counts + "), ',')"
}

// addHistText adds the counts of a histText to h.
func addHistText(h *storage.Histogram, text string) error {
	if text == "" {
		return nil
	}
	// The buckets come sorted: grow h once, to the last one.
	last, _, _ := strings.Cut(text[strings.LastIndexByte(text, ',')+1:], ":")
	if b, err := strconv.Atoi(last); err == nil {
		if n, old := min(max(b, 0), storage.NumLatencyBuckets-1)+1, len(*h); n > old {
			*h = slices.Grow(*h, n-old)[:n]
			clear((*h)[old:])
		}
	}
	for text != "" {
		var pair string
		pair, text, _ = strings.Cut(text, ",")
		bs, ns, ok := strings.Cut(pair, ":")
		b, err1 := strconv.Atoi(bs)
		n, err2 := strconv.ParseUint(ns, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("histogram %.40q: %w", pair, errCorrupt)
		}
		h.AddBucket(b, n)
	}
	return nil
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
			hist          string
		)
		if err := rows.Scan(&service, &op, &t, &calls, &errors, &hist); err != nil {
			return nil, fmt.Errorf("red: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].Service != service || out[n-1].Operation != op {
			out = append(out, storage.REDSeries{Service: service, Operation: op})
		}
		series := &out[len(out)-1]
		if n := len(series.Points); n == 0 || series.Points[n-1].Time != t*int64(time.Second) {
			if points++; points > max {
				return nil, fmt.Errorf("red: more than %d points, ask for a longer step or a shorter range: %w", max, storage.ErrInvalidQuery)
			}
			series.Points = append(series.Points, storage.REDPoint{Time: t * int64(time.Second)})
		}
		p := &series.Points[len(series.Points)-1]
		p.Calls += calls
		p.Errors += errors
		if err := addHistText(&p.Latency, hist); err != nil {
			return nil, fmt.Errorf("red: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("red: %w", err)
	}
	return out, nil
}
