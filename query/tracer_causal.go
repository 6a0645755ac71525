package query

import (
	"bytes"
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/tracerdev/tracer/analysis"
	"github.com/tracerdev/tracer/storage"
)

// causalMaxIDs caps each list of span ids in a causal answer; the counts
// are always whole.
const causalMaxIDs = 1000

// causalAnswer is the JSON of GET /api/tracer/traces/{id}/causal (see
// openapi.yaml, CausalResponse).
type causalAnswer struct {
	TraceID   string        `json:"traceId"`
	SpanCount int           `json:"spanCount"`
	Truncated bool          `json:"truncated"`
	Span      string        `json:"span,omitempty"`
	Before    *causalIDs    `json:"before,omitempty"`
	After     *causalIDs    `json:"after,omitempty"`
	Conc      *causalIDs    `json:"concurrent,omitempty"`
	Unknown   *causalIDs    `json:"unknown,omitempty"`
	Reasons   *causalReason `json:"unknownReasons,omitempty"`
	Order     []string      `json:"order,omitempty"`
	// With all=true: every span's relation and its reason, one character
	// each, in ascending span id order (see causalAll).
	Relations string   `json:"relations,omitempty"`
	Codes     string   `json:"reasons,omitempty"`
	Digest    string   `json:"digest,omitempty"`
	SpanIDs   []string `json:"spanIds,omitempty"`
}

// causalIDs is a capped list of span ids with the whole count.
type causalIDs struct {
	Count   int      `json:"count"`
	SpanIDs []string `json:"spanIds"`
}

func (c *causalIDs) add(id storage.SpanID) {
	c.Count++
	if len(c.SpanIDs) < causalMaxIDs {
		c.SpanIDs = append(c.SpanIDs, id.String())
	}
}

// causalReason counts the unknown spans by what left them open.
type causalReason struct {
	MissingClock int `json:"missingClock"`
	PrunedClock  int `json:"prunedClock"`
	Clock        int `json:"clock"`
	Conflict     int `json:"conflict"`
	// PartlyConcurrent counts spans whose start is concurrent with the
	// span's start but not every pair of their events is.
	PartlyConcurrent int `json:"partlyConcurrent"`
}

