package memory

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// errClosed is returned by every method of a closed Store.
var errClosed = errors.New("memory: store closed")

// Store is a bounded in-memory storage.Store. It is safe for concurrent use.
//
// A write's spans are copied into chunks of a few arrays each (a write costs
// a few allocations, not a few per span) and indexed by trace: a chunk's
// memory is released, and leaves the byte count, once all of the spans that
// refer to it are evicted, purged or written again. Eviction goes by trace,
// oldest write first, so that is soon in practice.
type Store struct {
	maxSpans int
	maxBytes int64
	limits   storage.ReaderLimits

	mu       sync.RWMutex
	closed   bool
	traces   map[storage.TraceID]*trace
	order    []orderEntry // traces by first write, oldest first, from head
	head     int
	seq      uint64
	gen      uint64 // WriteSpans calls so far: trace.mark
	spans    int
	bytes    int64               // held by the chunks stored spans refer to
	services map[string]*svcStat // the stored spans of each service, by operation
	lastOp   *opStat             // the operation of the last span counted in
	evTraces uint64
	evSpans  uint64

	// Slabs that new traces and their first span pointers are cut from;
	// under mu.
	traceSlab []trace
	ptrSlab   []*entry
}

type trace struct {
	seq   uint64
	mark  uint64 // the Store.gen of the last write to the trace
	spans []*entry
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
func (t *trace) add(sp *entry) {
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
	Bytes         int64 // memory held for the spans, as the byte cap counts it
	EvictedTraces uint64
	EvictedSpans  uint64
}

var _ storage.Store = (*Store)(nil)

// New returns an empty store.
func New(opts ...Option) *Store {
	c := config{maxSpans: DefaultMaxSpans, maxBytes: DefaultMaxBytes}
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	return &Store{
		maxSpans: c.maxSpans,
		maxBytes: c.maxBytes,
		limits:   c.limits.WithDefaults(),
		traces:   make(map[storage.TraceID]*trace),
		services: make(map[string]*svcStat),
	}
}

// Stats returns the store's current counts.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Stats{Traces: len(s.traces), Spans: s.spans, Bytes: s.bytes, EvictedTraces: s.evTraces, EvictedSpans: s.evSpans}
}

// WriteSpans stores copies of spans, evicting the traces written longest ago
// when the store is full (the traces of this write last, when it alone is
// more than the store holds). It rejects (storage.RejectedError) a span with
// a zero trace or span id, and one larger than the whole store.
func (s *Store) WriteSpans(ctx context.Context, spans []storage.Span) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, chunks, rejected := copySpans(spans, s.maxBytes)
	if err := s.write(entries, chunksBytes(chunks)); err != nil {
		return err
	}
	return storage.Reject(rejected...)
}

// chunksBytes is the memory chunks hold.
func chunksBytes(chunks []chunk) int64 {
	n := int64(0)
	for i := range chunks {
		n += chunks[i].bytes
	}
	return n
}

// write indexes spans, which the store owns, whose chunks hold bytes, and
// evicts.
func (s *Store) write(spans []*entry, bytes int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	s.gen++
	s.bytes += bytes
	var t *trace
	for i := range spans {
		sp := spans[i]
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
			s.uncount(t.spans[j])
			s.release(t.spans[j])
			t.spans[j] = sp
		} else {
			s.spans++
			t.add(sp)
		}
		s.countIn(sp)
	}
	s.evict()
	return nil
}

// full reports whether the store holds more than its caps.
func (s *Store) full() bool { return s.spans > s.maxSpans || s.bytes > s.maxBytes }

// release lets go of e's share of its chunks.
func (s *Store) release(e *entry) {
	for _, c := range [2]*chunk{e.own, e.res} {
		if c == nil {
			continue
		}
		if c.refs--; c.refs == 0 {
			s.bytes -= c.bytes
		}
	}
}

