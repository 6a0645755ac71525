package badger

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
)

// RED sums the aggregates counted on write: per hour, ten minutes or
// minute, each part of the range from the coarsest level whose buckets the
// range holds whole and whose width divides the step.
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
		series: make(map[string]map[string]map[int64]*storage.REDPoint),
		group:  groupService,
	}
	if q.GroupByOperation || q.Operation != "" {
		r.group = groupOp
	}
	for _, k := range q.Kinds {
		r.kinds[byte(k)&7] = true
		r.anyKind = true
	}
	ranges := cover(lo, hi, func(l aggLevel) bool { return r.step%l.width == 0 })
	err := s.db.View(func(txn *badgerdb.Txn) error {
		for _, b := range ranges {
			if err := r.scan(txn, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: red: %w", err)
	}
	out := make([]storage.REDSeries, 0, len(r.series))
	for svc, byOp := range r.series {
		for op, pts := range byOp {
			sr := storage.REDSeries{Service: svc, Operation: op, Points: make([]storage.REDPoint, 0, len(pts))}
			for _, p := range pts {
				sr.Points = append(sr.Points, *p)
			}
			out = append(out, sr)
		}
	}
	storage.SortRED(out)
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
	series  map[string]map[string]map[int64]*storage.REDPoint // service, operation, time
	points  int
	n       int
}

// scan reads the aggregates of a level over buckets [from, to): all of
// them, or with a service filter, each bucket's entries of those services.
func (r *redScan) scan(txn *badgerdb.Txn, br bucketRange) error {
	from, to := br.from, br.to
	prefix := []byte{pRED, br.level, r.group}
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
	width := br.width
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
	return item.Value(func(v []byte) error {
		if err := r.addValue(readTime(k[3:]), v); err != nil {
			return fmt.Errorf("red aggregate %x: %w", k, err)
		}
		return nil
	})
}

// addValue adds one aggregate value (see redValue) of the bucket at to its
// point, reading it in place.
func (r *redScan) addValue(at int64, v []byte) error {
	svc, v, ok := cutString(v)
	op, v, ok2 := cutString(v)
	errs, v, ok3 := cutUvarint(v)
	n, v, ok4 := cutUvarint(v)
	if !ok || !ok2 || !ok3 || !ok4 || n > uint64(len(v)) {
		return errTruncated
	}
	if r.q.Operation != "" && string(op) != r.q.Operation {
		return nil
	}
	if len(r.q.Services) > 0 && !slices.Contains(r.q.Services, string(svc)) {
		return nil // a hashed term matched: compare the names
	}
	byOp := r.series[string(svc)]
	if byOp == nil {
		byOp = make(map[string]map[int64]*storage.REDPoint)
		r.series[string(svc)] = byOp
	}
	if !r.q.GroupByOperation {
		op = nil
	}
	pts := byOp[string(op)]
	if pts == nil {
		pts = make(map[int64]*storage.REDPoint)
		byOp[string(op)] = pts
	}
	t := floorTo(at, r.step)
	p := pts[t]
	if p == nil {
		if r.points++; r.points > r.max {
			return fmt.Errorf("more than %d points, ask for a longer step or a shorter range: %w", r.max, storage.ErrInvalidQuery)
		}
		p = &storage.REDPoint{Time: t}
		pts[t] = p
	}
	p.Errors += errs
	// The last bucket first, to grow the point's histogram once.
	last, rest := 0, v
	for range n {
		d, r1, ok := cutUvarint(rest)
		_, r2, ok2 := cutUvarint(r1)
		if !ok || !ok2 || d >= storage.NumLatencyBuckets || last+int(d) >= storage.NumLatencyBuckets {
			return errTruncated
		}
		last += int(d)
		rest = r2
	}
	if old := len(p.Latency); last >= old {
		p.Latency = slices.Grow(p.Latency, last+1-old)[:last+1]
		clear(p.Latency[old:])
	}
	b := 0
	for range n {
		d, rest, ok := cutUvarint(v)
		c, rest, ok2 := cutUvarint(rest)
		if !ok || !ok2 || d >= storage.NumLatencyBuckets || b+int(d) >= storage.NumLatencyBuckets {
			return errTruncated
		}
		v = rest
		b += int(d)
		p.Latency.AddBucket(b, c)
		p.Calls += c
	}
	return nil
}

func cutUvarint(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, false
	}
	return v, b[n:], true
}

func cutString(b []byte) ([]byte, []byte, bool) {
	n, b, ok := cutUvarint(b)
	if !ok || n > uint64(len(b)) {
		return nil, nil, false
	}
	return b[:n], b[n:], true
}
