package memory

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// errClosed is returned by every method of a closed Store.
var errClosed = errors.New("memory: store closed")

// Store is a bounded in-memory storage.Store. It is safe for concurrent use.
//
// Spans are kept in arrays of one write each (a write costs a few
// allocations, not a few per span) and indexed by trace: the memory of a
// write is released once all of its spans are evicted or purged. Eviction
// goes by trace, oldest write first, so that is soon in practice.
type Store struct {
	maxSpans int

	mu       sync.RWMutex
	closed   bool
	traces   map[storage.TraceID]*trace
	order    []orderEntry // traces by first write, oldest first, from head
	head     int
	seq      uint64
	gen      uint64 // WriteSpans calls so far: trace.mark
	spans    int
	services map[string]int                       // span count per service
	ops      map[string]map[storage.Operation]int // span count per operation
	evTraces uint64
	evSpans  uint64

	// Slabs that new traces and their first span pointers are cut from,
	// and the scratch of the index counts of one write; all under mu.
	traceSlab []trace
	ptrSlab   []*storage.Span
	counts    counts
}

type trace struct {
	seq   uint64
	mark  uint64 // the Store.gen of the last write to the trace
	spans []*storage.Span
	byID  map[storage.SpanID]int // index in spans, once there are many
}

// linearMax is the number of spans of a trace up to which spans are found
// by a linear search rather than through trace.byID.
const linearMax = 16

// find returns the index of the span with id in t.spans, or -1.
func (t *trace) find(id storage.SpanID) int {
	if t.byID != nil {
		if i, ok := t.byID[id]; ok {
			return i
		}
		return -1
	}
	for i, sp := range t.spans {
		if sp.SpanID == id {
			return i
		}
	}
	return -1
}

// add appends sp, which t does not hold yet.
func (t *trace) add(sp *storage.Span) {
	t.spans = append(t.spans, sp)
	switch {
	case t.byID != nil:
		t.byID[sp.SpanID] = len(t.spans) - 1
	case len(t.spans) > linearMax:
		t.reindex()
	}
}

// reindex rebuilds t.byID after spans were removed or grew past linearMax.
func (t *trace) reindex() {
	if len(t.spans) <= linearMax {
		t.byID = nil
		return
	}
	t.byID = make(map[storage.SpanID]int, 2*len(t.spans))
	for i, sp := range t.spans {
		t.byID[sp.SpanID] = i
	}
}

// orderEntry is a trace in Store.order; it is stale when the trace was
// dropped (it has no spans) or moved to the back (its seq changed).
type orderEntry struct {
	id  storage.TraceID
	t   *trace
	seq uint64
}

func (e *orderEntry) live() bool { return len(e.t.spans) > 0 && e.t.seq == e.seq }

// Stats describes a Store's contents and evictions.
type Stats struct {
	Traces        int
	Spans         int
	EvictedTraces uint64
	EvictedSpans  uint64
}

var (
	_ storage.Store       = (*Store)(nil)
	_ storage.OwnedWriter = (*Store)(nil)
)

// New returns an empty store.
func New(opts ...Option) *Store {
	c := config{maxSpans: DefaultMaxSpans}
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	return &Store{
		maxSpans: c.maxSpans,
		traces:   make(map[storage.TraceID]*trace),
		services: make(map[string]int),
		ops:      make(map[string]map[storage.Operation]int),
	}
}

// Stats returns the store's current counts.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Stats{Traces: len(s.traces), Spans: s.spans, EvictedTraces: s.evTraces, EvictedSpans: s.evSpans}
}

// WriteSpans stores copies of spans, evicting the traces written longest ago
// when the store is full. A batch larger than the store's capacity is
// rejected with a permanent error.
func (s *Store) WriteSpans(ctx context.Context, spans []storage.Span) error {
	if err := s.check(ctx, spans); err != nil {
		return err
	}
	return s.write(deepCopy(spans))
}

// WriteOwnedSpans is WriteSpans for spans whose slices and strings the
// caller hands over (see storage.OwnedWriter): the store copies the Span
// values only.
func (s *Store) WriteOwnedSpans(ctx context.Context, spans []storage.Span) error {
	if err := s.check(ctx, spans); err != nil {
		return err
	}
	return s.write(slices.Clone(spans))
}

