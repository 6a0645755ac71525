package query

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
	"sync"

	"github.com/tracerdev/tracer/analysis"
	"github.com/tracerdev/tracer/storage"
)

// The causal analysis of a large trace takes long to build (NewCausal on a
// 100,000-span trace with clocks: ~0.6 s and ~35 MB kept) and the UI asks
// for it on every span the user selects. causalCache keeps the analyses of
// the few large traces looked at last. The trace is still read on every
// request: an entry is used only when the spans read have the fingerprint
// the analysis was built from, so a trace that gained or changed spans is
// analysed again.
const (
	// causalCacheMinSpans: smaller traces are analysed in a few
	// milliseconds and never cached.
	causalCacheMinSpans = 2_000
	// causalCacheMaxSpans bounds the spans of all cached traces together
	// (with their analyses, roughly 1 KB per span for spans of a few
	// attributes).
	causalCacheMaxSpans = 300_000
	// causalCacheMaxEntries bounds the number of cached traces.
	causalCacheMaxEntries = 4
)

type causalEntry struct {
	id        storage.TraceID
	fp        uint64
	truncated bool
	tr        *analysis.Trace
	c         *analysis.Causal
}

// causalCache is a small least-recently-used cache of causal analyses.
type causalCache struct {
	seed    maphash.Seed
	mu      sync.Mutex
	entries []*causalEntry // most recently used last
	spans   int
}

func newCausalCache() *causalCache { return &causalCache{seed: maphash.MakeSeed()} }

// fingerprint hashes what the analysis depends on of each span: its ids,
// times and kind and the sizes of its attributes, events and links (a
// span re-written with the same ids, times and sizes but other clock
// values is not told apart; the writers never do that: a re-sent span is
// the same span).
func (cc *causalCache) fingerprint(spans []storage.Span) uint64 {
	var h maphash.Hash
	h.SetSeed(cc.seed)
	var b [8 + 8 + 8 + 8 + 1 + 4*3]byte
	for i := range spans {
		s := &spans[i]
		copy(b[0:8], s.SpanID[:])
		copy(b[8:16], s.ParentSpanID[:])
		binary.LittleEndian.PutUint64(b[16:], uint64(s.StartTime))
		binary.LittleEndian.PutUint64(b[24:], uint64(s.EndTime))
		b[32] = byte(s.Kind)
		binary.LittleEndian.PutUint32(b[33:], uint32(len(s.Attributes)))
		binary.LittleEndian.PutUint32(b[37:], uint32(len(s.Events)))
		binary.LittleEndian.PutUint32(b[41:], uint32(len(s.Links)))
		h.Write(b[:])
	}
	return h.Sum64()
}

// analyse returns the trace and causal analysis of spans (the trace id's
// spans as read, truncated or not), from the cache when it holds them.
func (cc *causalCache) analyse(id storage.TraceID, spans []storage.Span, truncated bool) (*analysis.Trace, *analysis.Causal) {
	if len(spans) < causalCacheMinSpans {
		tr := analysis.NewTrace(spans)
		return tr, analysis.NewCausal(tr)
	}
	fp := cc.fingerprint(spans)
	cc.mu.Lock()
	for i, e := range cc.entries {
		if e.id == id && e.fp == fp && e.truncated == truncated {
			cc.entries = append(slices.Delete(cc.entries, i, i+1), e)
			cc.mu.Unlock()
			return e.tr, e.c
		}
	}
	cc.mu.Unlock()
	// Built outside the lock: two requests for one trace may both build it.
	tr := analysis.NewTrace(spans)
	c := analysis.NewCausal(tr)
	if len(spans) > causalCacheMaxSpans {
		return tr, c
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for i, e := range cc.entries {
		if e.id == id { // an older version of the trace
			cc.spans -= e.tr.Len()
			cc.entries = slices.Delete(cc.entries, i, i+1)
			break
		}
	}
	for len(cc.entries) > 0 && (len(cc.entries) >= causalCacheMaxEntries || cc.spans+tr.Len() > causalCacheMaxSpans) {
		cc.spans -= cc.entries[0].tr.Len()
		cc.entries = slices.Delete(cc.entries, 0, 1)
	}
	cc.entries = append(cc.entries, &causalEntry{id: id, fp: fp, truncated: truncated, tr: tr, c: c})
	cc.spans += tr.Len()
	return tr, c
}
