package analysis

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

// simTrace is a random trace made by simulating processes that call each
// other, as Tracer's SDK would record it, with the ground truth beside it:
// god clocks, exact vector clocks where every event (start and end) of every
// process, plain ones included, ticks and every message carries them.
type simTrace struct {
	spans []storage.Span
	// god start and end clocks by span id.
	godStart, godEnd map[storage.SpanID]vclock.Clock
}

// simProc is a process; like the SDK's per-trace state it keeps its own
// counter apart from the other nodes' entries (deps, bounded by the limit).
type simProc struct {
	node  string
	plain bool // plain OpenTelemetry: no clock
	local uint64
	deps  vclock.Clock
	god   vclock.Clock
	skew  int64
}

// clock is the whole clock a message from p carries (its text).
func (p *simProc) clock() string {
	return string(p.deps.AppendTextWith(nil, p.node, max(p.local, 1)))
}

type simSpan struct {
	span      storage.Span
	proc      int
	parent    int
	open      bool
	openSync  int // open remote calls (client children, a server child) that end first
	startTick uint64
	startDeps string
	// reply is what a server span's end sends back, merged into the
	// client's process at the client's end.
	reply      string
	godReply   vclock.Clock
	replyPlain bool
	hasReply   bool
}

type simMsg struct {
	producer int // span index
	clock    string
	godClock vclock.Clock
	plain    bool
}

type sim struct {
	rng   *rand.Rand
	ps    []simProc
	spans []*simSpan
	open  idxSet // open spans
	ready idxSet // open spans whose remote calls have ended
	msgs  []simMsg
	now   int64
	out   simTrace
	err   error
}

var simTraceID = storage.TraceID{9, 9, 9}

// simulate makes a trace of n spans from rng: procs processes (a share
// plainRate of them plain, never the first), clocks of limit entries (small
// values prune).
func simulate(rng *rand.Rand, n, procs, limit int, plainRate float64) (simTrace, error) {
	m := &sim{rng: rng, out: simTrace{godStart: map[storage.SpanID]vclock.Clock{}, godEnd: map[storage.SpanID]vclock.Clock{}}}
	m.ps = make([]simProc, procs)
	for i := range m.ps {
		m.ps[i] = simProc{node: "p" + strconv.Itoa(i), plain: i > 0 && rng.Float64() < plainRate,
			deps: vclock.New(limit), god: vclock.New(vclock.MaxLimit), skew: rng.Int64N(20001) - 10000}
	}
	m.start(0, -1, storage.KindServer, nil, -1)
	for len(m.spans) < n && m.open.len() > 0 {
		r := rng.Float64()
		switch {
		case r < 0.30 && m.open.len() > 1:
			m.endRandom(true)
		case r < 0.40 && len(m.msgs) > 0:
			k := rng.IntN(len(m.msgs))
			msg := m.msgs[k]
			m.msgs = slices.Delete(m.msgs, k, k+1)
			proc := rng.IntN(procs)
			if rng.IntN(2) == 0 {
				m.start(proc, msg.producer, storage.KindConsumer, &msg, -1)
			} else {
				m.start(proc, -1, storage.KindConsumer, &msg, msg.producer)
			}
		default:
			p := m.open.random(rng)
			pp := m.spans[p].proc
			switch k := rng.IntN(10); {
			case k < 3:
				m.start(pp, p, storage.KindInternal, nil, -1)
			case k < 4:
				pr := m.start(pp, p, storage.KindProducer, nil, -1)
				proc := &m.ps[pp]
				m.msgs = append(m.msgs, simMsg{producer: pr, clock: proc.clock(), godClock: proc.god.Copy(), plain: proc.plain})
			default:
				c := m.start(pp, p, storage.KindClient, nil, -1)
				m.addSync(p, 1)
				proc := &m.ps[pp]
				msg := simMsg{clock: proc.clock(), godClock: proc.god.Copy(), plain: proc.plain}
				m.start(rng.IntN(procs), c, storage.KindServer, &msg, -1)
				m.addSync(c, 1)
			}
		}
	}
	for m.open.len() > 0 {
		m.endRandom(false)
	}
	for _, sp := range m.spans {
		m.out.spans = append(m.out.spans, sp.span)
	}
	return m.out, m.err
}

// merge merges a message's clock text into p's, as the SDK does; errors
// (the simulation's own clocks are well-formed) are kept for simulate.
func (m *sim) merge(p *simProc, text string) {
	if _, err := p.deps.MergeText(text, p.node); err != nil && m.err == nil {
		m.err = err
	}
}

func (m *sim) tick() int64 { m.now++; return m.now * 10 }

