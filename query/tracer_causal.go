package query

import (
	"net/http"
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
// and unknown; with order=true, the trace's causal order.
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
	if !hasSpan && !order {
		a.writeTracerError(w, r, badParam("span", "", "a span id, or order=true"))
		return
	}
	spans, truncated, err := a.readTrace(r.Context(), id)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	tr := analysis.NewTrace(spans)
	c := analysis.NewCausal(tr)
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
		for y := range tr.Len() {
			if y == x {
				continue
			}
			sid := tr.Spans[y].SpanID
			rel := c.Relation(analysis.StartOf(y), analysis.StartOf(x))
			switch {
			case rel.Order == analysis.Before:
				ans.Before.add(sid)
			case rel.Order == analysis.After:
				ans.After.add(sid)
			case conc[y]:
				ans.Conc.add(sid)
			default:
				ans.Unknown.add(sid)
				switch {
				case rel.Order == analysis.Concurrent:
					ans.Reasons.PartlyConcurrent++
				case rel.Reason == analysis.ReasonPrunedClock:
					ans.Reasons.PrunedClock++
				case rel.Reason == analysis.ReasonConflict:
					ans.Reasons.Conflict++
				case rel.Reason == analysis.ReasonClock:
					ans.Reasons.Clock++
				default:
					ans.Reasons.MissingClock++
				}
			}
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
