package vcstate

import (
	"context"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/vclock"
)

const shardCount = 16

// Processor records the clock of every span and keeps the holders.
//
// The clock is kept off the span while it runs: OnStart ticks the holder and
// notes the span's clock there (no SetAttributes, which costs two
// allocations and a lock), and OnEnd hands the next processor the span
// wrapped with its clock attributes. So the clock attributes are seen by the
// processors after this one and by exporters, not by span.Attributes() while
// the span is open.
type Processor struct {
	node    string
	limit   int
	next    sdktrace.SpanProcessor
	counter atomic.Uint64 // this node's event counter, shared by all traces
	ids     atomic.Uint64 // holder incarnations
	shards  [shardCount]shard
	reg     atomic.Pointer[trace.TracerProvider]
	pool    sync.Pool
}

type shard struct {
	mu sync.Mutex
	m  map[trace.TraceID]*Holder
}

// NewProcessor returns a processor for node, passing spans on to next
// (which may be nil). limit bounds the clock's entries.
//
// A trace's holder lives while the trace has open spans in this process.
// When the last one ends it is dropped: a later request of the same trace
// brings the caller's clock, which holds what this process sent back, and
// the node's counter keeps growing across holders, so no two events of the
// node share a count.
func NewProcessor(node string, limit int, next sdktrace.SpanProcessor) *Processor {
	if limit < 2 {
		limit = vclock.DefaultLimit
	}
	p := &Processor{node: node, limit: limit, next: next}
	for i := range p.shards {
		p.shards[i].m = make(map[trace.TraceID]*Holder)
	}
	p.pool.New = func() any { return new(Holder) }
	return p
}

// Node returns the processor's node id.
func (p *Processor) Node() string { return p.node }

func (p *Processor) shard(id trace.TraceID) *shard { return &p.shards[id[15]%shardCount] }

// acquire returns the trace's holder, creating it if needed, with its
// shard locked: the shard's mutex guards its holders, so a span start or end
// takes one lock.
func (p *Processor) acquire(id trace.TraceID) (*shard, *Holder) {
	s := p.shard(id)
	s.mu.Lock()
	h := s.m[id]
	if h == nil {
		h = p.pool.Get().(*Holder)
		h.reset(p.ids.Add(1), p.limit-1)
		s.m[id] = h
	}
	return s, h
}

// lookup returns the trace's holder, or nil; when it is not nil the shard
// is locked.
func (p *Processor) lookup(id trace.TraceID) (*shard, *Holder) {
	s := p.shard(id)
	s.mu.Lock()
	h := s.m[id]
	if h == nil {
		s.mu.Unlock()
	}
	return s, h
}

// register makes the processor findable from spans of tp. It is called
// until it succeeds once; callers check p.reg first, which keeps the
// allocation of tp's copy off the hot path.
func (p *Processor) register(tp trace.TracerProvider) {
	if p.reg.CompareAndSwap(nil, &tp) {
		providers.Store(tp, p)
	}
}

// OnStart ticks the trace's clock and notes it for the span.
func (p *Processor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	if p.reg.Load() == nil {
		p.register(s.TracerProvider())
	}
	// A received clock comes with a remote (or no) parent; a child of a
	// local span finds it merged already, and skips walking the context.
	var in *Inbound
	if pc := s.Parent(); !pc.IsValid() || pc.IsRemote() {
		in = InboundFrom(parent)
	}
	sc := s.SpanContext()
	sh, h := p.acquire(sc.TraceID())
	if in != nil && in.merged.Load() != h.id {
		h.mergeLocked(in.Text, p.node)
		in.merged.Store(h.id)
	}
	h.local = p.counter.Add(1)
	h.open = append(h.open, openSpan{id: sc.SpanID(), tick: h.local, deps: h.depsText})
	sh.mu.Unlock()
	if p.next != nil {
		p.next.OnStart(parent, s)
	}
}