// start begins a span in proc under parent (-1: none), receiving in (a
// message, nil for a local span), with a link to span link (-1: none).
func (m *sim) start(proc, parent int, kind storage.SpanKind, in *simMsg, link int) int {
	p := &m.ps[proc]
	t := m.tick()
	if in != nil {
		p.god.Merge(in.godClock)
	}
	p.god.Tick("g" + p.node)
	var id storage.SpanID
	binary.BigEndian.PutUint64(id[:], uint64(len(m.spans)+1)<<8|uint64(m.rng.IntN(256)))
	sp := &simSpan{proc: proc, parent: parent, open: true}
	sp.span = storage.Span{TraceID: simTraceID, SpanID: id, Kind: kind, StartTime: t + p.skew, Service: "svc-" + p.node, Name: kind.String()}
	if parent >= 0 {
		sp.span.ParentSpanID = m.spans[parent].span.SpanID
	}
	if link >= 0 {
		sp.span.Links = []storage.Link{{TraceID: simTraceID, SpanID: m.spans[link].span.SpanID}}
	}
	if !p.plain {
		switch {
		case in != nil && !in.plain:
			m.merge(p, in.clock)
		case in != nil && in.plain:
			p.deps.MarkPruned() // a remote parent that sent no clock
		}
		p.local++
		sp.startTick, sp.startDeps = p.local, p.deps.String()
		sp.span.Attributes = clockAttrs(vclock.AttrNode, p.node, vclock.AttrTick, p.local, vclock.AttrDeps, sp.startDeps)
	}
	m.spans = append(m.spans, sp)
	i := len(m.spans) - 1
	m.open.add(i)
	m.ready.add(i)
	m.out.godStart[id] = p.god.Copy()
	return i
}

// endRandom ends a random open span whose remote calls have ended, not
// the root while the trace grows.
func (m *sim) endRandom(growing bool) {
	if m.ready.len() == 0 || (growing && m.ready.len() == 1 && m.ready.has(0)) {
		return
	}
	i := m.ready.random(m.rng)
	for growing && i == 0 {
		i = m.ready.random(m.rng)
	}
	m.open.remove(i)
	m.ready.remove(i)
	m.end(i)
}

// addSync changes span i's count of open remote calls.
func (m *sim) addSync(i, d int) {
	sp := m.spans[i]
	sp.openSync += d
	switch {
	case sp.openSync == 0 && sp.open:
		m.ready.add(i)
	case sp.openSync > 0:
		m.ready.remove(i)
	}
}

// idxSet is a set of span indexes with O(1) add, remove and random pick.
type idxSet struct {
	items []int
	pos   map[int]int
}

func (s *idxSet) len() int { return len(s.items) }

func (s *idxSet) has(i int) bool { _, ok := s.pos[i]; return ok }

func (s *idxSet) add(i int) {
	if s.pos == nil {
		s.pos = map[int]int{}
	}
	if _, ok := s.pos[i]; !ok {
		s.pos[i] = len(s.items)
		s.items = append(s.items, i)
	}
}

func (s *idxSet) remove(i int) {
	k, ok := s.pos[i]
	if !ok {
		return
	}
	last := s.items[len(s.items)-1]
	s.items[k] = last
	s.pos[last] = k
	s.items = s.items[:len(s.items)-1]
	delete(s.pos, i)
}

func (s *idxSet) random(rng *rand.Rand) int { return s.items[rng.IntN(len(s.items))] }

func (m *sim) end(i int) {
	sp := m.spans[i]
	p := &m.ps[sp.proc]
	t := m.tick()
	if sp.hasReply {
		p.god.Merge(sp.godReply)
		if !p.plain && !sp.replyPlain {
			m.merge(p, sp.reply)
		}
	}
	p.god.Tick("g" + p.node)
	sp.span.EndTime = t + p.skew
	if !p.plain {
		deps := p.deps.String()
		if p.local != sp.startTick || deps != sp.startDeps {
			sp.span.Attributes = append(sp.span.Attributes, storage.Attribute{Key: vclock.AttrEndTick, Type: storage.TypeInt, Value: strconv.FormatUint(p.local, 10)})
		}
		if deps != sp.startDeps && deps != "" {
			sp.span.Attributes = append(sp.span.Attributes, storage.Attribute{Key: vclock.AttrEndDeps, Value: deps})
		}
	}
	m.out.godEnd[sp.span.SpanID] = p.god.Copy()
	sp.open = false
	if sp.parent < 0 {
		return
	}
	par := m.spans[sp.parent]
	switch sp.span.Kind {
	case storage.KindServer:
		if !p.plain {
			par.reply = p.clock()
		}
		par.godReply, par.replyPlain, par.hasReply = p.god.Copy(), p.plain, true
		m.addSync(sp.parent, -1)
	case storage.KindClient:
		m.addSync(sp.parent, -1)
	}
}

func clockAttrs(kv ...any) []storage.Attribute {
	var out []storage.Attribute
	for i := 0; i < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case string:
			if v != "" {
				out = append(out, storage.Attribute{Key: kv[i].(string), Value: v})
			}
		case uint64:
			out = append(out, storage.Attribute{Key: kv[i].(string), Type: storage.TypeInt, Value: strconv.FormatUint(v, 10)})
		}
	}
	return out
}
