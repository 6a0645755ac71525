package vcstate

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/vclock"
)

const shardCount = 16

// Defaults of Config.
const (
	// DefaultMaxSpans is the most open spans whose clock a processor keeps:
	// about 230 bytes each (measured with one trace per span), so some
	// 7 MiB at most.
	DefaultMaxSpans = 32768
	// DefaultMaxIdle is how long a trace's clock is kept after the last span
	// of it started in this process.
	DefaultMaxIdle = 30 * time.Minute
)

// Config configures a Processor.
type Config struct {
	// Node is the process's node id, which must be valid.
	Node string
	// Limit bounds the clock's entries: vclock.DefaultLimit if < 2, at most
	// vclock.MaxLimit.
	Limit int
	// MaxSpans bounds the open spans whose clock is kept, all traces
	// together (DefaultMaxSpans if < 1). The state is kept in 16 shards by
	// trace id, each holding MaxSpans/16 (at least 1), so one trace keeps at
	// most that many. A span start past its shard's share drops the state
	// of the shard's least recently started trace (or, if that is its own
	// trace alone, of its oldest other open span).
	MaxSpans int
	// MaxIdle drops the clock state of a trace after no span of it started
	// for this long (DefaultMaxIdle if <= 0). It is checked as spans start,
	// against a time read every 64 span starts, so that no span start pays
	// for reading the clock.
	MaxIdle time.Duration
	// Meter provides the eviction counter (otel.GetMeterProvider() if nil).
	Meter metric.MeterProvider
}

// Processor records the clock of every span and keeps the holders.
//
// The clock is kept off the span while it runs: OnStart ticks the holder and
// notes the span's clock there (no SetAttributes, which costs two
// allocations and a lock), and OnEnd hands the next processor the span
// wrapped with its clock attributes. So the clock attributes are seen by the
// processors after this one and by exporters, not by span.Attributes() while
// the span is open. The wrapper and its attribute slice (the clock's, then
// the span's own) are built once, at OnEnd, in memory carved from chunks of
// the shard (see slab), so an ended span costs a fraction of an allocation
// and Attributes() returns the same slice every call without copying.
//
// The state is bounded (Config.MaxSpans, Config.MaxIdle): a span whose
// state was evicted ends without clock attributes, and is counted in the
// metric EvictedMetric and by Evicted. A span that starts under a local
// parent whose state is gone gets a clock marked pruned (vclock.Pruned), so
// it never claims to be concurrent with what it may follow.
type Processor struct {
	node     string
	nodeAttr attribute.KeyValue // vclock.AttrNode = node, made once
	limit    int
	maxSpans int   // per shard
	maxIdle  int64 // nanoseconds
	next     sdktrace.SpanProcessor
	counter  atomic.Uint64 // this node's event counter, shared by all traces
	ids      atomic.Uint64 // holder incarnations
	epoch    time.Time
	coarse   atomic.Int64 // nanoseconds since epoch, read every refresh+1 events
	refresh  uint64       // a mask of the counter
	clock    func() int64 // nanoseconds since epoch
	shards   [shardCount]shard
	reg      atomic.Pointer[trace.TracerProvider]

	evictedAge, evictedCount atomic.Uint64
	evictions                metric.Int64Counter
	byAge, byCount           metric.AddOption
}

type shard struct {
	mu             sync.Mutex
	m              map[trace.TraceID]*Holder // the holders, but last until it is replaced
	last           *Holder                   // the holder found or made last, checked before m
	oldest, newest *Holder                   // by last span start
	spans          int                       // open spans recorded
	slab           slab                      // memory of the ended spans handed on
	free           *Holder                   // dropped holders kept for reuse, linked by next
	nfree          int
}

// maxFree is the most dropped holders a shard keeps for reuse: a trace of
// one span (a root alone) drops its holder as it ends and the next one
// takes it back, without a sync.Pool round trip, under the lock it holds.
const maxFree = 4

// newHolderLocked returns a holder to reset, reused if one is free.
func (s *shard) newHolderLocked() *Holder {
	h := s.free
	if h == nil {
		return new(Holder)
	}
	s.free, h.next = h.next, nil
	s.nfree--
	return h
}

// freeLocked keeps the dropped h for reuse, within maxFree.
func (s *shard) freeLocked(h *Holder) {
	if s.nfree >= maxFree {
		return
	}
	h.next = s.free
	s.free = h
	s.nfree++
}

// EvictedMetric is the name of the counter of spans whose clock state was
// dropped to respect the bounds, with attribute "reason" = "age" or "count".
const EvictedMetric = "tracer.sdk.clock.evicted_spans"

