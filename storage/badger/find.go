package badger

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"math"
	"slices"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
)

// plan is how FindTraces reads an index.
type plan struct {
	prefix []byte
	// verify is set when the index key alone does not prove a match, so
	// each hit's span must be read and tested with Query.Matches.
	verify bool
	// byDuration scans the duration index of a service, in duration order.
	byDuration bool
}

// choosePlan picks the most selective index for q: an attribute, then
// service and operation, then service and duration, then service, then start
// time alone.
func choosePlan(q *storage.Query) plan {
	// The attribute index holds, for a key and value, every span whose
	// attribute or resource attribute has it: hits are confirmed.
	for _, m := range []map[string]string{q.Attributes, q.ResourceAttributes} {
		keys := make([]string, 0, len(m))
		for k := range m {
			if indexedAttr(k) {
				keys = append(keys, k)
			}
		}
		if len(keys) > 0 {
			slices.Sort(keys)
			k := keys[0]
			return plan{prefix: appendTerm(appendTerm([]byte{pAttr}, k), m[k]), verify: true}
		}
	}
	// Attributes left (not indexed), resource attributes and the status
	// are tested on each hit's span.
	attrs := len(q.Attributes) > 0 || len(q.ResourceAttributes) > 0 || q.Status != storage.AnyStatus
	dur := q.DurationMin > 0 || q.DurationMax > 0
	longSvc := len(q.Service) > maxInlineTerm
	switch {
	case q.Service != "" && q.Operation != "":
		p := appendTerm(appendTerm([]byte{pOp}, q.Service), q.Operation)
		return plan{prefix: p, verify: attrs || q.Kind != 0 || dur || longSvc || len(q.Operation) > maxInlineTerm}
	case q.Service != "" && dur:
		p := appendTerm([]byte{pDuration}, q.Service)
		return plan{prefix: p, verify: attrs || q.Kind != 0 || longSvc, byDuration: true}
	case q.Service != "":
		p := appendTerm([]byte{pService}, q.Service)
		return plan{prefix: p, verify: attrs || q.Kind != 0 || longSvc}
	default:
		return plan{prefix: []byte{pTime}, verify: attrs || q.Kind != 0 || q.Operation != "" || dur}
	}
}