func (s *Store) check(ctx context.Context, spans []storage.Span) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(spans) > s.maxSpans {
		return storage.Permanent(fmt.Errorf("memory: batch of %d spans exceeds the store's capacity of %d", len(spans), s.maxSpans))
	}
	return nil
}

// deepCopy copies spans and the slices they refer to into a few arrays.
// Consecutive spans that share a Resource slice share its copy.
func deepCopy(spans []storage.Span) []storage.Span {
	out := slices.Clone(spans)
	var nattrs, nevents, nlinks int
	for i := range spans {
		sp := &spans[i]
		if i == 0 || !sameAttrs(sp.Resource, spans[i-1].Resource) {
			nattrs += len(sp.Resource)
		}
		nattrs += len(sp.Attributes)
		nevents += len(sp.Events)
		nlinks += len(sp.Links)
		for _, e := range sp.Events {
			nattrs += len(e.Attributes)
		}
		for _, l := range sp.Links {
			nattrs += len(l.Attributes)
		}
	}
	attrs := make([]storage.Attribute, 0, nattrs)
	take := func(a []storage.Attribute) []storage.Attribute {
		if a == nil {
			return nil
		}
		n := len(attrs)
		attrs = append(attrs, a...)
		return attrs[n:len(attrs):len(attrs)]
	}
	var events []storage.Event
	if nevents > 0 {
		events = make([]storage.Event, 0, nevents)
	}
	var links []storage.Link
	if nlinks > 0 {
		links = make([]storage.Link, 0, nlinks)
	}
	for i := range out {
		sp := &out[i]
		if i > 0 && sameAttrs(spans[i].Resource, spans[i-1].Resource) {
			sp.Resource = out[i-1].Resource
		} else {
			sp.Resource = take(sp.Resource)
		}
		sp.Attributes = take(sp.Attributes)
		if sp.Events != nil {
			n := len(events)
			for _, e := range sp.Events {
				e.Attributes = take(e.Attributes)
				events = append(events, e)
			}
			sp.Events = events[n:len(events):len(events)]
		}
		if sp.Links != nil {
			n := len(links)
			for _, l := range sp.Links {
				l.Attributes = take(l.Attributes)
				links = append(links, l)
			}
			sp.Links = links[n:len(links):len(links)]
		}
	}
	return out
}

// sameAttrs reports whether a and b are the same slice (not merely equal).
func sameAttrs(a, b []storage.Attribute) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// write indexes spans, which the store owns, and evicts.
func (s *Store) write(spans []storage.Span) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	s.gen++
	var t *trace
	for i := range spans {
		sp := &spans[i]
		if t == nil || sp.TraceID != spans[i-1].TraceID {
			t = s.traces[sp.TraceID]
			if t == nil {
				t = s.newTrace()
				s.traces[sp.TraceID] = t
				s.order = append(s.order, orderEntry{id: sp.TraceID, t: t, seq: t.seq})
			}
			t.mark = s.gen
		}
		if j := t.find(sp.SpanID); j >= 0 {
			s.countSpan(t.spans[j], -1)
			t.spans[j] = sp
		} else {
			s.spans++
			t.add(sp)
		}
		s.countSpan(sp, 1)
	}
	s.evict()
	s.flushCounts()
	return nil
}

// newTrace returns a new trace cut from the slabs, with room for two spans.
func (s *Store) newTrace() *trace {
	const traceSlab, ptrSlab = 256, 1024
	if len(s.traceSlab) == cap(s.traceSlab) {
		s.traceSlab = make([]trace, 0, traceSlab)
	}
	if cap(s.ptrSlab)-len(s.ptrSlab) < 2 {
		s.ptrSlab = make([]*storage.Span, 0, ptrSlab)
	}
	s.seq++
	n := len(s.ptrSlab)
	s.ptrSlab = s.ptrSlab[:n+2]
	s.traceSlab = append(s.traceSlab, trace{seq: s.seq, spans: s.ptrSlab[n : n : n+2]})
	return &s.traceSlab[len(s.traceSlab)-1]
}

