package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// attributeWindow is the window listed when AttributeQuery.Start is zero.
const attributeWindow = 24 * time.Hour

// attributeListQuery returns the query listing distinct keys (key empty)
// or values of key from tracer_attribute_values, and its arguments. The
// table keeps hours: the listing covers the hours of q's range.
func attributeListQuery(q storage.AttributeQuery, values bool, limit int) (string, []any) {
	end := q.End
	if end.IsZero() {
		end = time.Now().Add(time.Hour) // clocks ahead of ours count too
	}
	start := q.Start
	if start.IsZero() {
		start = end.Add(-attributeWindow)
	}
	first := floorDiv(start.UnixNano(), int64(time.Hour)) * 3600
	last := floorDiv(end.UnixNano(), int64(time.Hour)) * 3600
	var c conds
	resource := 0
	if q.Resource {
		resource = 1
	}
	c.add("resource = ?", resource)
	col := "key"
	if values {
		col = "value"
		c.add("key = ?", q.Key)
	}
	c.add("day >= toDate(?)", dayOf(first*int64(time.Second)).Format(time.DateOnly))
	c.add("day <= toDate(?)", dayOf(last*int64(time.Second)).Format(time.DateOnly))
	c.add("hour >= ?", first)
	c.add("hour <= ?", last)
	if q.Service != "" {
		c.add("service = ?", q.Service)
	}
	if q.Prefix != "" {
		c.add("substring("+col+", 1, ?) = ?", len(q.Prefix), q.Prefix)
	}
	return "SELECT " + col + " FROM " + tableAttrValues + " WHERE " + c.sql() +
		" GROUP BY " + col + " ORDER BY " + col + " LIMIT ?", append(c.args, limit)
}

// AttributeKeys returns the distinct attribute keys (of spans, or of
// resources with q.Resource) seen in the hours of q's range, sorted.
func (s *Store) AttributeKeys(ctx context.Context, q storage.AttributeQuery) ([]string, error) {
	return s.listAttributes(ctx, "attribute keys", q, false)
}

// AttributeValues returns the distinct values of q.Key seen in the hours
// of q's range, sorted. Values longer than 256 bytes are not listed.
func (s *Store) AttributeValues(ctx context.Context, q storage.AttributeQuery) ([]string, error) {
	if q.Key == "" {
		return nil, fmt.Errorf("attribute values: %w: no key", storage.ErrInvalidQuery)
	}
	return s.listAttributes(ctx, "attribute values", q, true)
}

func (s *Store) listAttributes(ctx context.Context, what string, q storage.AttributeQuery, values bool) ([]string, error) {
	limit := q.Limit
	switch {
	case limit < 0:
		return nil, fmt.Errorf("%s: limit %d: %w: must not be negative", what, limit, storage.ErrInvalidQuery)
	case limit > s.limits.MaxAttributeValues:
		return nil, fmt.Errorf("%s: limit %d: %w: at most %d", what, limit, storage.ErrInvalidQuery, s.limits.MaxAttributeValues)
	case limit == 0:
		limit = min(storage.DefaultAttributeLimit, s.limits.MaxAttributeValues)
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.End.Before(q.Start) {
		return nil, fmt.Errorf("%s: end %s before start %s: %w", what, q.End.Format(time.RFC3339Nano), q.Start.Format(time.RFC3339Nano), storage.ErrInvalidQuery)
	}
	query, args := attributeListQuery(q, values, limit)
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	slices.Sort(out) // the server's order is bytes', as Go's; not relied on
	return out, nil
}
