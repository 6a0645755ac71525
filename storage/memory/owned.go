package memory

import (
	"context"

	"github.com/tracerdev/tracer/storage"
)

// Group is a run of the spans given to WriteOwned whose strings and slices
// live in memory that goes away together: the spans decoded from one
// request, say, whose strings point into the request's bytes.
type Group struct {
	// End is where the group ends in the spans: a group is
	// spans[previous End:End], the first from 0.
	End int
	// Bytes is the memory the group's strings point into (the request's
	// bytes), which the span values and their slices, counted by the
	// store, come on top of.
	Bytes int64
}

// WriteOwned is WriteSpans for spans that the caller hands over: the store
// keeps their strings and slices as they are instead of copying them. The
// caller promises that nothing modifies the spans' strings and slices, or
// the memory they point into, any more (the Span values themselves are
// copied: the spans slice may be reused). groups partition spans (see
// Group); a group's memory is charged to the byte cap whole until the last
// of its spans is evicted, purged or written again. A group larger than an
// eighth of the byte cap is copied as WriteSpans would, so that evicting
// part of the store frees memory. Rejections are as WriteSpans's, their
// indices into spans.
func (s *Store) WriteOwned(ctx context.Context, spans []storage.Span, groups []Group) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var (
		entries  = make([]*entry, 0, len(spans))
		bytes    int64
		rejected []storage.RejectedSpan
		owned    = make([]chunk, 0, len(groups)) // stable: entries point at them
	)
	from := 0
	for _, g := range groups {
		end := min(max(g.End, from), len(spans))
		part := spans[from:end]
		size := ownedSize(part, g.Bytes)
		if size > s.maxBytes/8 {
			entries, bytes, rejected = copyPart(spans, from, end, s.maxBytes, entries, bytes, rejected)
			from = end
			continue
		}
		owned = append(owned, chunk{bytes: size})
		ch := &owned[len(owned)-1]
		es := make([]entry, len(part))
		n := 0
		for i := range part {
			sp := &part[i]
			if err := check(sp); err != nil {
				rejected = append(rejected, storage.RejectedSpan{Index: from + i, Err: err})
				continue
			}
			e := &es[n]
			n++
			e.Span = *sp
			e.own = ch
			ch.refs++
			entries = append(entries, e)
		}
		if ch.refs > 0 {
			bytes += ch.bytes
		}
		from = end
	}
	if from < len(spans) { // spans past the last group: copied
		entries, bytes, rejected = copyPart(spans, from, len(spans), s.maxBytes, entries, bytes, rejected)
	}
	if err := s.write(entries, bytes); err != nil {
		return err
	}
	return storage.Reject(rejected...)
}

// copyPart copies spans[from:end] as WriteSpans does, adding to entries,
// bytes and rejected.
func copyPart(spans []storage.Span, from, end int, maxBytes int64, entries []*entry, bytes int64, rejected []storage.RejectedSpan) ([]*entry, int64, []storage.RejectedSpan) {
	es, chunks, rej := copySpans(spans[from:end], maxBytes)
	for _, r := range rej {
		r.Index += from
		rejected = append(rejected, r)
	}
	return append(entries, es...), bytes + chunksBytes(chunks), rejected
}

// ownedSize is what a group of spans whose strings point into bytes bytes
// holds: those bytes, the entries, and the slices of the spans (a Resource
// shared by consecutive spans, as the decoder gives it, once).
func ownedSize(spans []storage.Span, bytes int64) int64 {
	var n need
	var prev []storage.Attribute
	for i := range spans {
		sp := &spans[i]
		if r := sp.Resource; len(r) > 0 && (len(prev) != len(r) || &prev[0] != &r[0]) {
			n.attrs += len(r)
			prev = r
		}
		n.attrs += len(sp.Attributes)
		n.events += len(sp.Events)
		for j := range sp.Events {
			n.attrs += len(sp.Events[j].Attributes)
		}
		n.links += len(sp.Links)
		for j := range sp.Links {
			n.attrs += len(sp.Links[j].Attributes)
		}
	}
	return bytes + n.size() + int64(len(spans))*spanSize
}