// counts gathers the changes to the service and operation counts of one
// write, so that the maps are updated once per distinct operation rather
// than once per span. It is used under Store.mu.
type counts struct {
	ops []opCount
}

type opCount struct {
	service string
	op      storage.Operation
	n       int
}

// maxOpCounts bounds counts.ops: past it, changes go to the maps at once.
const maxOpCounts = 8

// countSpan adds n to the counts of sp's service and operation.
func (s *Store) countSpan(sp *storage.Span, n int) {
	c := &s.counts
	for i := range c.ops {
		o := &c.ops[i]
		if o.op.Kind == sp.Kind && o.op.Name == sp.Name && o.service == sp.Service {
			o.n += n
			return
		}
	}
	op := storage.Operation{Name: sp.Name, Kind: sp.Kind}
	if len(c.ops) == maxOpCounts {
		s.count(sp.Service, op, n)
		return
	}
	c.ops = append(c.ops, opCount{service: sp.Service, op: op, n: n})
}

// flushCounts applies the changes gathered by countSpan to the maps.
func (s *Store) flushCounts() {
	c := &s.counts
	for _, o := range c.ops {
		s.count(o.service, o.op, o.n)
	}
	clear(c.ops)
	c.ops = c.ops[:0]
}

// count adds n to the span counts of service and op, removing counts that
// drop to zero.
func (s *Store) count(service string, op storage.Operation, n int) {
	if n == 0 {
		return
	}
	if s.services[service] += n; s.services[service] <= 0 {
		delete(s.services, service)
	}
	m := s.ops[service]
	if m == nil {
		m = make(map[storage.Operation]int)
		s.ops[service] = m
	}
	if m[op] += n; m[op] <= 0 {
		delete(m, op)
	}
	if len(m) == 0 {
		delete(s.ops, service)
	}
}

// evict removes whole traces, written longest ago first, until the store
// holds at most maxSpans. Traces of the current write go last.
func (s *Store) evict() {
	// First pass: spare the traces of the write, moving them to the back.
	for pass := len(s.order) - s.head; s.spans > s.maxSpans && pass > 0; pass-- {
		e := s.order[s.head]
		s.order[s.head] = orderEntry{}
		s.head++
		if !e.live() {
			continue // purged, evicted or moved already
		}
		t := e.t
		if t.mark == s.gen {
			s.seq++
			t.seq = s.seq
			s.order = append(s.order, orderEntry{id: e.id, t: t, seq: t.seq})
			continue
		}
		s.drop(e.id, t, true)
	}
	// Second pass: the write's own traces, when they alone are too many.
	for s.spans > s.maxSpans && s.head < len(s.order) {
		e := s.order[s.head]
		s.order[s.head] = orderEntry{}
		s.head++
		if e.live() {
			s.drop(e.id, e.t, true)
		}
	}
	if s.head > 1024 && s.head > len(s.order)/2 {
		n := copy(s.order, s.order[s.head:])
		clear(s.order[n:])
		s.order, s.head = s.order[:n], 0
	}
}

// drop removes trace id, t, and lets go of its spans. Under s.mu, during a
// write (its counts are flushed by the write).
func (s *Store) drop(id storage.TraceID, t *trace, evicted bool) {
	for _, sp := range t.spans {
		s.countSpan(sp, -1)
	}
	s.spans -= len(t.spans)
	if evicted {
		s.evTraces++
		s.evSpans += uint64(len(t.spans))
	}
	delete(s.traces, id)
	// t may live on in its slab: let its spans go.
	clear(t.spans)
	t.spans, t.byID = nil, nil
}

