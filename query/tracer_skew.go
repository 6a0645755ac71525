package query

import (
	"net/http"
	"strconv"

	"github.com/tracerdev/tracer/analysis"
)

type skewInstanceJSON struct {
	Service       string `json:"service"`
	Instance      string `json:"instance"`
	OffsetNano    int64  `json:"offsetNano"`
	MinOffsetNano *int64 `json:"minOffsetNano"`
	MaxOffsetNano *int64 `json:"maxOffsetNano"`
	Contradicted  bool   `json:"contradicted"`
}

type skewConstraintJSON struct {
	BeforeSpanID string `json:"beforeSpanId"`
	BeforeEvent  string `json:"beforeEvent"`
	AfterSpanID  string `json:"afterSpanId"`
	AfterEvent   string `json:"afterEvent"`
	BoundNano    int64  `json:"boundNano"`
	Via          string `json:"via"`
	Reason       string `json:"reason"`
}

type skewPairJSON struct {
	A              int                  `json:"a"`
	B              int                  `json:"b"`
	MinSkewNano    *int64               `json:"minSkewNano"`
	MaxSkewNano    *int64               `json:"maxSkewNano"`
	Forward        int                  `json:"forward"`
	Backward       int                  `json:"backward"`
	Confidence     string               `json:"confidence"`
	Skewed         bool                 `json:"skewed"`
	TightestMin    *skewConstraintJSON  `json:"tightestMin"`
	TightestMax    *skewConstraintJSON  `json:"tightestMax"`
	ViolationCount int                  `json:"violationCount"`
	Violations     []skewConstraintJSON `json:"violations"`
}

type skewSpanJSON struct {
	SpanID            string       `json:"spanId"`
	StartTimeUnixNano jsonUnixNano `json:"startTimeUnixNano"`
	EndTimeUnixNano   jsonUnixNano `json:"endTimeUnixNano"`
	ShiftNano         int64        `json:"shiftNano"`
	Adjusted          bool         `json:"adjusted"`
}

type skewJSON struct {
	TraceID     string             `json:"traceId"`
	Truncated   bool               `json:"truncated"`
	Reference   int                `json:"reference"`
	Unestimated bool               `json:"unestimated"`
	Instances   []skewInstanceJSON `json:"instances"`
	Pairs       []skewPairJSON     `json:"pairs"`
	Adjusted    bool               `json:"adjusted"`
	Spans       []skewSpanJSON     `json:"spans,omitempty"`
}

// tracerSkew answers a trace's clock skew (analysis.Skew): the offsets
// between instance pairs with the constraints behind them, each instance's
// estimated offset, and with adjusted=true every span's times shifted by
// its instance's offset (storage is not changed).
func (a *API) tracerSkew(w http.ResponseWriter, r *http.Request) {
	id, ok := a.tracerTraceID(w, r)
	if !ok {
		return
	}
	var err error
	adjusted := false
	if v := r.URL.Query().Get("adjusted"); v != "" {
		if adjusted, err = strconv.ParseBool(v); err != nil {
			a.writeTracerError(w, r, badParam("adjusted", v, "true or false"))
			return
		}
	}
	spans, truncated, err := a.readTrace(r.Context(), id)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	tr, c := a.causal.analyse(id, spans, truncated)
	rep := analysis.Skew(c)
	out := skewJSON{
		TraceID: id.String(), Truncated: truncated, Reference: int(rep.Reference),
		Unestimated: rep.Unestimated, Adjusted: adjusted,
		Instances: make([]skewInstanceJSON, len(tr.Instances)),
		Pairs:     make([]skewPairJSON, len(rep.Pairs)),
	}
	for i, in := range tr.Instances {
		is := rep.Instances[i]
		out.Instances[i] = skewInstanceJSON{
			Service: in.Service, Instance: in.ID, OffsetNano: int64(is.Offset),
			MinOffsetNano: skewBound(is.Range.Lo, is.Range.HasLo),
			MaxOffsetNano: skewBound(is.Range.Hi, is.Range.HasHi),
			Contradicted:  is.Contradicted,
		}
	}
	for k := range rep.Pairs {
		p := &rep.Pairs[k]
		pj := skewPairJSON{
			A: int(p.A), B: int(p.B),
			MinSkewNano: skewBound(p.Skew.Lo, p.Skew.HasLo),
			MaxSkewNano: skewBound(p.Skew.Hi, p.Skew.HasHi),
			Forward:     p.Forward, Backward: p.Backward,
			Confidence: string(p.Confidence), Skewed: p.Skewed(),
			ViolationCount: p.ViolationCount,
			Violations:     make([]skewConstraintJSON, len(p.Violations)),
		}
		if p.Skew.HasLo {
			c := skewConstraint(tr, p.TightestLo)
			pj.TightestMin = &c
		}
		if p.Skew.HasHi {
			c := skewConstraint(tr, p.TightestHi)
			pj.TightestMax = &c
		}
		for v, c := range p.Violations {
			pj.Violations[v] = skewConstraint(tr, c)
		}
		out.Pairs[k] = pj
	}
	if adjusted {
		adj := rep.Adjusted()
		out.Spans = make([]skewSpanJSON, len(adj))
		for i, s := range adj {
			out.Spans[i] = skewSpanJSON{
				SpanID:            tr.Spans[i].SpanID.String(),
				StartTimeUnixNano: jsonUnixNano(s.Start), EndTimeUnixNano: jsonUnixNano(s.End),
				ShiftNano: int64(s.Shift), Adjusted: s.Adjusted,
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func skewBound[D ~int64](d D, ok bool) *int64 {
	if !ok {
		return nil
	}
	v := int64(d)
	return &v
}

func skewEventName(e analysis.Event) string {
	if e.End {
		return "end"
	}
	return "start"
}

func skewConstraint(tr *analysis.Trace, c analysis.SkewConstraint) skewConstraintJSON {
	return skewConstraintJSON{
		BeforeSpanID: tr.Spans[c.Before.Span].SpanID.String(), BeforeEvent: skewEventName(c.Before),
		AfterSpanID: tr.Spans[c.After.Span].SpanID.String(), AfterEvent: skewEventName(c.After),
		BoundNano: int64(c.Bound), Via: c.Via, Reason: c.Reason.String(),
	}
}