// NewProcessor returns a processor passing spans on to next (which may be
// nil).
//
// A trace's holder lives while the trace has open spans in this process,
// within the bounds of c. When the last one ends it is dropped: a later
// request of the same trace brings the caller's clock, which holds what this
// process sent back, and the node's counter keeps growing across holders,
// so no two events of the node share a count.
func NewProcessor(c Config, next sdktrace.SpanProcessor) *Processor {
	limit := c.Limit
	if limit < 2 {
		limit = vclock.DefaultLimit
	}
	p := &Processor{
		node:     c.Node,
		nodeAttr: attribute.String(vclock.AttrNode, c.Node),
		limit:    vclock.New(limit).Limit(), // vclock owns the ceiling
		maxIdle:  int64(c.MaxIdle),
		next:     next,
		epoch:    time.Now(),
		refresh:  63,
	}
	p.clock = func() int64 { return int64(time.Since(p.epoch)) }
	maxSpans := c.MaxSpans
	if maxSpans < 1 {
		maxSpans = DefaultMaxSpans
	}
	p.maxSpans = max(1, maxSpans/shardCount)
	if p.maxIdle <= 0 {
		p.maxIdle = int64(DefaultMaxIdle)
	}
	mp := c.Meter
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	var err error
	p.evictions, err = mp.Meter(scope).Int64Counter(EvictedMetric, metric.WithUnit("{span}"),
		metric.WithDescription("Open spans whose vector-clock state was dropped to bound memory; they end without clock attributes."))
	if err != nil {
		otel.Handle(err)
		p.evictions = noop.Int64Counter{}
	}
	p.byAge = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "age")))
	p.byCount = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "count")))
	for i := range p.shards {
		p.shards[i].m = make(map[trace.TraceID]*Holder)
	}
	return p
}

// scope names the instrumentation scope of the processor's metrics.
const scope = "github.com/tracerdev/tracer/sdk"

// Node returns the processor's node id.
func (p *Processor) Node() string { return p.node }

// Evicted returns how many open spans lost their clock state to the age
// bound and to the count bound.
func (p *Processor) Evicted() (age, count uint64) {
	return p.evictedAge.Load(), p.evictedCount.Load()
}

func (p *Processor) shard(id trace.TraceID) *shard { return &p.shards[id[15]%shardCount] }

// getLocked returns the trace's holder, or nil. The spans of a trace start
// and end close together, so the holder used last is checked first: a
// comparison of the ids instead of a map lookup.
func (s *shard) getLocked(id trace.TraceID) *Holder {
	if h := s.last; h != nil && h.trace == id {
		return h
	}
	h := s.m[id]
	if h != nil {
		s.setLastLocked(h)
	}
	return h
}

// setLastLocked makes h the holder checked first. A new holder goes into
// the map only when another one takes its place as the last: a trace whose
// spans all start and end before the shard's next trace starts (a root
// span alone, the commonest trace of a server) costs no map insertion nor
// deletion.
func (s *shard) setLastLocked(h *Holder) {
	if l := s.last; l != nil && l != h && !l.inMap {
		s.m[l.trace] = l
		l.inMap = true
	}
	s.last = h
}

// lenLocked returns how many holders s has.
func (s *shard) lenLocked() int {
	n := len(s.m)
	if s.last != nil && !s.last.inMap {
		n++
	}
	return n
}

// acquire returns the trace's holder, creating it if needed, as the most
// recently started of its shard, with the shard locked: the shard's mutex
// guards its holders, so a span start or end takes one lock.
func (p *Processor) acquire(id trace.TraceID, now int64) (*shard, *Holder, bool) {
	s := p.shard(id)
	s.mu.Lock()
	h := s.getLocked(id)
	created := h == nil
	if created {
		h = s.newHolderLocked()
		h.reset(p.ids.Add(1), id, p.limit-1)
		s.setLastLocked(h)
	} else if h != s.newest {
		s.unlink(h)
	}
	if h != s.newest {
		s.push(h)
	}
	h.touched = now
	return s, h, created
}

// push makes h the newest holder of s.
func (s *shard) push(h *Holder) {
	h.prev, h.next = s.newest, nil
	if s.newest != nil {
		s.newest.next = h
	} else {
		s.oldest = h
	}
	s.newest = h
}

// unlink takes h out of s's list.
func (s *shard) unlink(h *Holder) {
	if h.prev != nil {
		h.prev.next = h.next
	} else {
		s.oldest = h.next
	}
	if h.next != nil {
		h.next.prev = h.prev
	} else {
		s.newest = h.prev
	}
	h.prev, h.next = nil, nil
}

// dropLocked forgets h and returns how many open spans it held.
func (p *Processor) dropLocked(s *shard, h *Holder) int {
	if h.inMap {
		delete(s.m, h.trace)
		h.inMap = false
	}
	if s.last == h {
		s.last = nil
	}
	s.unlink(h)
	n := len(h.open)
	s.spans -= n
	s.freeLocked(h)
	return n
}

// evictLocked enforces the bounds in s after a span of keep started at now.
// It returns the open spans evicted for age and for count.
func (p *Processor) evictLocked(s *shard, keep *Holder, now int64) (age, count int) {
	for h := s.oldest; h != keep && now-h.touched > p.maxIdle; h = s.oldest {
		age += p.dropLocked(s, h)
	}
	for s.spans > p.maxSpans {
		if h := s.oldest; h != keep {
			count += p.dropLocked(s, h)
			continue
		}
		if len(keep.open) < 2 { // nothing here but the new span
			break
		}
		keep.removeLocked(0)
		s.spans--
		count++
	}
	return age, count
}