// Trace returns a copy of every stored span of the trace.
func (s *Store) Trace(ctx context.Context, id storage.TraceID) (storage.Trace, error) {
	if err := ctx.Err(); err != nil {
		return storage.Trace{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return storage.Trace{}, errClosed
	}
	t := s.traces[id]
	if t == nil {
		return storage.Trace{}, storage.ErrNotFound
	}
	return copyTrace(id, t), nil
}

func copyTrace(id storage.TraceID, t *trace) storage.Trace {
	out := storage.Trace{ID: id, Spans: make([]storage.Span, 0, len(t.spans))}
	for _, sp := range t.spans {
		out.Spans = append(out.Spans, sp.Copy())
	}
	return out
}

// FindTraces scans every stored trace for spans matching q.
func (s *Store) FindTraces(ctx context.Context, q storage.Query) ([]storage.Trace, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = storage.DefaultLimit
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	type hit struct {
		id    storage.TraceID
		t     *trace
		start int64
	}
	var hits []hit
	for id, t := range s.traces {
		found, best := false, int64(0)
		for _, sp := range t.spans {
			if (!found || sp.StartTime > best) && q.Matches(sp) {
				found, best = true, sp.StartTime
			}
		}
		if found {
			hits = append(hits, hit{id, t, best})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := cmp.Compare(b.start, a.start); c != 0 {
			return c
		}
		return bytes.Compare(a.id[:], b.id[:])
	})
	hits = hits[:min(len(hits), limit)]
	out := make([]storage.Trace, len(hits))
	for i, h := range hits {
		out[i] = copyTrace(h.id, h.t)
	}
	return out, nil
}

// Services returns the services of the stored spans, sorted.
func (s *Store) Services(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	out := make([]string, 0, len(s.services))
	for name := range s.services {
		out = append(out, name)
	}
	slices.Sort(out)
	return out, nil
}

// Operations returns the operations of service's stored spans, sorted by name
// then kind.
func (s *Store) Operations(ctx context.Context, service string, kind storage.SpanKind) ([]storage.Operation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	var out []storage.Operation
	for op := range s.ops[service] {
		if kind == storage.KindUnspecified || op.Kind == kind {
			out = append(out, op)
		}
	}
	storage.SortOperations(out)
	return out, nil
}

// Dependencies counts the edges between spans that started in the window and
// their parent spans of other services that started before the window's
// end.
func (s *Store) Dependencies(ctx context.Context, end time.Time, lookback time.Duration) ([]storage.Dependency, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hi := end.UnixNano()
	lo := end.Add(-lookback).UnixNano()
	in := func(sp *storage.Span) bool { return sp.StartTime >= lo && sp.StartTime <= hi }
	type edge struct{ parent, child string }
	counts := make(map[edge]*storage.Dependency)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	for _, t := range s.traces {
		for _, sp := range t.spans {
			if sp.ParentSpanID.IsZero() || !in(sp) {
				continue
			}
			j := t.find(sp.ParentSpanID)
			if j < 0 {
				continue
			}
			p := t.spans[j]
			if p.StartTime > hi || p.Service == sp.Service {
				continue
			}
			e := edge{p.Service, sp.Service}
			d := counts[e]
			if d == nil {
				d = &storage.Dependency{Parent: e.parent, Child: e.child}
				counts[e] = d
			}
			d.CallCount++
			if sp.StatusCode == storage.StatusError {
				d.ErrorCount++
			}
		}
	}
	out := make([]storage.Dependency, 0, len(counts))
	for _, d := range counts {
		out = append(out, *d)
	}
	storage.SortDependencies(out)
	return out, nil
}

// Purge deletes the spans that started before t, and traces left empty.
func (s *Store) Purge(ctx context.Context, before time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cut := before.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	for id, t := range s.traces {
		kept := t.spans[:0]
		for _, sp := range t.spans {
			if sp.StartTime < cut {
				s.countSpan(sp, -1)
				s.spans--
			} else {
				kept = append(kept, sp)
			}
		}
		if len(kept) < len(t.spans) {
			clear(t.spans[len(kept):])
			t.spans = kept
			t.reindex()
		}
		if len(t.spans) == 0 {
			s.drop(id, t, false)
		}
	}
	s.flushCounts()
	live := s.order[:0]
	for _, e := range s.order[s.head:] {
		if e.live() {
			live = append(live, e)
		}
	}
	clear(s.order[len(live):])
	s.order, s.head = live, 0
	return nil
}

// Close releases the store's memory; later calls return an error.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.traces, s.services, s.ops, s.order = nil, nil, nil, nil
	s.traceSlab, s.ptrSlab = nil, nil
	return nil
}
