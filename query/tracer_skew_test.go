package query

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// skewTrace is a call from service-a to service-b, whose clock is 50ms
// ahead, with no vector clocks (plain OpenTelemetry): the call and the
// reply bound the skew to [49ms, 51ms].
func skewTrace() (storage.TraceID, []storage.Span) {
	tid := storage.TraceID{0xab, 1}
	base := trNow.Add(-time.Minute).UnixNano()
	ms := int64(time.Millisecond)
	res := func(svc string) []storage.Attribute {
		return []storage.Attribute{{Key: "service.name", Value: svc}, {Key: "service.instance.id", Value: svc + "-1"}}
	}
	sp := func(id, parent byte, svc string, kind storage.SpanKind, start, end int64) storage.Span {
		s := storage.Span{TraceID: tid, SpanID: storage.SpanID{0xab, id}, Name: svc + " op", Kind: kind,
			StartTime: base + start, EndTime: base + end, Service: svc, Resource: res(svc)}
		if parent != 0 {
			s.ParentSpanID = storage.SpanID{0xab, parent}
		}
		return s
	}
	const skew = 50
	return tid, []storage.Span{
		sp(1, 0, "service-a", storage.KindServer, 0, 10*ms),
		sp(2, 1, "service-a", storage.KindClient, 1*ms, 8*ms),
		sp(3, 2, "service-b", storage.KindServer, (2+skew)*ms, (7+skew)*ms), // true [2ms, 7ms]
	}
}

func TestTracerSkew(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	tid, spans := skewTrace()
	f.write(t, spans...)
	ms := int64(time.Millisecond)

	t.Run("estimates", func(t *testing.T) {
		var got skewJSON
		f.getJSON(t, "/api/tracer/traces/"+tid.String()+"/skew", 200, &got)
		if got.TraceID != tid.String() || got.Adjusted || got.Spans != nil || got.Truncated {
			t.Errorf("answer %+v", got)
		}
		if len(got.Instances) != 2 || got.Reference < 0 || got.Instances[got.Reference].Instance != "service-a-1" {
			t.Fatalf("instances %+v, reference %d, want service-a's first", got.Instances, got.Reference)
		}
		if len(got.Pairs) != 1 {
			t.Fatalf("pairs %+v, want 1", got.Pairs)
		}
		p := got.Pairs[0]
		sign := int64(1) // the pair's skew is b's clock ahead of a's
		if got.Instances[p.B].Service == "service-a" {
			sign = -1
		}
		// b ahead of a: at most b's start − a's call start (52 − 1), at
		// least b's end − a's call end (57 − 8).
		lo, hi := 49*ms, 51*ms
		if sign < 0 {
			lo, hi = -hi, -lo
		}
		if p.MinSkewNano == nil || p.MaxSkewNano == nil || *p.MinSkewNano != lo || *p.MaxSkewNano != hi {
			t.Errorf("skew [%v, %v], want [%d, %d]", p.MinSkewNano, p.MaxSkewNano, lo, hi)
		}
		if !p.Skewed || p.ViolationCount != 1 || len(p.Violations) != 1 || p.Confidence != "medium" || p.Forward != 1 || p.Backward != 1 {
			t.Errorf("pair %+v", p)
		}
		v := p.Violations[0]
		want := skewConstraintJSON{BeforeSpanID: spans[2].SpanID.String(), BeforeEvent: "end",
			AfterSpanID: spans[1].SpanID.String(), AfterEvent: "end", BoundNano: -49 * ms, Via: "reply", Reason: "structure"}
		if v != want {
			t.Errorf("violation %+v, want %+v", v, want)
		}
		if p.TightestMin == nil || p.TightestMax == nil {
			t.Errorf("tightest %+v %+v, want both", p.TightestMin, p.TightestMax)
		}
		for _, in := range got.Instances {
			switch in.Service {
			case "service-a":
				if in.OffsetNano != 0 {
					t.Errorf("service-a offset %d", in.OffsetNano)
				}
			case "service-b":
				if in.OffsetNano != 49*ms || in.MinOffsetNano == nil || *in.MinOffsetNano != 49*ms || in.MaxOffsetNano == nil || *in.MaxOffsetNano != 51*ms {
					t.Errorf("service-b %+v, want offset 49ms in [49ms, 51ms]", in)
				}
			}
		}
	})

	t.Run("adjusted", func(t *testing.T) {
		var got struct {
			Adjusted bool `json:"adjusted"`
			Spans    []struct {
				SpanID    string `json:"spanId"`
				Start     string `json:"startTimeUnixNano"`
				End       string `json:"endTimeUnixNano"`
				ShiftNano int64  `json:"shiftNano"`
				Adjusted  bool   `json:"adjusted"`
			} `json:"spans"`
		}
		f.getJSON(t, "/api/tracer/traces/"+tid.String()+"/skew?adjusted=true", 200, &got)
		if !got.Adjusted || len(got.Spans) != len(spans) {
			t.Fatalf("adjusted %v, %d spans", got.Adjusted, len(got.Spans))
		}
		for _, s := range got.Spans {
			var orig *storage.Span
			for i := range spans {
				if spans[i].SpanID.String() == s.SpanID {
					orig = &spans[i]
				}
			}
			if orig == nil {
				t.Fatalf("span %s not in the trace", s.SpanID)
			}
			shift := int64(0)
			if orig.Service == "service-b" {
				shift = -49 * ms
			}
			if s.ShiftNano != shift || s.Adjusted != (shift != 0) ||
				s.Start != strconv.FormatInt(orig.StartTime+shift, 10) || s.End != strconv.FormatInt(orig.EndTime+shift, 10) {
				t.Errorf("span %s: %+v, want shifted by %d from [%d, %d]", s.SpanID, s, shift, orig.StartTime, orig.EndTime)
			}
		}
		// The stored trace is unchanged.
		var tr struct {
			Spans []struct {
				SpanID string `json:"spanId"`
				Start  string `json:"startTimeUnixNano"`
			} `json:"spans"`
		}
		f.getJSON(t, "/api/tracer/traces/"+tid.String(), 200, &tr)
		for _, s := range tr.Spans {
			if s.SpanID == spans[2].SpanID.String() && s.Start != strconv.FormatInt(spans[2].StartTime, 10) {
				t.Errorf("stored start %s, want %d", s.Start, spans[2].StartTime)
			}
		}
	})

	t.Run("raw JSON", func(t *testing.T) {
		// Unbounded ends are null, times are strings.
		_, body, _ := f.get(t, "/api/tracer/traces/"+tid.String()+"/skew?adjusted=1")
		for _, want := range []string{`"minOffsetNano":0`, `"startTimeUnixNano":"`, `"via":"reply"`, `"reason":"structure"`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("answer lacks %s: %s", want, body)
			}
		}
	})

	errs := []struct {
		name, path string
		status     int
	}{
		{"bad id", "/api/tracer/traces/xyz/skew", 400},
		{"bad adjusted", "/api/tracer/traces/" + tid.String() + "/skew?adjusted=maybe", 400},
		{"unknown trace", "/api/tracer/traces/0af7651916cd43dd8448eb211c80319c/skew", 404},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			var got struct {
				Error struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			f.getJSON(t, tt.path, tt.status, &got)
			if got.Error.Code != tt.status || got.Error.Message == "" {
				t.Errorf("error %+v", got.Error)
			}
		})
	}
}