// FindTraces reads the index chosen for q from the most recent start time
// down, testing each hit's span when the index alone does not settle the
// match, until it has q.Limit traces; then it loads those traces whole.
func (s *Store) FindTraces(ctx context.Context, q storage.Query) ([]storage.Trace, error) {
	var out []storage.Trace
	err := s.find(ctx, &q, func(txn *badgerdb.Txn, ids []storage.TraceID, res *resources) error {
		out = make([]storage.Trace, 0, len(ids))
		for _, id := range ids {
			tr, err := loadTrace(ctx, txn, id, s.limits.MaxTraceSpans, res)
			if err != nil {
				return err
			}
			if len(tr.Spans) > 0 {
				out = append(out, tr)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: find traces: %w", err)
	}
	return out, nil
}

// FindTraceIDs returns the ids of the traces FindTraces returns for q, in
// the same order, without reading the traces.
func (s *Store) FindTraceIDs(ctx context.Context, q storage.Query) ([]storage.TraceID, error) {
	var out []storage.TraceID
	err := s.find(ctx, &q, func(_ *badgerdb.Txn, ids []storage.TraceID, _ *resources) error {
		out = ids
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: find trace ids: %w", err)
	}
	if out == nil {
		out = []storage.TraceID{}
	}
	return out, nil
}

// FindTraceSummaries returns the summaries of the traces FindTraces returns
// for q, in the same order: each trace is one prefix scan that decodes only
// the head of each span (ids, name, times, status, service).
func (s *Store) FindTraceSummaries(ctx context.Context, q storage.Query) ([]storage.TraceSummary, error) {
	var out []storage.TraceSummary
	err := s.find(ctx, &q, func(txn *badgerdb.Txn, ids []storage.TraceID, _ *resources) error {
		out = make([]storage.TraceSummary, 0, len(ids))
		var b storage.SummaryBuilder
		for _, id := range ids {
			n, err := summarize(ctx, txn, id, &b)
			if err != nil {
				return err
			}
			if n > 0 {
				out = append(out, b.Summary())
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: find trace summaries: %w", err)
	}
	return out, nil
}

// summarize adds every stored span of trace id to b (after Reset) and
// returns how many there were.
func summarize(ctx context.Context, txn *badgerdb.Txn, id storage.TraceID, b *storage.SummaryBuilder) (int, error) {
	b.Reset(id)
	prefix := append([]byte{pSpan}, id[:]...)
	it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 100})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		err := it.Item().Value(func(v []byte) error {
			nd, err := decodeNode(v)
			if err != nil {
				return err
			}
			sp := nd.span()
			b.Add(&sp)
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("trace %s: %w", id, err)
		}
	}
	return n, nil
}

// find validates q, finds the ids of the matching traces, most recent
// first, and calls fn with them in the same transaction.
func (s *Store) find(ctx context.Context, q *storage.Query, fn func(txn *badgerdb.Txn, ids []storage.TraceID, res *resources) error) error {
	limit := q.Limit
	switch {
	case limit < 0 || limit > s.limits.MaxTraces:
		return fmt.Errorf("limit %d: want 0 to %d: %w", limit, s.limits.MaxTraces, storage.ErrInvalidQuery)
	case limit == 0:
		limit = storage.DefaultLimit
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.StartMin.IsZero() {
		lo = q.StartMin.UnixNano()
	}
	if !q.StartMax.IsZero() {
		hi = q.StartMax.UnixNano()
	}
	if lo > hi {
		return fn(nil, []storage.TraceID{}, nil)
	}
	p := choosePlan(q)
	return s.db.View(func(txn *badgerdb.Txn) error {
		var ids []storage.TraceID
		var err error
		res := newResources(txn)
		if p.byDuration {
			ids, err = findByDuration(ctx, txn, q, p, lo, hi, limit, res)
		} else {
			ids, err = findByTime(ctx, txn, q, p, lo, hi, limit, res)
		}
		if err != nil {
			return err
		}
		return fn(txn, ids, res)
	})
}

// matches reads the span a hit points at and tests it against q.
func matches(txn *badgerdb.Txn, q *storage.Query, sfx suffix, key []byte, res *resources) (bool, []byte, error) {
	key = spanKey(key[:0], sfx.trace, sfx.span)
	sp, ok, err := getSpan(txn, key, res)
	if err != nil || !ok {
		return false, key, err
	}
	return q.Matches(&sp), key, nil
}

// findByTime walks a time-ordered index backwards from hi to lo.
func findByTime(ctx context.Context, txn *badgerdb.Txn, q *storage.Query, p plan, lo, hi int64, limit int, res *resources) ([]storage.TraceID, error) {
	it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: p.prefix, Reverse: true})
	defer it.Close()
	seek := appendTime(slices.Clip(p.prefix), hi)
	seek = append(seek, bytes.Repeat([]byte{0xff}, idLen)...)
	found := make(map[storage.TraceID]struct{}, min(limit, 1024))
	var ids []storage.TraceID
	var buf []byte
	n := 0
	for it.Seek(seek); it.Valid() && len(ids) < limit; it.Next() {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		k := it.Item().Key()
		if len(k) != len(p.prefix)+suffixLen {
			continue // a longer key that shares the prefix (another term)
		}
		sfx, _ := parseSuffix(k)
		if sfx.start < lo {
			break
		}
		if _, ok := found[sfx.trace]; ok {
			continue
		}
		if p.verify {
			var ok bool
			var err error
			ok, buf, err = matches(txn, q, sfx, buf, res)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		found[sfx.trace] = struct{}{}
		ids = append(ids, sfx.trace)
	}
	return ids, nil
}

// findByDuration walks a service's duration index over the duration range,
// keeping the limit traces with the latest matching spans.
func findByDuration(ctx context.Context, txn *badgerdb.Txn, q *storage.Query, p plan, lo, hi int64, limit int, res *resources) ([]storage.TraceID, error) {
	it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: p.prefix})
	defer it.Close()
	dmax := uint64(math.MaxInt64)
	if q.DurationMax > 0 {
		dmax = uint64(q.DurationMax)
	}
	top := newTopK(limit)
	var buf []byte
	n := 0
	for it.Seek(appendDuration(slices.Clip(p.prefix), int64(q.DurationMin))); it.Valid(); it.Next() {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		k := it.Item().Key()
		if len(k) != len(p.prefix)+8+suffixLen {
			continue
		}
		if d := beUint64(k[len(p.prefix):]); d > dmax {
			break
		}
		sfx, _ := parseSuffix(k)
		if sfx.start < lo || sfx.start > hi || !top.wants(sfx.trace, sfx.start) {
			continue
		}
		if p.verify {
			ok, b, err := matches(txn, q, sfx, buf, res)
			buf = b
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		top.add(sfx.trace, sfx.start)
	}
	return top.sorted(), nil
}

func beUint64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

// topK keeps the k traces with the latest start times seen, each trace
// counted once at its latest start.
type topK struct {
	k    int
	h    topHeap
	byID map[storage.TraceID]*topItem
}

type topItem struct {
	id    storage.TraceID
	start int64
	index int
}

type topHeap []*topItem // a min-heap on start: the root is evicted first

func (h topHeap) Len() int { return len(h) }
func (h topHeap) Less(i, j int) bool {
	if h[i].start != h[j].start {
		return h[i].start < h[j].start
	}
	return bytes.Compare(h[i].id[:], h[j].id[:]) > 0
}
func (h topHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *topHeap) Push(x any) {
	it := x.(*topItem)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *topHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}

func newTopK(k int) *topK {
	return &topK{k: k, byID: make(map[storage.TraceID]*topItem, min(k, 1024))}
}

// wants reports whether a span of trace id starting at start could change
// the result, to skip reading spans that cannot.
func (t *topK) wants(id storage.TraceID, start int64) bool {
	if it, ok := t.byID[id]; ok {
		return start > it.start
	}
	return len(t.h) < t.k || start > t.h[0].start
}

func (t *topK) add(id storage.TraceID, start int64) {
	if it, ok := t.byID[id]; ok {
		if start > it.start {
			it.start = start
			heap.Fix(&t.h, it.index)
		}
		return
	}
	if len(t.h) < t.k {
		it := &topItem{id: id, start: start}
		heap.Push(&t.h, it)
		t.byID[id] = it
		return
	}
	if start <= t.h[0].start {
		return
	}
	old := heap.Pop(&t.h).(*topItem)
	delete(t.byID, old.id)
	it := &topItem{id: id, start: start}
	heap.Push(&t.h, it)
	t.byID[id] = it
}

// sorted returns the kept traces, latest first.
func (t *topK) sorted() []storage.TraceID {
	items := slices.Clone(t.h)
	slices.SortFunc(items, func(a, b *topItem) int {
		if c := cmp.Compare(b.start, a.start); c != 0 {
			return c
		}
		return bytes.Compare(a.id[:], b.id[:])
	})
	ids := make([]storage.TraceID, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	return ids
}
