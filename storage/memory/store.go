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
type Store struct {
	maxSpans int

	mu       sync.RWMutex
	closed   bool
	traces   map[storage.TraceID]*trace
	order    []orderEntry // traces by first write, oldest first, from head
	head     int
	seq      uint64
	spans    int
	services map[string]int                       // span count per service
	ops      map[string]map[storage.Operation]int // span count per operation
	evTraces uint64
	evSpans  uint64
}

type trace struct {
	seq   uint64
	spans map[storage.SpanID]*storage.Span
}

type orderEntry struct {
	id  storage.TraceID
	seq uint64
}

// Stats describes a Store's contents and evictions.
type Stats struct {
	Traces        int
	Spans         int
	EvictedTraces uint64
	EvictedSpans  uint64
}

var _ storage.Store = (*Store)(nil)

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
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(spans) > s.maxSpans {
		return storage.Permanent(fmt.Errorf("memory: batch of %d spans exceeds the store's capacity of %d", len(spans), s.maxSpans))
	}
	copies := make([]storage.Span, len(spans))
	for i := range spans {
		copies[i] = spans[i].Copy()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	batch := make(map[storage.TraceID]struct{}, 1)
	for i := range copies {
		sp := &copies[i]
		batch[sp.TraceID] = struct{}{}
		t := s.traces[sp.TraceID]
		if t == nil {
			s.seq++
			t = &trace{seq: s.seq, spans: make(map[storage.SpanID]*storage.Span, 1)}
			s.traces[sp.TraceID] = t
			s.order = append(s.order, orderEntry{id: sp.TraceID, seq: t.seq})
		}
		if old := t.spans[sp.SpanID]; old != nil {
			s.unindex(old)
		} else {
			s.spans++
		}
		t.spans[sp.SpanID] = sp
		s.index(sp)
	}
	s.evict(batch)
	return nil
}

func (s *Store) index(sp *storage.Span) {
	s.services[sp.Service]++
	m := s.ops[sp.Service]
	if m == nil {
		m = make(map[storage.Operation]int)
		s.ops[sp.Service] = m
	}
	m[storage.Operation{Name: sp.Name, Kind: sp.Kind}]++
}

func (s *Store) unindex(sp *storage.Span) {
	if s.services[sp.Service]--; s.services[sp.Service] <= 0 {
		delete(s.services, sp.Service)
	}
	m := s.ops[sp.Service]
	op := storage.Operation{Name: sp.Name, Kind: sp.Kind}
	if m[op]--; m[op] <= 0 {
		delete(m, op)
	}
	if len(m) == 0 {
		delete(s.ops, sp.Service)
	}
}

// evict removes whole traces, written longest ago first, until the store
// holds at most maxSpans. Traces in batch go last.
func (s *Store) evict(batch map[storage.TraceID]struct{}) {
	// First pass: spare the traces of the batch, moving them to the back.
	for pass := len(s.order) - s.head; s.spans > s.maxSpans && pass > 0; pass-- {
		e := s.order[s.head]
		s.head++
		t := s.traces[e.id]
		if t == nil || t.seq != e.seq {
			continue // purged or evicted already
		}
		if _, ok := batch[e.id]; ok {
			s.seq++
			t.seq = s.seq
			s.order = append(s.order, orderEntry{id: e.id, seq: t.seq})
			continue
		}
		s.drop(e.id, t, true)
	}
	// Second pass: the batch's own traces, when they alone are too many.
	for s.spans > s.maxSpans && s.head < len(s.order) {
		e := s.order[s.head]
		s.head++
		if t := s.traces[e.id]; t != nil && t.seq == e.seq {
			s.drop(e.id, t, true)
		}
	}
	if s.head > 1024 && s.head > len(s.order)/2 {
		s.order = append(s.order[:0], s.order[s.head:]...)
		s.head = 0
	}
}

func (s *Store) drop(id storage.TraceID, t *trace, evicted bool) {
	for _, sp := range t.spans {
		s.unindex(sp)
	}
	s.spans -= len(t.spans)
	if evicted {
		s.evTraces++
		s.evSpans += uint64(len(t.spans))
	}
	delete(s.traces, id)
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
			p := t.spans[sp.ParentSpanID]
			if p == nil || p.StartTime > hi || p.Service == sp.Service {
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
		for sid, sp := range t.spans {
			if sp.StartTime < cut {
				s.unindex(sp)
				delete(t.spans, sid)
				s.spans--
			}
		}
		if len(t.spans) == 0 {
			s.drop(id, t, false)
		}
	}
	live := s.order[:0]
	for _, e := range s.order[s.head:] {
		if t := s.traces[e.id]; t != nil && t.seq == e.seq {
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
	return nil
}
