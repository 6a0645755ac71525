package vcstate

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/vclock"
)

const (
	shardCount = 16
	// sweepAt is the number of holders in a shard above which idle ones
	// are swept when a new one is created.
	sweepAt = 1024
	// maxPerShard caps the holders of a shard; past it idle holders are
	// dropped however recent.
	maxPerShard = 8192
)

// Processor stamps clock attributes on spans and keeps the holders.
type Processor struct {
	node    string
	limit   int
	retain  time.Duration
	next    sdktrace.SpanProcessor
	counter atomic.Uint64
	shards  [shardCount]shard
	reg     atomic.Pointer[trace.TracerProvider]
	keyNode attribute.Key
	keyTick attribute.Key
	keyDeps attribute.Key
}

type shard struct {
	mu        sync.Mutex
	m         map[trace.TraceID]*Holder
	lastSweep int64
}

// NewProcessor returns a processor for node, passing spans on to next
// (which may be nil). limit bounds the clock's entries; retain is how long a
// trace's holder outlives its last open span.
func NewProcessor(node string, limit int, retain time.Duration, next sdktrace.SpanProcessor) *Processor {
	if limit < 2 {
		limit = vclock.DefaultLimit
	}
	p := &Processor{node: node, limit: limit, retain: retain, next: next,
		keyNode: vclock.AttrNode, keyTick: vclock.AttrTick, keyDeps: vclock.AttrDeps}
	for i := range p.shards {
		p.shards[i].m = make(map[trace.TraceID]*Holder)
	}
	return p
}

// Node returns the processor's node id.
func (p *Processor) Node() string { return p.node }

func (p *Processor) shard(id trace.TraceID) *shard { return &p.shards[id[15]%shardCount] }

// holder returns the trace's holder, creating it, and counts an open span.
func (p *Processor) acquire(id trace.TraceID) *Holder {
	s := p.shard(id)
	s.mu.Lock()
	h := s.m[id]
	if h == nil {
		if len(s.m) >= sweepAt {
			s.sweep(p.retain)
		}
		h = &Holder{deps: vclock.New(p.limit - 1), idle: time.Now().UnixNano()}
		s.m[id] = h
	}
	s.mu.Unlock()
	return h
}

// lookup returns the trace's holder or nil.
func (p *Processor) lookup(id trace.TraceID) *Holder {
	s := p.shard(id)
	s.mu.Lock()
	h := s.m[id]
	s.mu.Unlock()
	return h
}

// sweep drops idle holders; called with s.mu held.
func (s *shard) sweep(retain time.Duration) {
	now := time.Now().UnixNano()
	if now-s.lastSweep < int64(time.Second) && len(s.m) < maxPerShard {
		return
	}
	s.lastSweep = now
	for id, h := range s.m {
		h.mu.Lock()
		drop := h.open == 0 && (now-h.idle > int64(retain) || len(s.m) >= maxPerShard)
		h.mu.Unlock()
		if drop {
			delete(s.m, id)
		}
	}
}

// Register makes the processor findable from spans of tp.
func (p *Processor) register(tp trace.TracerProvider) {
	if p.reg.Load() != nil {
		return
	}
	if p.reg.CompareAndSwap(nil, &tp) {
		providers.Store(tp, p)
	}
}

// OnStart ticks the trace's clock and records it on the span.
func (p *Processor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	p.register(s.TracerProvider())
	h := p.acquire(s.SpanContext().TraceID())
	h.mu.Lock()
	if in := InboundFrom(parent); in != nil && in.merged.Load() != h {
		h.mergeLocked(in.Text, p.node)
		in.merged.Store(h)
	}
	h.open++
	h.local = p.counter.Add(1)
	h.attrs[0] = attribute.KeyValue{Key: p.keyNode, Value: attribute.StringValue(p.node)}
	h.attrs[1] = attribute.KeyValue{Key: p.keyTick, Value: attribute.Int64Value(int64(h.local))}
	n := 2
	if h.depsText != "" {
		h.attrs[2] = attribute.KeyValue{Key: p.keyDeps, Value: attribute.StringValue(h.depsText)}
		n = 3
	}
	s.SetAttributes(h.attrs[:n]...)
	h.mu.Unlock()
	if p.next != nil {
		p.next.OnStart(parent, s)
	}
}

// OnEnd records the clock at the span's end if it moved while the span was
// open, and passes the span on.
func (p *Processor) OnEnd(s sdktrace.ReadOnlySpan) {
	if h := p.lookup(s.SpanContext().TraceID()); h != nil {
		var tick int64 = -1
		var deps string
		for _, a := range s.Attributes() {
			switch a.Key {
			case p.keyTick:
				tick = a.Value.AsInt64()
			case p.keyDeps:
				deps = a.Value.AsString()
			}
		}
		h.mu.Lock()
		if h.open > 0 {
			h.open--
		}
		if h.open == 0 {
			h.idle = s.EndTime().UnixNano()
		}
		local, depsText := h.local, h.depsText
		h.mu.Unlock()
		if tick >= 0 && (uint64(tick) != local || deps != depsText) {
			s = endSpan{ReadOnlySpan: s, attrs: endAttrs(s.Attributes(), local, deps, depsText)}
		}
	}
	if p.next != nil {
		p.next.OnEnd(s)
	}
}

func endAttrs(attrs []attribute.KeyValue, local uint64, startDeps, endDeps string) []attribute.KeyValue {
	out := make([]attribute.KeyValue, len(attrs), len(attrs)+2)
	copy(out, attrs)
	out = append(out, attribute.Int64(vclock.AttrEndTick, int64(local)))
	if endDeps != startDeps {
		out = append(out, attribute.String(vclock.AttrEndDeps, endDeps))
	}
	return out
}

// endSpan is a ended span with the end-of-span clock attributes added.
type endSpan struct {
	sdktrace.ReadOnlySpan
	attrs []attribute.KeyValue
}

func (s endSpan) Attributes() []attribute.KeyValue { return s.attrs }

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

// Text returns the encoded clock of the trace in this process, if any.
func (p *Processor) Text(id trace.TraceID) (string, bool) {
	h := p.lookup(id)
	if h == nil {
		return "", false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.local == 0 {
		return "", false
	}
	return h.textLocked(p.node), true
}

// startText encodes the clock s recorded at its start.
func (p *Processor) startText(s sdktrace.ReadOnlySpan) (string, bool) {
	var tick int64 = -1
	var deps, node string
	for _, a := range s.Attributes() {
		switch a.Key {
		case p.keyNode:
			node = a.Value.AsString()
		case p.keyTick:
			tick = a.Value.AsInt64()
		case p.keyDeps:
			deps = a.Value.AsString()
		}
	}
	if tick <= 0 || node != p.node {
		return "", false
	}
	var buf [512]byte
	b, err := vclock.AppendComposed(buf[:0], node, uint64(tick), deps)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// Receive merges a clock received in a response (validated text) into the
// trace's clock and ticks it: the receipt is an event of this node.
func (p *Processor) Receive(id trace.TraceID, text string) {
	h := p.acquire(id)
	h.mu.Lock()
	h.mergeLocked(text, p.node)
	h.local = p.counter.Add(1)
	if h.open == 0 {
		h.idle = time.Now().UnixNano()
	}
	h.mu.Unlock()
}

var _ sdktrace.SpanProcessor = (*Processor)(nil)