// lookup returns the trace's holder, or nil; when it is not nil the shard
// is locked.
func (p *Processor) lookup(id trace.TraceID) (*shard, *Holder) {
	s := p.shard(id)
	s.mu.Lock()
	h := s.getLocked(id)
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
	sc := s.SpanContext()
	// The span's parent is the span context in parent when the span
	// continues its trace, as the SDK takes it from there (sdk/trace,
	// tracer.go, newSpan); a new root (WithNewRoot) has a trace of its
	// own. s.Parent() would say the same but takes the span's lock.
	pc := trace.SpanContextFromContext(parent)
	if pc.TraceID() != sc.TraceID() {
		pc = trace.SpanContext{}
	}
	remote := pc.IsValid() && pc.IsRemote()
	if !pc.IsValid() || remote {
		in = InboundFrom(parent)
	}
	now := p.coarse.Load()
	sh, h, created := p.acquire(sc.TraceID(), now)
	switch {
	case in != nil:
		if in.merged.Load() != h.id {
			h.mergeLocked(in.Text, p.node)
			in.merged.Store(h.id)
		}
	case remote:
		// The parent is in another process that sent no clock: what led to
		// it is not in this clock.
		h.pruneLocked()
	case created && pc.IsValid():
		// A local parent whose clock state is gone (it ended, or it was
		// evicted): the clock lacks the parent's past.
		h.pruneLocked()
	}
	h.local = p.counter.Add(1)
	h.addLocked(openSpan{id: sc.SpanID(), tick: h.local, deps: h.depsText})
	sh.spans++
	age, count := p.evictLocked(sh, h, now)
	if h.local&p.refresh == 0 {
		p.coarse.Store(p.clock())
	}
	sh.mu.Unlock()
	if age+count > 0 {
		p.countEvicted(parent, age, count)
	}
	if p.next != nil {
		p.next.OnStart(parent, s)
	}
}

func (p *Processor) countEvicted(ctx context.Context, age, count int) {
	if age > 0 {
		p.evictedAge.Add(uint64(age))
		p.evictions.Add(ctx, int64(age), p.byAge)
	}
	if count > 0 {
		p.evictedCount.Add(uint64(count))
		p.evictions.Add(ctx, int64(count), p.byCount)
	}
}

// OnEnd passes the span on with its clock attributes, dropping the trace's
// holder after its last open span.
func (p *Processor) OnEnd(s sdktrace.ReadOnlySpan) {
	sc := s.SpanContext()
	id := sc.TraceID()
	var own []attribute.KeyValue
	if p.next != nil {
		own = s.Attributes()
	}
	sh := p.shard(id)
	sh.mu.Lock()
	h := sh.getLocked(id)
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
		h.removeLocked(i)
		sh.spans--
	}
	if len(h.open) == 0 {
		p.dropLocked(sh, h)
	}
	if p.next == nil {
		sh.mu.Unlock()
		return
	}
	if o.tick == 0 { // not started here (the processor came late), or evicted
		sh.mu.Unlock()
		p.next.OnEnd(s)
		return
	}
	n := clockAttrs(o, endTick, endDeps)
	cs, attrs := sh.slab.take(n + len(own))
	sh.mu.Unlock()
	attrs = appendClock(attrs, p.nodeAttr, o, endTick, endDeps)
	cs.ReadOnlySpan, cs.attrs = s, append(attrs, own...)
	p.next.OnEnd(cs)
}

// clockAttrs returns how many clock attributes a span gets.
func clockAttrs(o openSpan, endTick uint64, endDeps string) int {
	n := 2
	if o.deps != "" {
		n++
	}
	if endTick != 0 {
		n++
		if endDeps != o.deps {
			n++
		}
	}
	return n
}

// appendClock appends a span's clock attributes to b; node is the
// vclock.AttrNode attribute.
func appendClock(b []attribute.KeyValue, node attribute.KeyValue, o openSpan, endTick uint64, endDeps string) []attribute.KeyValue {
	b = append(b, node, attribute.Int64(vclock.AttrTick, int64(o.tick)))
	if o.deps != "" {
		b = append(b, attribute.String(vclock.AttrDeps, o.deps))
	}
	if endTick != 0 {
		b = append(b, attribute.Int64(vclock.AttrEndTick, int64(endTick)))
		if endDeps != o.deps {
			b = append(b, attribute.String(vclock.AttrEndDeps, endDeps))
		}
	}
	return b
}

// clockSpan is an ended span with its clock attributes, built once when
// the span ends (the span's own attributes are final then) in memory from
// its shard's slab.
type clockSpan struct {
	sdktrace.ReadOnlySpan
	attrs []attribute.KeyValue // the clock's, then the span's own; full: an append copies
}

// Attributes returns the clock attributes, then the span's own, without
// copying (as the SDK's own ended span returns its slice). The clock comes
// first and is not counted against the span's attribute limit (the SDK
// applied it to the span's own attributes already), so that a receiver
// that keeps only the first N attributes of a span keeps the clock.
func (s *clockSpan) Attributes() []attribute.KeyValue { return s.attrs }

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