// OnEnd passes the span on with its clock attributes, dropping the trace's
// holder after its last open span.
func (p *Processor) OnEnd(s sdktrace.ReadOnlySpan) {
	sc := s.SpanContext()
	id := sc.TraceID()
	sh := p.shard(id)
	sh.mu.Lock()
	h := sh.m[id]
	if h == nil {
		sh.mu.Unlock()
		if p.next != nil {
			p.next.OnEnd(s)
		}
		return
	}
	var o openSpan
	var endTick uint64
	var endDeps string
	if i := h.findLocked(sc.SpanID()); i >= 0 {
		o = h.open[i]
		if h.local != o.tick || h.depsText != o.deps {
			endTick, endDeps = h.local, h.depsText
		}
		last := len(h.open) - 1
		h.open[i] = h.open[last]
		h.open[last] = openSpan{}
		h.open = h.open[:last]
	}
	drop := len(h.open) == 0
	if drop {
		delete(sh.m, id)
	}
	sh.mu.Unlock()
	if drop {
		p.pool.Put(h)
	}
	if p.next == nil {
		return
	}
	if o.tick == 0 { // not started here (the processor came late)
		p.next.OnEnd(s)
		return
	}
	p.next.OnEnd(&clockSpan{ReadOnlySpan: s, node: p.node, tick: o.tick, deps: o.deps, endTick: endTick, endDeps: endDeps})
}

// clockSpan is an ended span with its clock attributes. They are appended
// when the attributes are read, which exporters do off the application's
// path.
type clockSpan struct {
	sdktrace.ReadOnlySpan
	node    string
	tick    uint64
	deps    string
	endTick uint64 // 0 when the clock did not move while the span was open
	endDeps string
}

func (s *clockSpan) Attributes() []attribute.KeyValue {
	orig := s.ReadOnlySpan.Attributes()
	out := make([]attribute.KeyValue, len(orig), len(orig)+5)
	copy(out, orig)
	out = append(out,
		attribute.String(vclock.AttrNode, s.node),
		attribute.Int64(vclock.AttrTick, int64(s.tick)))
	if s.deps != "" {
		out = append(out, attribute.String(vclock.AttrDeps, s.deps))
	}
	if s.endTick != 0 {
		out = append(out, attribute.Int64(vclock.AttrEndTick, int64(s.endTick)))
		if s.endDeps != s.deps {
			out = append(out, attribute.String(vclock.AttrEndDeps, s.endDeps))
		}
	}
	return out
}

// Shutdown shuts the next processor down and forgets the provider.
func (p *Processor) Shutdown(ctx context.Context) error {
	if tp := p.reg.Load(); tp != nil {
		providers.CompareAndDelete(*tp, p)
	}
	if p.next != nil {
		return p.next.Shutdown(ctx)
	}
	return nil
}

// ForceFlush flushes the next processor.
func (p *Processor) ForceFlush(ctx context.Context) error {
	if p.next != nil {
		return p.next.ForceFlush(ctx)
	}
	return nil
}

// Text returns the encoded current clock of the trace in this process.
func (p *Processor) Text(id trace.TraceID) (string, bool) {
	sh, h := p.lookup(id)
	if h == nil {
		return "", false
	}
	defer sh.mu.Unlock()
	if h.local == 0 {
		return "", false
	}
	return h.textLocked(p.node), true
}

// SpanText returns the encoded clock that the open span recorded at its
// start.
func (p *Processor) SpanText(sc trace.SpanContext) (string, bool) {
	sh, h := p.lookup(sc.TraceID())
	if h == nil {
		return "", false
	}
	i := h.findLocked(sc.SpanID())
	if i < 0 {
		sh.mu.Unlock()
		return "", false
	}
	o := h.open[i]
	sh.mu.Unlock()
	var buf [512]byte
	return string(vclock.Splice(buf[:0], o.deps, p.node, o.tick)), true // deps came from the holder
}

// Receive merges a clock received in a response (validated text) into the
// trace's clock and ticks it: the receipt is an event of this node. With no
// open span of the trace in this process there is nothing to merge into,
// and it reports false.
func (p *Processor) Receive(id trace.TraceID, text string) bool {
	sh, h := p.lookup(id)
	if h == nil {
		return false
	}
	h.mergeLocked(text, p.node)
	h.local = p.counter.Add(1)
	sh.mu.Unlock()
	return true
}

var _ sdktrace.SpanProcessor = (*Processor)(nil)
