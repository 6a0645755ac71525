package memory

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/tracerdev/tracer/storage"
)

// entry is a stored span and the chunks whose memory it keeps alive.
type entry struct {
	storage.Span
	own *chunk  // holds the span's strings and slices
	res *chunk  // holds its Resource (may be own)
	op  *opStat // counts the span in its operation and service, once stored
}

// chunk is a piece of one write: the strings and slices of some of its spans,
// in a few arrays, so that a write costs a few allocations and not a few per
// span. Every string a chunk's spans hold is a copy, never the caller's: the
// caller's strings may point into buffers much larger than the span (a WAL
// record). A chunk is released, and its bytes leave the store's count, once
// no stored span refers to it.
type chunk struct {
	bytes int64
	refs  int
}

// chunkBytes is the size past which a write's spans go to a new chunk, so
// that evicting part of a large write frees memory.
const chunkBytes = 256 << 10

// Sizes that the byte count charges.
var (
	spanSize  = int64(unsafe.Sizeof(entry{}) + unsafe.Sizeof((*entry)(nil)))
	attrSize  = int64(unsafe.Sizeof(storage.Attribute{}))
	eventSize = int64(unsafe.Sizeof(storage.Event{}))
	linkSize  = int64(unsafe.Sizeof(storage.Link{}))
)

// need counts what a chunk allocates for some spans.
type need struct {
	strs                 int
	attrs, events, links int
}

func (n *need) attrList(a []storage.Attribute) {
	n.attrs += len(a)
	for i := range a {
		n.strs += len(a[i].Key) + len(a[i].Value)
	}
}

