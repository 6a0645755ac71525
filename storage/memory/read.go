package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tracerdev/tracer/storage"
)

var _ storage.ReadStore = (*Store)(nil)

// FindTraceIDs returns the ids of the traces FindTraces returns for q.
func (s *Store) FindTraceIDs(ctx context.Context, q storage.Query) ([]storage.TraceID, error) {
	var out []storage.TraceID
	err := s.search(ctx, q, func(hits []hit) {
		out = make([]storage.TraceID, len(hits))
		for i, h := range hits {
			out[i] = h.id
		}
	})
	return out, err
}

// FindTraceSummaries returns the summaries of the traces FindTraces returns
// for q, over every stored span of each.
func (s *Store) FindTraceSummaries(ctx context.Context, q storage.Query) ([]storage.TraceSummary, error) {
	var out []storage.TraceSummary
	err := s.search(ctx, q, func(hits []hit) {
		out = make([]storage.TraceSummary, len(hits))
		var b storage.SummaryBuilder
		for i, h := range hits {
			b.Reset(h.id)
			for _, e := range h.t.spans {
				b.Add(&e.Span)
			}
			out[i] = b.Summary()
		}
	})
	return out, err
}

// StreamTrace passes copies of the trace's spans to fn, one batch at a time.
// It takes the trace's span references under the read lock and copies each
// batch after releasing it (stored spans are never modified, only replaced),
// so fn may call the store and writes proceed meanwhile; fn sees the trace
// as it was when the call began.
func (s *Store) StreamTrace(ctx context.Context, id storage.TraceID, fn func([]storage.Span) error) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return false, errClosed
	}
	t := s.traces[id]
	if t == nil {
		s.mu.RUnlock()
		return false, storage.ErrNotFound
	}
	n := min(len(t.spans), s.limits.MaxTraceSpans)
	truncated := n < len(t.spans)
	refs := slices.Clone(t.spans[:n])
	s.mu.RUnlock()
	for len(refs) > 0 {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		k := min(len(refs), storage.MaxStreamBatch)
		var r reader
		batch := r.spans(refs[:k])
		clear(refs[:k])
		refs = refs[k:]
		if err := fn(batch); err != nil {
			return false, err
		}
	}
	return truncated, nil
}

// RED scans every stored span for those q selects. It stops, refusing q,
// as soon as it holds more points than ReaderLimits.MaxREDPoints.
func (s *Store) RED(ctx context.Context, q storage.REDQuery) ([]storage.REDSeries, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("memory: red: %w", err)
	}
	type series struct{ service, op string }
	type point struct {
		series
		at int64
	}
	points := make(map[point]*storage.REDPoint)
	err := func() error {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if s.closed {
			return errClosed
		}
		for _, t := range s.traces {
			for _, e := range t.spans {
				sp := &e.Span
				if !q.Matches(sp) {
					continue
				}
				k := point{series: series{service: sp.Service}, at: q.PointTime(sp.StartTime)}
				if q.GroupByOperation {
					k.op = sp.Name
				}
				p := points[k]
				if p == nil {
					if len(points) == s.limits.MaxREDPoints {
						return fmt.Errorf("memory: red: more than %d points, ask for a longer step or a shorter range: %w", s.limits.MaxREDPoints, storage.ErrInvalidQuery)
					}
					p = &storage.REDPoint{Time: k.at}
					points[k] = p
				}
				p.Calls++
				if sp.StatusCode == storage.StatusError {
					p.Errors++
				}
				p.Latency.Add(sp.Duration())
			}
		}
		return nil
	}()
	if err != nil {
		return nil, err
	}
	bySeries := make(map[series][]storage.REDPoint)
	for k, p := range points {
		bySeries[k.series] = append(bySeries[k.series], *p)
	}
	out := make([]storage.REDSeries, 0, len(bySeries))
	for k, pts := range bySeries {
		// The names are the store's strings: the result gets copies.
		out = append(out, storage.REDSeries{Service: strings.Clone(k.service), Operation: strings.Clone(k.op), Points: pts})
	}
	storage.SortRED(out)
	return out, nil
}

// AttributeKeys lists the keys of the attributes of the spans q selects.
func (s *Store) AttributeKeys(ctx context.Context, q storage.AttributeQuery) ([]string, error) {
	return s.attributes(ctx, q, false)
}

// AttributeValues lists the values of attribute q.Key of the spans q
// selects.
func (s *Store) AttributeValues(ctx context.Context, q storage.AttributeQuery) ([]string, error) {
	if q.Key == "" {
		return nil, fmt.Errorf("memory: attribute values: no key: %w", storage.ErrInvalidQuery)
	}
	return s.attributes(ctx, q, true)
}

// attributes lists keys, or the values of q.Key, in memory bounded by the
// limit: past twice the limit, it keeps only the first limit.
func (s *Store) attributes(ctx context.Context, q storage.AttributeQuery, values bool) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := q.Limit
	switch {
	case limit < 0 || limit > s.limits.MaxAttributeValues:
		return nil, fmt.Errorf("memory: attributes: limit %d: want 0 to %d: %w", limit, s.limits.MaxAttributeValues, storage.ErrInvalidQuery)
	case limit == 0:
		limit = min(storage.DefaultAttributeLimit, s.limits.MaxAttributeValues)
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.End.Before(q.Start) {
		return nil, fmt.Errorf("memory: attributes: end before start: %w", storage.ErrInvalidQuery)
	}
	seen := make(map[string]struct{})
	prune := func() {
		keep := sorted(seen)[:limit]
		clear(seen)
		for _, v := range keep {
			seen[v] = struct{}{}
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	for _, t := range s.traces {
		for _, e := range t.spans {
			sp := &e.Span
			if q.Service != "" && sp.Service != q.Service ||
				!q.Start.IsZero() && sp.StartTime < q.Start.UnixNano() ||
				!q.End.IsZero() && sp.StartTime > q.End.UnixNano() {
				continue
			}
			attrs := sp.Attributes
			if q.Resource {
				attrs = sp.Resource
			}
			for i := range attrs {
				a := &attrs[i]
				v := a.Key
				if values {
					if a.Key != q.Key {
						continue
					}
					v = a.Value
				}
				if !strings.HasPrefix(v, q.Prefix) {
					continue
				}
				if _, ok := seen[v]; !ok {
					seen[v] = struct{}{}
					if len(seen) >= 2*limit+64 {
						prune()
					}
				}
			}
		}
	}
	out := sorted(seen)
	out = out[:min(len(out), limit)]
	for i := range out {
		out[i] = strings.Clone(out[i])
	}
	return out, nil
}

func sorted(set map[string]struct{}) []string {
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
