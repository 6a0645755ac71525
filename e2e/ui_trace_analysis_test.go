package e2e

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprop "go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	uibench "github.com/tracerdev/tracer/bench/ui"
	"github.com/tracerdev/tracer/internal/uitest"
	"github.com/tracerdev/tracer/propagation"
)

// taSkew is how far the test's skewed service's clock is ahead of the
// others' (negative: behind), injected into every timestamp it records.
const taSkew = -50 * time.Millisecond

// plainProvider is a TracerProvider of the plain OpenTelemetry SDK (no
// vector clocks) for service, exporting synchronously to s.
func (s *uiServer) plainProvider(t *testing.T, service string) *sdktrace.TracerProvider {
	t.Helper()
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(s.GRPCAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// taSpans names the spans of the analysis test trace.
type taSpans map[string]string

// taSendSkewed sends the trace of the analysis view test: frontend's
// request calls, in parallel, backend (whose clock is taSkew off: its
// server span starts before the client span that called it), pricing, and
// legacy, a plain OpenTelemetry service (no clocks) that calls stock (with
// Tracer's SDK, but the clock is lost through legacy). It returns the
// trace id and the span ids by name.
func taSendSkewed(t *testing.T, s *uiServer) (string, taSpans) {
	t.Helper()
	fe := s.provider(t, "frontend").Tracer("e2e")
	be := s.provider(t, "backend").Tracer("e2e")
	pr := s.provider(t, "pricing").Tracer("e2e")
	st := s.provider(t, "stock").Tracer("e2e")
	lg := s.plainProvider(t, "legacy").Tracer("e2e")
	clocks := map[string]*propagation.VClock{}
	prop := func(svc string) otelprop.TextMapPropagator {
		if clocks[svc] == nil {
			clocks[svc] = propagation.NewVClock()
		}
		return otelprop.NewCompositeTextMapPropagator(otelprop.TraceContext{}, clocks[svc])
	}
	plain := otelprop.TraceContext{}
	base := time.Now().Add(-2 * time.Minute).Truncate(time.Millisecond)
	// at is true time ms; skewed services record it off by their skew.
	at := func(ms float64, skew time.Duration) time.Time {
		return base.Add(time.Duration(ms*float64(time.Millisecond)) + skew)
	}
	start := func(ms float64, skew time.Duration) trace.SpanStartOption { return trace.WithTimestamp(at(ms, skew)) }
	end := func(ms float64, skew time.Duration) trace.SpanEndOption { return trace.WithTimestamp(at(ms, skew)) }
	call := func(from otelprop.TextMapPropagator, ctx context.Context, to otelprop.TextMapPropagator) context.Context {
		c := otelprop.MapCarrier{}
		from.Inject(ctx, c)
		return to.Extract(context.Background(), c)
	}
	reply := func(svc string, sctx context.Context, client string, cctx context.Context) {
		c := otelprop.MapCarrier{}
		clocks[svc].InjectResponse(sctx, c)
		clocks[client].ExtractResponse(cctx, c)
	}
	server := trace.WithSpanKind(trace.SpanKindServer)
	client := trace.WithSpanKind(trace.SpanKindClient)
	ids := taSpans{}
	id := func(name string, sp trace.Span) trace.Span {
		ids[name] = sp.SpanContext().SpanID().String()
		return sp
	}

	ctx, root := fe.Start(context.Background(), "GET /order", start(0, 0), server)
	id("GET /order", root)
	c1ctx, c1 := fe.Start(ctx, "call inventory", start(5, 0), client)
	id("call inventory", c1)
	beCtx := call(prop("frontend"), c1ctx, prop("backend"))
	c2ctx, c2 := fe.Start(ctx, "call pricing", start(6, 0), client)
	id("call pricing", c2)
	prCtx := call(prop("frontend"), c2ctx, prop("pricing"))
	c3ctx, c3 := fe.Start(ctx, "call legacy", start(7, 0), client)
	id("call legacy", c3)
	lgCtx := call(prop("frontend"), c3ctx, plain)

	rctx, reserve := be.Start(beCtx, "inventory.Reserve", start(6, taSkew), server)
	id("inventory.Reserve", reserve)
	_, db := be.Start(rctx, "db.query", start(8, taSkew), client)
	id("db.query", db)
	pctx, price := pr.Start(prCtx, "price.Get", start(7, 0), server)
	id("price.Get", price)
	lctx, lookup := lg.Start(lgCtx, "legacy.Lookup", start(8, 0), server)
	id("legacy.Lookup", lookup)
	lcctx, lcall := lg.Start(lctx, "call stock", start(9, 0), client)
	id("call stock", lcall)
	sctx, check := st.Start(call(plain, lcctx, prop("stock")), "stock.Check", start(10, 0), server)
	id("stock.Check", check)

	db.End(end(20, taSkew))
	reply("pricing", pctx, "frontend", c2ctx)
	price.End(end(30, 0))
	reply("backend", rctx, "frontend", c1ctx)
	reserve.End(end(40, taSkew))
	c1.End(end(45, 0))
	check.End(end(45, 0))
	_ = sctx
	c2.End(end(46, 0))
	lcall.End(end(50, 0))
	lookup.End(end(55, 0))
	c3.End(end(60, 0))
	_, render := fe.Start(ctx, "render", start(70, 0))
	id("render", render)
	render.End(end(90, 0))
	root.End(end(100, 0))

	traceID := root.SpanContext().TraceID().String()
	s.awaitSpans(t, traceID, len(ids))
	return traceID, ids
}

// taSendPlain sends a trace without skew: frontend calls pricing.
func taSendPlain(t *testing.T, s *uiServer) string {
	t.Helper()
	fe := s.provider(t, "frontend").Tracer("e2e")
	pr := s.provider(t, "pricing").Tracer("e2e")
	feClock, prClock := propagation.NewVClock(), propagation.NewVClock()
	base := time.Now().Add(-time.Minute)
	ms := func(n int) time.Time { return base.Add(time.Duration(n) * time.Millisecond) }
	ctx, root := fe.Start(context.Background(), "GET /price", trace.WithTimestamp(ms(0)), trace.WithSpanKind(trace.SpanKindServer))
	cctx, c := fe.Start(ctx, "call pricing", trace.WithTimestamp(ms(1)), trace.WithSpanKind(trace.SpanKindClient))
	req := otelprop.MapCarrier{}
	otelprop.NewCompositeTextMapPropagator(otelprop.TraceContext{}, feClock).Inject(cctx, req)
	sctx, srv := pr.Start(otelprop.NewCompositeTextMapPropagator(otelprop.TraceContext{}, prClock).Extract(context.Background(), req),
		"price.Get", trace.WithTimestamp(ms(2)), trace.WithSpanKind(trace.SpanKindServer))
	resp := otelprop.MapCarrier{}
	prClock.InjectResponse(sctx, resp)
	srv.End(trace.WithTimestamp(ms(8)))
	feClock.ExtractResponse(cctx, resp)
	c.End(trace.WithTimestamp(ms(9)))
	root.End(trace.WithTimestamp(ms(10)))
	id := root.SpanContext().TraceID().String()
	s.awaitSpans(t, id, 3)
	return id
}

// taSkewAnswer is GET /api/tracer/traces/{id}/skew (query/openapi.yaml, Skew).
type taSkewAnswer struct {
	Instances []struct {
		Service  string `json:"service"`
		Instance string `json:"instance"`
	} `json:"instances"`
	Pairs []struct {
		A           int    `json:"a"`
		B           int    `json:"b"`
		MinSkewNano *int64 `json:"minSkewNano"`
		MaxSkewNano *int64 `json:"maxSkewNano"`
		Confidence  string `json:"confidence"`
		Skewed      bool   `json:"skewed"`
	} `json:"pairs"`
	Spans []struct {
		SpanID    string `json:"spanId"`
		Start     string `json:"startTimeUnixNano"`
		End       string `json:"endTimeUnixNano"`
		ShiftNano int64  `json:"shiftNano"`
	} `json:"spans"`
}

// taBar is a row's bar as drawn: its left edge and width as fractions of the lane.
type taBar struct {
	SpanID string  `json:"spanId"`
	X      float64 `json:"x"`
	W      float64 `json:"w"`
	Lane   float64 `json:"lane"`
	Rel    string  `json:"rel"`
}

const taBarsJS = `[...document.querySelectorAll('.tl-row')].filter(r => r.style.display !== 'none').map(r => {
  const bar = r.querySelector('.tl-bar');
  return {spanId: r.dataset.spanId, x: new DOMMatrix(getComputedStyle(bar).transform).m41,
    w: parseFloat(bar.style.width), lane: r.querySelector('.tl-lane').clientWidth, rel: r.dataset.rel || ''};
})`

// taTimes are span times from the API, as the start and end of each span id.
type taTimes map[string][2]int64

// taCheckBars checks that every drawn bar is where times put it on a time
// axis from the earliest start to the latest end; it returns the bars.
func taCheckBars(t *testing.T, ctx context.Context, times taTimes, what string) map[string]taBar {
	t.Helper()
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, se := range times {
		lo, hi = min(lo, se[0]), max(hi, se[1])
	}
	bars := tvEval[[]taBar](t, ctx, taBarsJS)
	if len(bars) != len(times) {
		t.Fatalf("%s: %d rows drawn, the API has %d spans", what, len(bars), len(times))
	}
	out := map[string]taBar{}
	for _, b := range bars {
		se, ok := times[b.SpanID]
		if !ok {
			t.Errorf("%s: row of span %s the API does not have", what, b.SpanID)
			continue
		}
		wantX := float64(se[0]-lo) / float64(hi-lo) * b.Lane
		wantW := max(1, float64(se[1]-se[0])/float64(hi-lo)*b.Lane)
		if math.Abs(b.X-wantX) > 1.5 || math.Abs(b.W-wantW) > 1.5 {
			t.Errorf("%s: span %s drawn at x=%.1f w=%.1f px, the API's times put it at x=%.1f w=%.1f", what, b.SpanID, b.X, b.W, wantX, wantW)
		}
		out[b.SpanID] = b
	}
	return out
}

// TestUITraceAnalysis drives the trace view's analysis features in Chromium:
// the clock-skew warning (the right pair, an interval holding the injected
// offset), the adjusted-times toggle (bars at the API's adjusted times, the
// URL, the details' recorded and adjusted times, the critical path still
// marked), the causal shading of a selected span (every row as the API
// answers, a hop without clocks unknown), and no warning for a trace
// without skew.
func TestUITraceAnalysis(t *testing.T) {
	s := startUI(t)
	traceID, ids := taSendSkewed(t, s)
	plainID := taSendPlain(t, s)
	name := map[string]string{}
	for n, id := range ids {
		name[id] = n
	}
	tab := uitest.NewTab(t, 1500, 900)
	ctx, cancel := context.WithTimeout(tab.Ctx, 3*time.Minute)
	defer cancel()
	apiGet := func(t *testing.T, path string, v any) {
		t.Helper()
		if code, err := s.api.get(context.Background(), path, v); err != nil || code != 200 {
			t.Fatalf("GET %s: %d %v", path, code, err)
		}
	}
	open := func(t *testing.T, path string) {
		t.Helper()
		tvDo(t, ctx, "open "+path, chromedp.Navigate(s.URL+path), chromedp.WaitVisible(chromedp.CSS(".tl-row")))
	}
	location := func(t *testing.T) string { return tvEval[string](t, ctx, `location.search`) }
	recorded := func(t *testing.T) taTimes {
		var tr struct {
			Spans []struct {
				SpanID string `json:"spanId"`
				Start  string `json:"startTimeUnixNano"`
				End    string `json:"endTimeUnixNano"`
			} `json:"spans"`
		}
		apiGet(t, "/api/tracer/traces/"+traceID, &tr)
		out := taTimes{}
		for _, sp := range tr.Spans {
			a, _ := strconv.ParseInt(sp.Start, 10, 64)
			b, _ := strconv.ParseInt(sp.End, 10, 64)
			out[sp.SpanID] = [2]int64{a, b}
		}
		return out
	}

	t.Run("skew warning", func(t *testing.T) {
		var ans taSkewAnswer
		apiGet(t, "/api/tracer/traces/"+traceID+"/skew", &ans)
		open(t, "/trace/"+traceID)
		tvWait(t, ctx, "the skew warning", `!!document.querySelector('.tv-skew .tv-skew-pair')`)
		type pair struct {
			A, B, Min, Max, Confidence string
		}
		got := tvEval[[]pair](t, ctx, `[...document.querySelectorAll('.tv-skew-pair')].map(p => ({A: p.dataset.a, B: p.dataset.b,
		  Min: p.dataset.min, Max: p.dataset.max, Confidence: p.dataset.confidence}))`)
		// Exactly the skewed pair frontend/backend, with an interval that
		// holds the injected offset: b's clock ahead of a's by taSkew when b
		// is backend, by -taSkew when a is.
		if len(got) != 1 {
			t.Fatalf("skewed pairs shown: %+v", got)
		}
		p := got[0]
		if !(p.A == "frontend" && p.B == "backend" || p.A == "backend" && p.B == "frontend") {
			t.Fatalf("the warning names %s and %s, want frontend and backend", p.A, p.B)
		}
		truth := int64(taSkew)
		if p.A == "backend" {
			truth = -truth
		}
		bound := func(s string) *int64 {
			if s == "" {
				return nil
			}
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatalf("bound %q", s)
			}
			return &v
		}
		lo, hi := bound(p.Min), bound(p.Max)
		if lo == nil && hi == nil || lo != nil && *lo > truth || hi != nil && *hi < truth {
			t.Errorf("interval [%s, %s] does not hold the injected offset %d", p.Min, p.Max, truth)
		}
		// The page shows the API's pair, not another estimate.
		var api []pair
		for _, ap := range ans.Pairs {
			if ap.Skewed {
				f := func(v *int64) string {
					if v == nil {
						return ""
					}
					return strconv.FormatInt(*v, 10)
				}
				api = append(api, pair{ans.Instances[ap.A].Service, ans.Instances[ap.B].Service, f(ap.MinSkewNano), f(ap.MaxSkewNano), ap.Confidence})
			}
		}
		if !slices.Equal(got, api) {
			t.Errorf("the warning shows %+v, the API answers %+v", got, api)
		}
		text := tvEval[string](t, ctx, `document.querySelector('.tv-skew-pair').textContent`)
		if !strings.Contains(text, "at least") || !strings.Contains(text, "confidence "+p.Confidence) {
			t.Errorf("warning text %q", text)
		}
		// The spans that show it: clicking one selects and reveals it.
		spans := tvEval[[]string](t, ctx, `[...document.querySelectorAll('.tv-skew-pair .tv-skew-span')].map(b => b.dataset.spanId)`)
		if !slices.Contains(spans, ids["inventory.Reserve"]) || !slices.Contains(spans, ids["call inventory"]) {
			t.Errorf("spans named in the warning: %v", spans)
		}
		tvDo(t, ctx, "click a span of the warning", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.tv-skew-span[data-span-id="%s"]`, ids["inventory.Reserve"]))))
		tvWait(t, ctx, "the span selected", fmt.Sprintf(`document.querySelector('.tl-row.is-selected')?.dataset.spanId === %q`, ids["inventory.Reserve"]))
		if !strings.Contains(location(t), "span="+ids["inventory.Reserve"]) {
			t.Errorf("location %q", location(t))
		}
		tab.Screenshot(t, "trace-skew")
	})

	t.Run("adjusted view", func(t *testing.T) {
		open(t, "/trace/"+traceID)
		tvWait(t, ctx, "the toggle", `!!document.querySelector('.tv-adjusted-toggle')`)
		rec := taCheckBars(t, ctx, recorded(t), "recorded")
		if strings.Contains(location(t), "adjusted") {
			t.Errorf("adjusted in the URL before the toggle: %q", location(t))
		}
		tvDo(t, ctx, "toggle adjusted", chromedp.Click(chromedp.CSS(".tv-adjusted-toggle")))
		tvWait(t, ctx, "the adjusted banner", `!document.querySelector('.tv-adjusted-banner').hidden && document.querySelector('.tl').classList.contains('is-adjusted')`)
		if !strings.Contains(location(t), "adjusted=1") {
			t.Errorf("location %q after the toggle, want adjusted=1", location(t))
		}
		var ans taSkewAnswer
		apiGet(t, "/api/tracer/traces/"+traceID+"/skew?adjusted=true", &ans)
		adj := taTimes{}
		shift := map[string]int64{}
		for _, sp := range ans.Spans {
			a, _ := strconv.ParseInt(sp.Start, 10, 64)
			b, _ := strconv.ParseInt(sp.End, 10, 64)
			adj[sp.SpanID], shift[sp.SpanID] = [2]int64{a, b}, sp.ShiftNano
		}
		if shift[ids["inventory.Reserve"]] == 0 && shift[ids["GET /order"]] == 0 {
			t.Fatalf("the API adjusts nothing: %+v", ans.Spans)
		}
		bars := taCheckBars(t, ctx, adj, "adjusted")
		moved := 0
		for id, b := range bars {
			if math.Abs(b.X-rec[id].X) > 5 {
				moved++
			}
		}
		if moved == 0 {
			t.Errorf("no bar moved with the adjusted times")
		}
		// Shifted rows are marked, the others not.
		marked := tvEval[[]string](t, ctx, `[...document.querySelectorAll('.tl-row.is-shifted')].map(r => r.dataset.spanId).sort()`)
		var wantMarked []string
		for id, sh := range shift {
			if sh != 0 {
				wantMarked = append(wantMarked, id)
			}
		}
		slices.Sort(wantMarked)
		if !slices.Equal(marked, wantMarked) {
			t.Errorf("rows marked shifted %v, the API shifts %v", marked, wantMarked)
		}
		// The details show both the recorded and the adjusted times.
		r := ids["inventory.Reserve"]
		tvDo(t, ctx, "select the skewed span", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.tl-row[data-span-id="%s"] .tl-name`, r))))
		tvWait(t, ctx, "its adjusted times", `!!document.querySelector('.tv-details .sd-adj-shift')`)
		gotShift := tvEval[string](t, ctx, `document.querySelector('.tv-details .sd-adj-shift').dataset.shift`)
		if gotShift != strconv.FormatInt(shift[r], 10) {
			t.Errorf("details shift %s, the API's %d", gotShift, shift[r])
		}
		recStart := tvEval[string](t, ctx, `document.querySelector('.tv-details .sd-start').textContent`)
		adjStart := tvEval[string](t, ctx, `document.querySelector('.tv-details .sd-adj-start').textContent`)
		if recStart == adjStart || recStart == "" || adjStart == "" {
			t.Errorf("recorded start %q, adjusted start %q", recStart, adjStart)
		}
		// The critical path stays marked: exactly the API's spans.
		var cp struct {
			Spans []struct {
				SpanID       string `json:"spanId"`
				Contribution int64  `json:"contributionNano"`
			} `json:"spans"`
		}
		apiGet(t, "/api/tracer/traces/"+traceID+"/critical-path", &cp)
		var wantCritical []string
		for _, sp := range cp.Spans {
			if sp.Contribution > 0 {
				wantCritical = append(wantCritical, sp.SpanID)
			}
		}
		slices.Sort(wantCritical)
		tvWait(t, ctx, "the critical path", `document.querySelectorAll('.tl-row.is-critical').length > 0`)
		critical := tvEval[[]string](t, ctx, `[...document.querySelectorAll('.tl-row.is-critical')].map(r => r.dataset.spanId).sort()`)
		if len(wantCritical) == 0 || !slices.Equal(critical, wantCritical) {
			t.Errorf("critical rows %v, the API's path %v", critical, wantCritical)
		}
		tab.Screenshot(t, "trace-adjusted")

		// The URL reopens the adjusted view.
		tvDo(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".tl-row")))
		tvWait(t, ctx, "the adjusted view again", `document.querySelector('.tl').classList.contains('is-adjusted') && document.querySelector('.tv-adjusted-toggle')?.checked`)
		taCheckBars(t, ctx, adj, "adjusted after a reload")
		// Off again: the recorded times, adjusted gone from the URL.
		tvDo(t, ctx, "toggle off", chromedp.Click(chromedp.CSS(".tv-adjusted-toggle")))
		tvWait(t, ctx, "the recorded view", `!document.querySelector('.tl').classList.contains('is-adjusted') && document.querySelector('.tv-adjusted-banner').hidden`)
		taCheckBars(t, ctx, recorded(t), "recorded again")
		if strings.Contains(location(t), "adjusted") {
			t.Errorf("location %q after the toggle off", location(t))
		}
	})

	t.Run("causal shading", func(t *testing.T) {
		for _, sel := range []string{"inventory.Reserve", "stock.Check", "GET /order"} {
			t.Run(sel, func(t *testing.T) {
				me := ids[sel]
				open(t, "/trace/"+traceID+"?span="+me)
				tvWait(t, ctx, "the causal answer", fmt.Sprintf(`document.querySelector('.tv-details .sd-causal')?.dataset.span === %q && !document.querySelector('.tv-legend-rel').hidden`, me))
				// The rows are shaded in the timeline's next frame, after
				// the details and the legend: wait for every other row.
				tvWait(t, ctx, "the rows shaded", fmt.Sprintf(`document.querySelectorAll('.tl-row[data-rel]').length === %d`, len(ids)-1))
				var ans struct {
					Relations string   `json:"relations"`
					Reasons   string   `json:"reasons"`
					SpanIDs   []string `json:"spanIds"`
				}
				apiGet(t, "/api/tracer/traces/"+traceID+"/causal?span="+me+"&all=true&ids=true", &ans)
				if len(ans.SpanIDs) != len(ids) || len(ans.Relations) != len(ids) || len(ans.Reasons) != len(ids) {
					t.Fatalf("the API's answer: %+v", ans)
				}
				rels := map[byte]string{'=': "", 'b': "before", 'a': "after", 'c': "concurrent", 'u': "unknown"}
				want := map[string]string{}
				reason := map[string]string{}
				for k, id := range ans.SpanIDs {
					want[id], reason[id] = rels[ans.Relations[k]], string(ans.Reasons[k])
				}
				bars := tvEval[[]taBar](t, ctx, taBarsJS)
				if len(bars) != len(ids) {
					t.Fatalf("%d rows drawn, want %d", len(bars), len(ids))
				}
				for _, b := range bars {
					if b.Rel != want[b.SpanID] {
						t.Errorf("row %s shaded %q, the API says %q (%s)", name[b.SpanID], b.Rel, want[b.SpanID], reason[b.SpanID])
					}
				}
				// The details list the same spans, each with the API's reason.
				type item struct{ Order, SpanID, Reason string }
				items := tvEval[[]item](t, ctx, `[...document.querySelectorAll('.tv-details .sd-rel li')].map(li => ({Order: li.closest('.sd-rel').dataset.order,
				  SpanID: li.querySelector('.sd-span').dataset.spanId, Reason: li.querySelector('.sd-reason').dataset.reason}))`)
				if len(items) != len(ids)-1 {
					t.Errorf("the details list %d spans, want %d", len(items), len(ids)-1)
				}
				for _, it := range items {
					if it.Order != want[it.SpanID] || it.Reason != reason[it.SpanID] {
						t.Errorf("details: %s %s (%s), the API says %s (%s)", name[it.SpanID], it.Order, it.Reason, want[it.SpanID], reason[it.SpanID])
					}
				}
				// The legend's counts are the API's.
				counts := tvEval[[]string](t, ctx, `[...document.querySelectorAll('.tv-legend-rel .tv-rel-count')].map(e => e.textContent)`)
				for k, o := range []string{"before", "after", "concurrent", "unknown"} {
					n := 0
					for _, v := range want {
						if v == o {
							n++
						}
					}
					if k >= len(counts) || counts[k] != fmt.Sprintf("(%d)", n) {
						t.Errorf("legend %s: %v, want (%d)", o, counts, n)
					}
				}
				if sel == "inventory.Reserve" {
					// The scenario: pricing's server ran in parallel, its clocks
					// say concurrent. Across the plain legacy hop the order is
					// unknown, never concurrent: the plain span has no clock;
					// stock's clock lacks its causal past (its parent sent no
					// clock), which Tracer's SDK marks as pruned (sdk/doc.go).
					if want[ids["price.Get"]] != "concurrent" {
						t.Errorf("price.Get is %q to inventory.Reserve, want concurrent", want[ids["price.Get"]])
					}
					for n, r := range map[string]string{"legacy.Lookup": "n", "stock.Check": "p"} {
						if want[ids[n]] != "unknown" || reason[ids[n]] != r {
							t.Errorf("%s is %q (%s) to inventory.Reserve, want unknown (%s)", n, want[ids[n]], reason[ids[n]], r)
						}
					}
					for n, r := range map[string]string{"legacy.Lookup": "missing clock", "stock.Check": "pruned clock"} {
						txt := tvEval[string](t, ctx, fmt.Sprintf(`document.querySelector('.tv-details .sd-rel li:has(.sd-span[data-span-id="%s"]) .sd-reason').textContent`, ids[n]))
						if !strings.Contains(txt, r) {
							t.Errorf("the details' reason for %s: %q, want %q", n, txt, r)
						}
					}
					tab.Screenshot(t, "trace-causal")
				}
			})
		}
		// Another selection replaces the shading; none clears it.
		tvDo(t, ctx, "select price.Get", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.tl-row[data-span-id="%s"] .tl-name`, ids["price.Get"]))))
		tvWait(t, ctx, "price.Get's answer", fmt.Sprintf(`document.querySelector('.tv-details .sd-causal')?.dataset.span === %q`, ids["price.Get"]))
		tvWait(t, ctx, "price.Get's own row unshaded", fmt.Sprintf(`!document.querySelector('.tl-row[data-span-id="%s"]').dataset.rel`, ids["price.Get"]))
		tvDo(t, ctx, "Escape", chromedp.KeyEvent(kb.Escape))
		tvWait(t, ctx, "no shading", `!document.querySelector('.tl-row[data-rel]') && document.querySelector('.tv-legend-rel').hidden`)
		tvDo(t, ctx, "dark theme", chromedp.Click(chromedp.CSS(".theme-toggle")))
		tvDo(t, ctx, "select inventory.Reserve", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.tl-row[data-span-id="%s"] .tl-name`, ids["inventory.Reserve"]))))
		tvWait(t, ctx, "the shading", `!!document.querySelector('.tl-row[data-rel]')`)
		tab.Screenshot(t, "trace-causal-dark")
		tvDo(t, ctx, "light theme", chromedp.Click(chromedp.CSS(".theme-toggle")))
	})

	t.Run("no skew", func(t *testing.T) {
		open(t, "/trace/"+plainID)
		var sk taSkewAnswer
		apiGet(t, "/api/tracer/traces/"+plainID+"/skew", &sk)
		for _, p := range sk.Pairs {
			if p.Skewed {
				t.Fatalf("the plain trace is skewed by the API: %+v", sk.Pairs)
			}
		}
		tvWait(t, ctx, "the skew answer", `document.querySelector('.tv-skew-slot')?.dataset.skew === 'none'`)
		if n := tvEval[int](t, ctx, `document.querySelectorAll('.tv-skew, .tv-adjusted-toggle').length`); n != 0 {
			t.Errorf("%d skew elements on a trace without skew", n)
		}
		if !tvEval[bool](t, ctx, `document.querySelector('.tv-adjusted-banner').hidden`) {
			t.Errorf("the adjusted banner shows")
		}
	})
	tab.NoErrors(t)
}