// tracerCausal answers the happened-before relation of one span of a trace
// to the others (span=<id>, analysis.Causal): before (their start happened
// before the span's start: its ancestors among them), after (the span's
// start happened before theirs: its descendants among them), concurrent
// (ConcurrentWith: no event of theirs is ordered with one of the span's),
// and unknown; with all=true also every span's relation and reason in one
// character each (causalAll); with order=true, the trace's causal order.
func (a *API) tracerCausal(w http.ResponseWriter, r *http.Request) {
	id, ok := a.tracerTraceID(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var err error
	var spanID storage.SpanID
	hasSpan := q.Get("span") != ""
	if hasSpan {
		if spanID, err = storage.ParseSpanID(q.Get("span")); err != nil {
			a.writeTracerError(w, r, badParam("span", q.Get("span"), "a span id of 16 hex digits"))
			return
		}
	}
	order := false
	if s := q.Get("order"); s != "" {
		if order, err = strconv.ParseBool(s); err != nil {
			a.writeTracerError(w, r, badParam("order", s, "true or false"))
			return
		}
	}
	all, err := causalBool(q, "all")
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	ids, err := causalBool(q, "ids")
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	if all && !hasSpan {
		a.writeTracerError(w, r, badParam("span", "", "a span id with all=true"))
		return
	}
	if !hasSpan && !order {
		a.writeTracerError(w, r, badParam("span", "", "a span id, or order=true"))
		return
	}
	spans, truncated, err := a.readTrace(r.Context(), id)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	tr, c := a.causal.analyse(id, spans, truncated)
	ans := causalAnswer{TraceID: id.String(), SpanCount: tr.Len(), Truncated: truncated}
	if hasSpan {
		x := tr.Index(spanID)
		if x < 0 {
			a.writeTracerError(w, r, badParam("span", q.Get("span"), "a span of the trace"))
			return
		}
		ans.Span = spanID.String()
		ans.Before, ans.After, ans.Conc, ans.Unknown = &causalIDs{SpanIDs: []string{}}, &causalIDs{SpanIDs: []string{}}, &causalIDs{SpanIDs: []string{}}, &causalIDs{SpanIDs: []string{}}
		ans.Reasons = &causalReason{}
		conc := map[int]bool{}
		for _, y := range c.ConcurrentWith(x) {
			conc[y] = true
		}
		var rels, why []byte
		if all {
			rels, why = make([]byte, tr.Len()), make([]byte, tr.Len())
			rels[x], why[x] = '=', '-'
		}
		for y := range tr.Len() {
			if y == x {
				continue
			}
			sid := tr.Spans[y].SpanID
			rel := c.Relation(analysis.StartOf(y), analysis.StartOf(x))
			code, reason := byte('u'), causalReasonCode(rel.Reason)
			switch {
			case rel.Order == analysis.Before:
				ans.Before.add(sid)
				code = 'b'
			case rel.Order == analysis.After:
				ans.After.add(sid)
				code = 'a'
			case conc[y]:
				ans.Conc.add(sid)
				code, reason = 'c', 'k'
			default:
				ans.Unknown.add(sid)
				switch {
				case rel.Order == analysis.Concurrent:
					ans.Reasons.PartlyConcurrent++
					reason = 'q'
				case rel.Reason == analysis.ReasonPrunedClock:
					ans.Reasons.PrunedClock++
				case rel.Reason == analysis.ReasonConflict:
					ans.Reasons.Conflict++
				case rel.Reason == analysis.ReasonClock:
					ans.Reasons.Clock++
					reason = 'o'
				default:
					ans.Reasons.MissingClock++
					reason = 'n'
				}
			}
			if all {
				rels[y], why[y] = code, reason
			}
		}
		if all {
			causalAll(&ans, tr, rels, why, ids)
		}
	}
	if order {
		ans.Order = make([]string, 0, tr.Len())
		for _, i := range c.CausalOrder() {
			ans.Order = append(ans.Order, tr.Spans[i].SpanID.String())
		}
	}
	writeJSON(w, http.StatusOK, ans)
}

// causalBool reads an optional boolean parameter (false when absent).
func causalBool(q url.Values, name string) (bool, error) {
	s := q.Get(name)
	if s == "" {
		return false, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, badParam(name, s, "true or false")
	}
	return v, nil
}

// causalReasonCode is the one-character code of a reason in an all=true
// answer: k clock, s structure, m clock+structure, n missing clock (a span
// without a clock, or a hop without clocks), p pruned clock, o the clocks
// leave it open, x conflict (bad data); q (partly concurrent) is set by the
// caller.
func causalReasonCode(r analysis.Reason) byte {
	switch r {
	case analysis.ReasonClock:
		return 'k'
	case analysis.ReasonStructure:
		return 's'
	case analysis.ReasonClockAndStructure:
		return 'm'
	case analysis.ReasonPrunedClock:
		return 'p'
	case analysis.ReasonConflict:
		return 'x'
	default:
		return 'n'
	}
}

// causalAll fills the all=true fields: relations and reasons hold one
// character per span (rels and why are indexed like tr.Spans) in ascending
// span id order, so that a client can map them to its spans without the
// ids; the digest (FNV-1a 64 of the sorted ids) tells whether the ids a
// client holds (from an answer with ids=true) are still the trace's. A
// clock-less answer for the whole trace: 2 bytes a span, no ids.
func causalAll(ans *causalAnswer, tr *analysis.Trace, rels, why []byte, ids bool) {
	n := tr.Len()
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(tr.Spans[a].SpanID[:], tr.Spans[b].SpanID[:]) })
	r, y := make([]byte, n), make([]byte, n)
	h := fnv.New64a()
	if ids {
		ans.SpanIDs = make([]string, n)
	}
	for k, i := range order {
		r[k], y[k] = rels[i], why[i]
		h.Write(tr.Spans[i].SpanID[:])
		if ids {
			ans.SpanIDs[k] = tr.Spans[i].SpanID.String()
		}
	}
	ans.Relations, ans.Codes = string(r), string(y)
	ans.Digest = strconv.FormatUint(h.Sum64(), 16)
}
