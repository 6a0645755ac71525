package badger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
)

// Dependencies answers from the edges counted on write: the hours, ten
// minutes and minutes that the window holds whole are summed from the edge aggregates
// (plus the edges whose parent started after the child, kept per child and
// tested against the window's end), and the partial minutes at either end
// are counted exactly from their spans, with a storage.DependencyCounter.
// ReaderLimits.MaxDependencySpans bounds the spans of those partial minutes.
func (s *Store) Dependencies(ctx context.Context, end time.Time, lookback time.Duration) ([]storage.Dependency, error) {
	c, err := storage.NewDependencyCounter(end, lookback)
	if err != nil {
		return nil, fmt.Errorf("badger: %w", err)
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	lo, hi := c.Window()
	sums := make(map[string]map[string]*storage.Dependency) // parent, child
	err = s.db.View(func(txn *badgerdb.Txn) error {
		d := depScan{s: s, ctx: ctx, txn: txn, c: c}
		// Whole minutes: [m0, m1).
		m0 := ceilTo(max(lo, math.MinInt64/2), minuteNs)
		m1 := int64(math.MaxInt64)
		if hi < math.MaxInt64 {
			m1 = floorTo(hi+1, minuteNs)
		}
		if m0 >= m1 {
			return d.exact(lo, hi)
		}
		if err := d.exact(lo, m0-1); err != nil {
			return err
		}
		if err := d.exact(m1, hi); err != nil {
			return err
		}
		for _, r := range cover(m0, m1, func(aggLevel) bool { return true }) {
			if err := sumEdges(ctx, txn, r.level, r.from, r.to, sums); err != nil {
				return err
			}
		}
		return d.skewed(m0, m1)
	})
	if err != nil {
		return nil, fmt.Errorf("badger: dependencies: %w", err)
	}
	out := c.Dependencies()
	if len(sums) == 0 {
		return out, nil
	}
	for _, dep := range out {
		byChild := sums[dep.Parent]
		if byChild == nil {
			byChild = make(map[string]*storage.Dependency)
			sums[dep.Parent] = byChild
		}
		if sum := byChild[dep.Child]; sum != nil {
			sum.CallCount += dep.CallCount
			sum.ErrorCount += dep.ErrorCount
		} else {
			byChild[dep.Child] = &dep
		}
	}
	out = out[:0]
	for _, byChild := range sums {
		for _, d := range byChild {
			out = append(out, *d)
		}
	}
	storage.SortDependencies(out)
	return out, nil
}

// sumEdges adds the edge aggregates of a level over buckets [from, to).
func sumEdges(ctx context.Context, txn *badgerdb.Txn, level byte, from, to int64, sums map[string]map[string]*storage.Dependency) error {
	if from >= to {
		return nil
	}
	prefix := []byte{pEdge, level}
	it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	stop := appendTime(prefix, to)
	n := 0
	for it.Seek(appendTime(prefix, from)); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		item := it.Item()
		if bytes.Compare(item.Key(), stop) >= 0 {
			break
		}
		err := item.Value(func(v []byte) error {
			parent, v, ok := cutString(v)
			child, v, ok2 := cutString(v)
			calls, v, ok3 := cutUvarint(v)
			errs, _, ok4 := cutUvarint(v)
			if !ok || !ok2 || !ok3 || !ok4 {
				return fmt.Errorf("edge aggregate %x: %w", item.Key(), errTruncated)
			}
			byChild := sums[string(parent)]
			if byChild == nil {
				byChild = make(map[string]*storage.Dependency)
				sums[string(parent)] = byChild
			}
			d := byChild[string(child)]
			if d == nil {
				d = &storage.Dependency{Parent: string(parent), Child: string(child)}
				byChild[d.Child] = d
			}
			d.CallCount += calls
			d.ErrorCount += errs
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// depScan counts edges from spans.
type depScan struct {
	s     *Store
	ctx   context.Context
	txn   *badgerdb.Txn
	c     *storage.DependencyCounter
	spans int // read so far, against MaxDependencySpans
}

// skewed counts the edges of children that started in [from, to) whose
// parent started after them: the counter tests the parent against the
// window's end.
func (d *depScan) skewed(from, to int64) error {
	prefix := []byte{pSkew}
	it := d.txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix, PrefetchValues: true})
	defer it.Close()
	stop := appendTime(prefix, to)
	for it.Seek(appendTime(prefix, from)); it.Valid(); it.Next() {
		item := it.Item()
		if bytes.Compare(item.Key(), stop) >= 0 {
			break
		}
		err := item.Value(func(v []byte) error {
			if len(v) < 9 {
				return fmt.Errorf("skewed edge value of %d bytes", len(v))
			}
			dec := decoder{s: string(v[9:])}
			parent, child := dec.string(), dec.string()
			if dec.err != nil {
				return fmt.Errorf("skewed edge: %w", dec.err)
			}
			d.c.Count(parent, readTime(v), child, storage.StatusCode(v[8]))
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// exact counts the edges of the child spans that started in [lo, hi]: it
// scans the start-time index, whose values carry what an edge needs, then
// reads the spans of the parents that started outside the range.
func (d *depScan) exact(lo, hi int64) error {
	if lo > hi {
		return nil
	}
	type dnode struct {
		service  string
		parent   storage.SpanID
		start    int64
		status   storage.StatusCode
		inWindow bool // a child to count; false for parents read from outside
	}
	type ids struct {
		t storage.TraceID
		s storage.SpanID
	}
	nodes := make(map[ids]dnode)
	intern := make(map[string]string)
	it := d.txn.NewIterator(badgerdb.IteratorOptions{Prefix: []byte{pTime}})
	defer func() {
		if it != nil {
			it.Close()
		}
	}()
	n := 0
	for it.Seek(appendTime([]byte{pTime}, lo)); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			if err := d.ctx.Err(); err != nil {
				return err
			}
		}
		item := it.Item()
		sfx, ok := parseSuffix(item.Key())
		if !ok {
			continue
		}
		if sfx.start > hi {
			break
		}
		if d.spans++; d.spans > d.s.limits.MaxDependencySpans {
			return fmt.Errorf("more than %d spans to read in the window's partial minutes, ask for a shorter lookback: %w", d.s.limits.MaxDependencySpans, storage.ErrInvalidQuery)
		}
		err := item.Value(func(v []byte) error {
			if len(v) < 9 {
				return fmt.Errorf("time index value of %d bytes", len(v))
			}
			nd := dnode{status: storage.StatusCode(v[8]), start: sfx.start, inWindow: true}
			copy(nd.parent[:], v[:8])
			svc, ok := intern[string(v[9:])]
			if !ok {
				svc = string(v[9:])
				intern[svc] = svc
			}
			nd.service = svc
			nodes[ids{sfx.trace, sfx.span}] = nd
			return nil
		})
		if err != nil {
			return err
		}
	}
	it.Close()
	it = nil
	// Parents outside the range: read their spans.
	var key []byte
	var outside []ids
	for id, nd := range nodes {
		pid := ids{id.t, nd.parent}
		if _, ok := nodes[pid]; ok || nd.parent.IsZero() || !nd.inWindow {
			continue
		}
		outside = append(outside, pid)
	}
	for _, pid := range outside {
		if n++; n%4096 == 0 {
			if err := d.ctx.Err(); err != nil {
				return err
			}
		}
		if _, ok := nodes[pid]; ok {
			continue
		}
		key = spanKey(key[:0], pid.t, pid.s)
		item, err := d.txn.Get(key)
		if errors.Is(err, badgerdb.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		var p dnode
		err = item.Value(func(v []byte) error {
			nd, err := decodeNode(v)
			if err == nil {
				p = dnode{service: nd.service, parent: nd.parent, start: nd.start}
			}
			return err
		})
		if err != nil {
			return err
		}
		nodes[pid] = p
	}
	for id, nd := range nodes {
		if nd.parent.IsZero() || !nd.inWindow {
			continue
		}
		if p, ok := nodes[ids{id.t, nd.parent}]; ok {
			d.c.Count(p.service, p.start, nd.service, nd.status)
		}
	}
	return nil
}