// TestUITraceAnalysis100k selects a span of a 100,000-span trace (plain
// OpenTelemetry spans, no clocks): the rows on screen, and those scrolled
// to later, are shaded as the causal API answers, from one request per
// selection (the span ids only with the first); nothing is concurrent
// without clocks. The API's answer time is logged, not asserted.
func TestUITraceAnalysis100k(t *testing.T) {
	const n = 100_000
	s := startUI(t)
	var tid trace.TraceID
	copy(tid[:], "ui-causal-100k-e")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Batches of 1,000: an export must finish within the exporter's 10 s on a loaded machine.
	if err := uibench.Send(ctx, s.GRPCAddr, uibench.Large(tid, n, time.Now().Add(-time.Minute)), 1000); err != nil {
		t.Fatal(err)
	}
	s.awaitSpans(t, tid.String(), n)
	deep := uibench.SpanID(77_777)
	var ans struct {
		Relations string   `json:"relations"`
		SpanIDs   []string `json:"spanIds"`
	}
	t0 := time.Now()
	if code, err := s.api.get(ctx, "/api/tracer/traces/"+tid.String()+"/causal?span="+deep+"&all=true&ids=true", &ans); err != nil || code != 200 {
		t.Fatalf("causal: %d %v", code, err)
	}
	t.Logf("causal all=true ids=true on %d spans: %v (noisy: a shared, loaded machine)", n, time.Since(t0))
	if len(ans.SpanIDs) != n || len(ans.Relations) != n {
		t.Fatalf("the API answers %d ids, %d relations", len(ans.SpanIDs), len(ans.Relations))
	}
	want := make(map[string]string, n)
	rels := map[byte]string{'=': "", 'b': "before", 'a': "after", 'c': "concurrent", 'u': "unknown"}
	for k, id := range ans.SpanIDs {
		want[id] = rels[ans.Relations[k]]
		if ans.Relations[k] == 'c' {
			t.Fatalf("span %s concurrent without clocks", id)
		}
	}

	tab := uitest.NewTab(t, 1500, 900)
	tctx, tcancel := context.WithTimeout(tab.Ctx, 3*time.Minute)
	defer tcancel()
	checkRows := func(t *testing.T, what string) {
		t.Helper()
		bars := tvEval[[]taBar](t, tctx, taBarsJS)
		if len(bars) == 0 {
			t.Fatalf("%s: no rows", what)
		}
		for _, b := range bars {
			if b.Rel != want[b.SpanID] {
				t.Errorf("%s: row %s shaded %q, the API says %q", what, b.SpanID, b.Rel, want[b.SpanID])
			}
		}
	}
	causalRequests := `performance.getEntriesByType('resource').map(e => e.name).filter(u => u.includes('/causal?'))`
	tvDo(t, tctx, "open", chromedp.Navigate(s.URL+"/trace/"+tid.String()+"?span="+deep), chromedp.WaitVisible(chromedp.CSS(".tl-row.is-selected")))
	tvWait(t, tctx, "the shading", fmt.Sprintf(`document.querySelector('.tv-details .sd-causal')?.dataset.span === %q && !!document.querySelector('.tl-row[data-rel]')`, deep))
	checkRows(t, "around the selected span")
	tvDo(t, tctx, "scroll to the end", chromedp.Evaluate[chromedp.Void](`(b => { b.scrollTop = b.scrollHeight; })(document.querySelector('.tl-body'))`))
	tvWait(t, tctx, "the last row", `[...document.querySelectorAll('.tl-row')].some(r => r.style.display !== 'none' && r.dataset.index === '99999')`)
	checkRows(t, "at the end")
	if reqs := tvEval[[]string](t, tctx, causalRequests); len(reqs) != 1 || !strings.Contains(reqs[0], "ids=true") {
		t.Errorf("causal requests after a selection and a scroll: %v", reqs)
	}
	if dom := tvEval[int](t, tctx, `document.querySelectorAll('.tl-row').length`); dom > 200 {
		t.Errorf("%d row elements in the DOM", dom)
	}
	// Another selection: one more request, without the ids.
	other := tvEval[string](t, tctx, `[...document.querySelectorAll('.tl-row')].filter(r => r.style.display !== 'none').at(-3).dataset.spanId`)
	tvDo(t, tctx, "select another span", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.tl-row[data-span-id="%s"] .tl-name`, other))))
	tvWait(t, tctx, "its shading", fmt.Sprintf(`document.querySelector('.tv-details .sd-causal')?.dataset.span === %q`, other))
	reqs := tvEval[[]string](t, tctx, causalRequests)
	if len(reqs) != 2 || strings.Contains(reqs[1], "ids=true") {
		t.Errorf("causal requests after two selections: %v", reqs)
	}
	if code, err := s.api.get(ctx, "/api/tracer/traces/"+tid.String()+"/causal?span="+other+"&all=true&ids=true", &ans); err != nil || code != 200 {
		t.Fatalf("causal: %d %v", code, err)
	}
	for k, id := range ans.SpanIDs {
		want[id] = rels[ans.Relations[k]]
	}
	checkRows(t, "the second selection")
	tab.Screenshot(t, "trace-causal-100k")
	tab.NoErrors(t)
}