// newTrace returns a new trace cut from the slabs, with room for two spans.
func (s *Store) newTrace() *trace {
	const traceSlab, ptrSlab = 256, 1024
	if len(s.traceSlab) == cap(s.traceSlab) {
		s.traceSlab = make([]trace, 0, traceSlab)
	}
	if cap(s.ptrSlab)-len(s.ptrSlab) < 2 {
		s.ptrSlab = make([]*entry, 0, ptrSlab)
	}
	s.seq++
	n := len(s.ptrSlab)
	s.ptrSlab = s.ptrSlab[:n+2]
	s.traceSlab = append(s.traceSlab, trace{seq: s.seq, spans: s.ptrSlab[n : n : n+2]})
	return &s.traceSlab[len(s.traceSlab)-1]
}

// svcStat counts the stored spans of a service, and of each of its
// operations.
type svcStat struct {
	name string // the store's own copy, not a chunk's
	n    int
	ops  map[storage.Operation]*opStat
}

// opStat counts the stored spans of one operation of a service. Each
// stored entry points at its own, so that counting a span out (eviction,
// purge, overwrite) is two decrements and no map lookup.
type opStat struct {
	op  storage.Operation // its Name the store's own copy
	n   int
	svc *svcStat
}

// countIn counts e in its service and operation, creating their counts
// when they are new.
func (s *Store) countIn(e *entry) {
	o := s.lastOp
	if o == nil || o.op.Kind != e.Kind || o.op.Name != e.Name || o.svc.name != e.Service {
		o = s.opStat(e.Service, storage.Operation{Name: e.Name, Kind: e.Kind})
		s.lastOp = o
	}
	e.op = o
	o.n++
	o.svc.n++
}

// opStat returns the count of service's op, creating it (with copies of
// the strings, so that a count does not keep a chunk's memory alive).
func (s *Store) opStat(service string, op storage.Operation) *opStat {
	svc := s.services[service]
	if svc == nil {
		svc = &svcStat{name: strings.Clone(service), ops: make(map[storage.Operation]*opStat)}
		s.services[svc.name] = svc
	}
	o := svc.ops[op]
	if o == nil {
		op.Name = strings.Clone(op.Name)
		o = &opStat{op: op, svc: svc}
		svc.ops[op] = o
	}
	return o
}

// uncount takes e out of its counts, removing the counts that drop to zero.
func (s *Store) uncount(e *entry) {
	o := e.op
	if o == nil {
		return
	}
	e.op = nil
	o.n--
	o.svc.n--
	if o.n > 0 {
		return
	}
	if s.lastOp == o {
		s.lastOp = nil
	}
	delete(o.svc.ops, o.op)
	if o.svc.n <= 0 {
		delete(s.services, o.svc.name)
	}
}

