package badger

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
)

// RED sums the aggregates counted on write: per minute, and per hour where
// the step is a whole number of hours and the range holds the hour whole.
// Start and End are rounded down to the minute. Series of one service read
// the aggregates per service; those grouped or filtered by operation read
// them per operation.
func (s *Store) RED(ctx context.Context, q storage.REDQuery) ([]storage.REDSeries, error) {
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("badger: red: %w", err)
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	lo, hi := floorTo(q.Start.UnixNano(), minuteNs), floorTo(q.End.UnixNano(), minuteNs)
	r := redScan{
		ctx:    ctx,
		q:      &q,
		step:   int64(q.Step),
		max:    s.limits.MaxREDPoints,
		series: make(map[[2]string]map[int64]*storage.REDPoint),
		group:  groupService,
	}
	if q.GroupByOperation || q.Operation != "" {
		r.group = groupOp
	}
	for _, k := range q.Kinds {
		r.kinds[byte(k)&7] = true
		r.anyKind = true
	}
	type span struct {
		level    byte
		from, to int64
	}
	spans := []span{{levelMinute, lo, hi}}
	if h0, h1 := ceilTo(lo, hourNs), floorTo(hi, hourNs); r.step%hourNs == 0 && h0 < h1 {
		spans = []span{{levelMinute, lo, h0}, {levelHour, h0, h1}, {levelMinute, h1, hi}}
	}
	err := s.db.View(func(txn *badgerdb.Txn) error {
		for _, sp := range spans {
			if err := r.scan(txn, sp.level, sp.from, sp.to); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: red: %w", err)
	}
	out := make([]storage.REDSeries, 0, len(r.series))
	for k, pts := range r.series {
		sr := storage.REDSeries{Service: k[0], Operation: k[1], Points: make([]storage.REDPoint, 0, len(pts))}
		for _, p := range pts {
			sr.Points = append(sr.Points, *p)
		}
		slices.SortFunc(sr.Points, func(a, b storage.REDPoint) int { return cmp.Compare(a.Time, b.Time) })
		out = append(out, sr)
	}
	slices.SortFunc(out, func(a, b storage.REDSeries) int {
		if c := cmp.Compare(a.Service, b.Service); c != 0 {
			return c
		}
		return cmp.Compare(a.Operation, b.Operation)
	})
	return out, nil
}

// redScan sums RED aggregates into points.
type redScan struct {
	ctx     context.Context
	q       *storage.REDQuery
	step    int64
	max     int
	group   byte
	kinds   [8]bool
	anyKind bool
	series  map[[2]string]map[int64]*storage.REDPoint
	points  int
	n       int
	val     redValue
}

// scan reads the aggregates of a level over buckets [from, to): all of
// them, or with a service filter, each bucket's entries of those services.
func (r *redScan) scan(txn *badgerdb.Txn, level byte, from, to int64) error {
	if from >= to {
		return nil
	}
	prefix := []byte{pRED, level, r.group}
	it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix, PrefetchValues: len(r.q.Services) == 0, PrefetchSize: 256})
	defer it.Close()
	stop := appendTime(slices.Clip(prefix), to)
	if len(r.q.Services) == 0 {
		for it.Seek(appendTime(slices.Clip(prefix), from)); it.Valid(); it.Next() {
			if bytes.Compare(it.Item().Key(), stop) >= 0 {
				return nil
			}
			if err := r.add(it.Item()); err != nil {
				return err
			}
		}
		return nil
	}
	services := slices.Clone(r.q.Services)
	slices.Sort(services)
	services = slices.Compact(services)
	width := minuteNs
	if level == levelHour {
		width = hourNs
	}
	var p []byte
	for b := from; b < to; b += width {
		// The next bucket holding anything.
		it.Seek(appendTime(slices.Clip(prefix), b))
		if !it.Valid() || bytes.Compare(it.Item().Key(), stop) >= 0 {
			return nil
		}
		b = readTime(it.Item().Key()[len(prefix):])
		for _, svc := range services {
			p = appendTerm(appendTime(append(p[:0], prefix...), b), svc)
			for it.Seek(p); it.ValidForPrefix(p); it.Next() {
				if err := r.add(it.Item()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (r *redScan) add(item *badgerdb.Item) error {
	if r.n++; r.n%4096 == 0 {
		if err := r.ctx.Err(); err != nil {
			return err
		}
	}
	k := item.Key()
	if len(k) < 3+8+1 {
		return nil
	}
	if r.anyKind && !r.kinds[k[len(k)-1]&7] {
		return nil
	}
	if err := item.Value(r.val.decode); err != nil {
		return err
	}
	v := &r.val
	if r.q.Operation != "" && v.op != r.q.Operation {
		return nil
	}
	if len(r.q.Services) > 0 && !slices.Contains(r.q.Services, v.service) {
		return nil // a hashed term matched: compare the names
	}
	key := [2]string{v.service, ""}
	if r.q.GroupByOperation {
		key[1] = v.op
	}
	pts := r.series[key]
	if pts == nil {
		pts = make(map[int64]*storage.REDPoint)
		r.series[key] = pts
	}
	t := floorTo(readTime(k[3:]), r.step)
	p := pts[t]
	if p == nil {
		if r.points++; r.points > r.max {
			return fmt.Errorf("more than %d points, ask for a longer step or a shorter range: %w", r.max, storage.ErrInvalidQuery)
		}
		p = &storage.REDPoint{Time: t}
		pts[t] = p
	}
	p.Calls += v.hist.Count()
	p.Errors += v.errors
	p.Latency.Merge(v.hist)
	return nil
}