// same reports whether a and b are the same bytes in memory (not merely
// equal): the decoder gives the spans of one resource and scope the same
// Service, ScopeName and ScopeVersion strings.
func same(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

// shared returns what of sp's Service, ScopeName and ScopeVersion needs no
// copy of its own: those that are the same strings as prev's (the span
// copied before it into the same chunk, or nil), whose copies it shares.
func shared(sp, prev *storage.Span) (service, scope, version bool) {
	if prev == nil {
		return false, false, false
	}
	return same(sp.Service, prev.Service), same(sp.ScopeName, prev.ScopeName), same(sp.ScopeVersion, prev.ScopeVersion)
}

// spanNeed is what sp takes, its Resource aside, when the span copied before
// it into the same chunk is prev (nil: none).
func spanNeed(sp, prev *storage.Span) need {
	var n need
	n.strs = len(sp.TraceState) + len(sp.Name) + len(sp.StatusMessage)
	service, scope, version := shared(sp, prev)
	if !service {
		n.strs += len(sp.Service)
	}
	if !scope {
		n.strs += len(sp.ScopeName)
	}
	if !version {
		n.strs += len(sp.ScopeVersion)
	}
	n.attrList(sp.Attributes)
	n.events = len(sp.Events)
	for i := range sp.Events {
		n.strs += len(sp.Events[i].Name)
		n.attrList(sp.Events[i].Attributes)
	}
	n.links = len(sp.Links)
	for i := range sp.Links {
		n.strs += len(sp.Links[i].TraceState)
		n.attrList(sp.Links[i].Attributes)
	}
	return n
}

func (n *need) add(o need) {
	n.strs += o.strs
	n.attrs += o.attrs
	n.events += o.events
	n.links += o.links
}

func (n *need) size() int64 {
	return int64(n.strs) + int64(n.attrs)*attrSize + int64(n.events)*eventSize + int64(n.links)*linkSize
}

// copier copies spans into chunks.
type copier struct {
	b      strings.Builder
	attrs  []storage.Attribute
	events []storage.Event
	links  []storage.Link
}

func (c *copier) reset(n need) {
	c.b = strings.Builder{}
	c.b.Grow(n.strs)
	c.attrs = make([]storage.Attribute, 0, n.attrs)
	c.events, c.links = nil, nil
	if n.events > 0 {
		c.events = make([]storage.Event, 0, n.events)
	}
	if n.links > 0 {
		c.links = make([]storage.Link, 0, n.links)
	}
}

// str copies s into the chunk's string arena. The builder was grown to hold
// every string of the chunk, so the arena is one allocation.
func (c *copier) str(s string) string {
	if s == "" {
		return ""
	}
	n := c.b.Len()
	c.b.WriteString(s)
	return c.b.String()[n:]
}

func (c *copier) attrList(a []storage.Attribute) []storage.Attribute {
	if a == nil {
		return nil
	}
	n := len(c.attrs)
	for i := range a {
		c.attrs = append(c.attrs, storage.Attribute{Key: c.str(a[i].Key), Type: a[i].Type, Value: c.str(a[i].Value)})
	}
	return c.attrs[n:len(c.attrs):len(c.attrs)]
}

// span copies sp, its Resource aside, into e. prev is the span copied
// before it into the same chunk (nil: none) and prevCopy its copy: strings
// that sp shares with prev share prevCopy's copies (see spanNeed).
func (c *copier) span(e *entry, sp, prev *storage.Span, prevCopy *entry) {
	e.Span = *sp
	d := &e.Span
	d.TraceState = c.str(sp.TraceState)
	d.Name = c.str(sp.Name)
	d.StatusMessage = c.str(sp.StatusMessage)
	service, scope, version := shared(sp, prev)
	if service {
		d.Service = prevCopy.Service
	} else {
		d.Service = c.str(sp.Service)
	}
	if scope {
		d.ScopeName = prevCopy.ScopeName
	} else {
		d.ScopeName = c.str(sp.ScopeName)
	}
	if version {
		d.ScopeVersion = prevCopy.ScopeVersion
	} else {
		d.ScopeVersion = c.str(sp.ScopeVersion)
	}
	d.Attributes = c.attrList(sp.Attributes)
	if sp.Events != nil {
		n := len(c.events)
		for _, ev := range sp.Events {
			c.events = append(c.events, storage.Event{Time: ev.Time, Name: c.str(ev.Name), Attributes: c.attrList(ev.Attributes)})
		}
		d.Events = c.events[n:len(c.events):len(c.events)]
	}
	if sp.Links != nil {
		n := len(c.links)
		for _, l := range sp.Links {
			c.links = append(c.links, storage.Link{TraceID: l.TraceID, SpanID: l.SpanID, TraceState: c.str(l.TraceState), Attributes: c.attrList(l.Attributes)})
		}
		d.Links = c.links[n:len(c.links):len(c.links)]
	}
}

// plan is a chunk of a write: spans [from, to) of the accepted ones.
type plan struct {
	from, to int
	need     need
}

// copySpans copies the spans into new entries, in chunks. Spans that share
// a Resource slice share its one copy. It returns the entries (in the order
// of spans) and the chunks, and rejects a span too large for a
// store of maxBytes or with a zero id, which it leaves out of the entries.
// The entries refer to the chunks.
func copySpans(spans []storage.Span, maxBytes int64) ([]*entry, []chunk, []storage.RejectedSpan) {
	type resInfo struct {
		need  need
		chunk int // the plan that copies it; -1 until placed
	}
	var rejected []storage.RejectedSpan
	accepted := make([]int, 0, len(spans))
	resOf := make([]int, 0, len(spans)) // index into resources, per accepted span
	resources := make([]resInfo, 0, len(spans)/4+1)
	// The decoder gives the spans of one resource one slice, and they come
	// together: a span shares the copy of its predecessor's resource when
	// it holds the same slice (a resource seen again later is copied again).
	var prev []storage.Attribute
	findRes := func(r []storage.Attribute) int {
		if len(r) == 0 {
			return -1
		}
		if len(resources) > 0 && len(prev) == len(r) && &prev[0] == &r[0] {
			return len(resources) - 1
		}
		var n need
		n.attrList(r)
		resources = append(resources, resInfo{need: n, chunk: -1})
		prev = r
		return len(resources) - 1
	}
	var plans []plan
	cur := plan{}
	var last *storage.Span // the last span of cur
	for i := range spans {
		sp := &spans[i]
		if err := check(sp); err != nil {
			rejected = append(rejected, storage.RejectedSpan{Index: i, Err: err})
			continue
		}
		alone := spanNeed(sp, nil)
		ri := findRes(sp.Resource)
		var rn need
		if ri >= 0 && resources[ri].chunk < 0 {
			rn = resources[ri].need
		}
		if size := alone.size() + rn.size() + spanSize; size > maxBytes {
			rejected = append(rejected, storage.RejectedSpan{Index: i, Err: fmt.Errorf("memory: span of %d bytes exceeds the store's capacity of %d bytes", size, maxBytes)})
			continue
		}
		n := alone
		if last != nil {
			n = spanNeed(sp, last)
		}
		chunkLimit := min(chunkBytes, maxBytes/8)
		if cur.to > cur.from && cur.need.size()+n.size()+rn.size() > chunkLimit {
			plans = append(plans, cur)
			cur = plan{from: len(accepted), to: len(accepted)}
			n = alone // the first span of a chunk shares nothing
		}
		last = sp
		if ri >= 0 && resources[ri].chunk < 0 {
			resources[ri].chunk = len(plans)
			cur.need.add(rn)
		}
		cur.need.add(n)
		cur.to++
		accepted = append(accepted, i)
		resOf = append(resOf, ri)
	}
	if cur.to > cur.from {
		plans = append(plans, cur)
	}
	out := make([]*entry, len(accepted))
	chunks := make([]chunk, len(plans))
	resCopy := make([][]storage.Attribute, len(resources))
	var c copier
	for pi, p := range plans {
		ch := &chunks[pi]
		ch.bytes = p.need.size() + int64(p.to-p.from)*spanSize
		c.reset(p.need)
		// The entries too are the chunk's: they go with it.
		entries := make([]entry, p.to-p.from)
		for k := p.from; k < p.to; k++ {
			sp := &spans[accepted[k]]
			e := &entries[k-p.from]
			out[k] = e
			if k == p.from {
				c.span(e, sp, nil, nil)
			} else {
				c.span(e, sp, &spans[accepted[k-1]], out[k-1])
			}
			e.own = ch
			ch.refs++
			if ri := resOf[k]; ri >= 0 {
				if resCopy[ri] == nil {
					resCopy[ri] = c.attrList(sp.Resource)
				}
				e.Resource = resCopy[ri]
				e.res = &chunks[resources[ri].chunk]
				e.res.refs++
			} else {
				e.Resource = nil
				if sp.Resource != nil {
					e.Resource = []storage.Attribute{}
				}
			}
		}
	}
	return out, chunks, rejected
}

// check rejects a span that no store may hold.
func check(sp *storage.Span) error {
	switch {
	case sp.TraceID.IsZero():
		return fmt.Errorf("memory: zero trace id")
	case sp.SpanID.IsZero():
		return fmt.Errorf("memory: span of trace %s: zero span id", sp.TraceID)
	}
	return nil
}