// evict removes whole traces, written longest ago first, until the store
// holds at most maxSpans and maxBytes. Traces of the current write go last.
func (s *Store) evict() {
	// First pass: spare the traces of the write, moving them to the back.
	for pass := len(s.order) - s.head; s.full() && pass > 0; pass-- {
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
	for s.full() && s.head < len(s.order) {
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

// drop removes trace id, t, and lets go of its spans. Under s.mu.
func (s *Store) drop(id storage.TraceID, t *trace, evicted bool) {
	for _, sp := range t.spans {
		s.uncount(sp)
		s.release(sp)
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

// Trace returns a copy of the stored spans of the trace, at most
// ReaderLimits.MaxTraceSpans of them.
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
	var r reader
	return r.trace(id, t, s.limits.MaxTraceSpans), nil
}

// reader copies stored spans into one result, with one copy of each
// resource.
type reader struct {
	res map[*storage.Attribute][]storage.Attribute
}

func (r *reader) trace(id storage.TraceID, t *trace, max int) storage.Trace {
	n := min(len(t.spans), max)
	return storage.Trace{ID: id, Spans: r.spans(t.spans[:n]), Truncated: n < len(t.spans)}
}

// spans returns copies of the stored spans.
func (r *reader) spans(entries []*entry) []storage.Span {
	out := make([]storage.Span, len(entries))
	for i, e := range entries {
		sp := &out[i]
		*sp = e.Span
		sp.Resource = nil
		sp.Attributes = slices.Clone(e.Attributes)
		sp.Events = slices.Clone(e.Events)
		for j := range sp.Events {
			sp.Events[j].Attributes = slices.Clone(sp.Events[j].Attributes)
		}
		sp.Links = slices.Clone(e.Links)
		for j := range sp.Links {
			sp.Links[j].Attributes = slices.Clone(sp.Links[j].Attributes)
		}
		sp.Resource = r.resource(e.Resource)
	}
	return out
}

func (r *reader) resource(a []storage.Attribute) []storage.Attribute {
	if len(a) == 0 {
		return slices.Clone(a)
	}
	if c, ok := r.res[&a[0]]; ok {
		return c
	}
	if r.res == nil {
		r.res = make(map[*storage.Attribute][]storage.Attribute)
	}
	c := slices.Clone(a)
	r.res[&a[0]] = c
	return c
}

// FindTraces scans every stored trace for spans matching q.
func (s *Store) FindTraces(ctx context.Context, q storage.Query) ([]storage.Trace, error) {
	var out []storage.Trace
	err := s.search(ctx, q, func(hits []hit) {
		out = make([]storage.Trace, len(hits))
		var r reader
		for i, h := range hits {
			out[i] = r.trace(h.id, h.t, s.limits.MaxTraceSpans)
		}
	})
	return out, err
}

// hit is a trace that a search found, with the start of its latest
// matching span.
type hit struct {
	id    storage.TraceID
	t     *trace
	start int64
}

// search finds the traces matching q, in the order and number
// storage.Reader.FindTraces returns, and calls fn with them under the read
// lock.
func (s *Store) search(ctx context.Context, q storage.Query, fn func([]hit)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	limit, err := s.limit(q.Limit)
	if err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errClosed
	}
	var hits []hit
	for id, t := range s.traces {
		found, best := false, int64(0)
		for _, sp := range t.spans {
			if (!found || sp.StartTime > best) && q.Matches(&sp.Span) {
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
	fn(hits[:min(len(hits), limit)])
	return nil
}

// limit returns the number of traces a search with Query.Limit n returns.
func (s *Store) limit(n int) (int, error) {
	switch {
	case n < 0 || n > s.limits.MaxTraces:
		return 0, fmt.Errorf("memory: limit %d: want 0 to %d: %w", n, s.limits.MaxTraces, storage.ErrInvalidQuery)
	case n == 0:
		return storage.DefaultLimit, nil
	}
	return n, nil
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
	var ops map[storage.Operation]*opStat
	if svc := s.services[service]; svc != nil {
		ops = svc.ops
	}
	for op := range ops {
		if kind == storage.KindUnspecified || op.Kind == kind {
			out = append(out, op)
		}
	}
	storage.SortOperations(out)
	return out, nil
}

// Dependencies counts the edges between spans that started in the window and
// their parent spans (storage.DependencyCounter). A window holding more than
// ReaderLimits.MaxDependencySpans spans is refused.
func (s *Store) Dependencies(ctx context.Context, end time.Time, lookback time.Duration) ([]storage.Dependency, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := storage.NewDependencyCounter(end, lookback)
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	n := 0
	for _, t := range s.traces {
		for _, sp := range t.spans {
			if !c.InWindow(sp.StartTime) {
				continue
			}
			if n++; n > s.limits.MaxDependencySpans {
				return nil, fmt.Errorf("memory: dependencies: more than %d spans in the window, ask for a shorter lookback: %w", s.limits.MaxDependencySpans, storage.ErrInvalidQuery)
			}
			if sp.ParentSpanID.IsZero() {
				continue
			}
			if j := t.find(sp.ParentSpanID); j >= 0 {
				p := t.spans[j]
				c.Count(p.Service, p.StartTime, sp.Service, sp.StatusCode)
			}
		}
	}
	return c.Dependencies(), nil
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
				s.uncount(sp)
				s.release(sp)
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
	s.traces, s.services, s.lastOp, s.order = nil, nil, nil, nil
	s.traceSlab, s.ptrSlab = nil, nil
	return nil
}
