package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otelprop "go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	uibench "github.com/tracerdev/tracer/bench/ui"
	"github.com/tracerdev/tracer/internal/uitest"
	"github.com/tracerdev/tracer/propagation"
)

// tvWant is a span of the trace view's test trace and how its row must look.
type tvWant struct {
	name, service string
	depth         int
	duration      string // formatDuration of the span's exact duration
	err           bool
	id            string
}

// tvRow is a timeline row as the page draws it.
type tvRow struct {
	SpanID   string  `json:"spanId"`
	Depth    int     `json:"depth"`
	Name     string  `json:"name"`
	Service  string  `json:"service"`
	Duration string  `json:"duration"`
	Error    bool    `json:"error"`
	Y        float64 `json:"y"`
}

const tvRowsJS = `[...document.querySelectorAll('.tl-row')].filter(r => r.style.display !== 'none').map(r => ({
  spanId: r.dataset.spanId, depth: +r.dataset.depth, name: r.querySelector('.tl-name').textContent,
  service: r.querySelector('.tl-service').textContent, duration: r.querySelector('.tl-dur').textContent,
  error: r.classList.contains('is-error'), y: new DOMMatrix(getComputedStyle(r).transform).m42}))`

func tvRows(t *testing.T, ctx context.Context) []tvRow {
	t.Helper()
	rows := tvEval[[]tvRow](t, ctx, tvRowsJS)
	sort.Slice(rows, func(i, j int) bool { return rows[i].Y < rows[j].Y })
	return rows
}

func tvEval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func tvDo(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// tvWait waits until the JavaScript expression is truthy.
func tvWait(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("wait for %s (%s): %v", what, js, err)
	}
}

// tvSendDemo sends the test trace: two services (frontend calls backend,
// clocks carried both ways as Tracer's propagators do), nesting four deep,
// an error span with events, and a span linking to another trace. It
// returns the spans in display order, the trace's id, and the linked
// trace's id and span id.
func tvSendDemo(t *testing.T, s *uiServer) (want []tvWant, traceID, linkedTrace, linkedSpan string) {
	t.Helper()
	fe := s.provider(t, "frontend").Tracer("e2e")
	be := s.provider(t, "backend").Tracer("e2e")
	feClock, beClock := propagation.NewVClock(), propagation.NewVClock()
	feProp := otelprop.NewCompositeTextMapPropagator(otelprop.TraceContext{}, feClock)
	beProp := otelprop.NewCompositeTextMapPropagator(otelprop.TraceContext{}, beClock)
	base := time.Now().Add(-2 * time.Minute).Truncate(time.Millisecond)
	at := func(ms float64) trace.SpanEventOption {
		return trace.WithTimestamp(base.Add(time.Duration(ms * float64(time.Millisecond))))
	}
	atStart := func(ms float64) trace.SpanStartOption {
		return trace.WithTimestamp(base.Add(time.Duration(ms * float64(time.Millisecond))))
	}

	_, job := be.Start(context.Background(), "batch.job", atStart(-50))
	job.End(at(-40))
	linked := job.SpanContext()

	ctx, root := fe.Start(context.Background(), "GET /checkout", atStart(0), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.route", "/checkout"), attribute.String("order.id", "order-7")))
	_, auth := fe.Start(ctx, "auth", atStart(1))
	auth.End(at(4))
	cctx, call := fe.Start(ctx, "call inventory", atStart(5), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("peer.service", "backend")))
	req := otelprop.MapCarrier{}
	feProp.Inject(cctx, req)
	sctx, reserve := be.Start(beProp.Extract(context.Background(), req), "inventory.Reserve", atStart(6),
		trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attribute.String("order.id", "order-7")))
	_, db := be.Start(sctx, "db.query", atStart(7), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system", "postgresql"), attribute.String("db.statement", "UPDATE stock SET n = n - 1")))
	db.AddEvent("retry", at(9), trace.WithAttributes(attribute.Int("attempt", 1)))
	db.AddEvent("gave up", at(19))
	db.SetStatus(codes.Error, "deadlock detected")
	db.End(at(19.5))
	_, cache := be.Start(sctx, "cache.get", atStart(30))
	cache.End(at(30.25))
	resp := otelprop.MapCarrier{}
	beClock.InjectResponse(sctx, resp)
	reserve.End(at(41))
	feClock.ExtractResponse(cctx, resp)
	call.End(at(45))
	_, render := fe.Start(ctx, "render", atStart(60),
		trace.WithLinks(trace.Link{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.String("link.reason", "batch")}}))
	render.End(at(80))
	root.End(at(100))

	id := func(sp trace.Span) string { return sp.SpanContext().SpanID().String() }
	want = []tvWant{
		{"GET /checkout", "frontend", 0, "100ms", false, id(root)},
		{"auth", "frontend", 1, "3.00ms", false, id(auth)},
		{"call inventory", "frontend", 1, "40.0ms", false, id(call)},
		{"inventory.Reserve", "backend", 2, "35.0ms", false, id(reserve)},
		{"db.query", "backend", 3, "12.5ms", true, id(db)},
		{"cache.get", "backend", 3, "250µs", false, id(cache)},
		{"render", "frontend", 1, "20.0ms", false, id(render)},
	}
	traceID = root.SpanContext().TraceID().String()
	s.awaitSpans(t, traceID, len(want))
	s.awaitSpans(t, linked.TraceID().String(), 1)
	return want, traceID, linked.TraceID().String(), linked.SpanID().String()
}

// tvOrders asks the analysis API (GET /api/tracer/traces/{id}/causal) how
// every span's start relates to span id's start: the spans that happened
// before it, after it, concurrently, or in an unknown order. The trace view
// shows the API's answer (trace/causal.ts); one place, analysis.Causal,
// decides.
func tvOrders(t *testing.T, s *uiServer, traceID, id string) map[string][]string {
	t.Helper()
	type ids struct {
		SpanIDs []string `json:"spanIds"`
	}
	var ans struct {
		Before, After, Concurrent, Unknown ids
	}
	if code, err := s.api.get(context.Background(), "/api/tracer/traces/"+traceID+"/causal?span="+id, &ans); err != nil || code != 200 {
		t.Fatalf("get causal: %d %v", code, err)
	}
	out := map[string][]string{"before": ans.Before.SpanIDs, "after": ans.After.SpanIDs, "concurrent": ans.Concurrent.SpanIDs, "unknown": ans.Unknown.SpanIDs}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// TestUITrace drives the trace view in Chromium against an all-in-one with
// a known trace: rows, nesting, durations, details, clock and causal order,
// links, collapsing, find, keyboard and deep links.
func TestUITrace(t *testing.T) {
	s := startUI(t)
	want, traceID, linkedTrace, linkedSpan := tvSendDemo(t, s)
	tab := uitest.NewTab(t, 1500, 900)
	ctx, cancel := context.WithTimeout(tab.Ctx, 3*time.Minute)
	defer cancel()
	byName := map[string]tvWant{}
	for _, w := range want {
		byName[w.name] = w
	}
	open := func(t *testing.T, path string) {
		t.Helper()
		tvDo(t, ctx, "open "+path, chromedp.Navigate(s.URL+path), chromedp.WaitVisible(chromedp.CSS(".tl-row")))
	}
	selectRow := func(t *testing.T, name string) {
		t.Helper()
		sel := fmt.Sprintf(`.tl-row[data-span-id="%s"] .tl-name`, byName[name].id)
		tvDo(t, ctx, "select "+name, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(".tv-details .sd-title")))
		tvWait(t, ctx, name+" in the details", fmt.Sprintf(`document.querySelector('.tv-details .sd-span-id')?.textContent === %q`, byName[name].id))
	}

	t.Run("rows", func(t *testing.T) {
		open(t, "/trace/"+traceID)
		rows := tvRows(t, ctx)
		if len(rows) != len(want) {
			t.Fatalf("got %d rows, want %d: %+v", len(rows), len(want), rows)
		}
		for i, w := range want {
			r := rows[i]
			got := tvWant{r.Name, r.Service, r.Depth, r.Duration, r.Error, r.SpanID}
			if got != w {
				t.Errorf("row %d: got %+v, want %+v", i, got, w)
			}
		}
		head := tvEval[map[string]string](t, ctx, `({root: document.querySelector('.tv-root-name').textContent,
		  service: document.querySelector('.tv-root-service').textContent,
		  spans: document.querySelector('.tv-spans .tv-stat-value').textContent,
		  services: document.querySelector('.tv-services .tv-stat-value').textContent,
		  errors: document.querySelector('.tv-errors .tv-stat-value').textContent,
		  duration: document.querySelector('.tv-duration .tv-stat-value').textContent,
		  download: document.querySelector('.tv-download').getAttribute('href')})`)
		wantHead := map[string]string{"root": "GET /checkout", "service": "frontend", "spans": "7", "services": "2",
			"errors": "1", "duration": "100ms", "download": "/api/v3/traces/" + traceID}
		for k, v := range wantHead {
			if head[k] != v {
				t.Errorf("header %s: got %q, want %q", k, head[k], v)
			}
		}
		// The critical path (GET /api/tracer/traces/{id}/critical-path) is
		// marked on exactly the spans the API puts on it. (This trace is
		// sequential, so every span is; analysis/critical_test.go checks
		// which spans a path takes.)
		var cp struct {
			Spans []struct {
				SpanID           string `json:"spanId"`
				ContributionNano int64  `json:"contributionNano"`
			} `json:"spans"`
		}
		if code, err := s.api.get(ctx, "/api/tracer/traces/"+traceID+"/critical-path", &cp); err != nil || code != 200 {
			t.Fatalf("critical path: %d %v", code, err)
		}
		var onPath []string
		for _, sp := range cp.Spans {
			if sp.ContributionNano > 0 {
				onPath = append(onPath, sp.SpanID)
			}
		}
		sort.Strings(onPath)
		tvWait(t, ctx, "the critical-path marks", `!document.querySelector('.tv-legend-critical').hidden && document.querySelector('.tl-row.is-critical')`)
		marked := tvEval[[]string](t, ctx, `[...document.querySelectorAll('.tl-row.is-critical')].filter(r => r.style.display !== 'none').map(r => r.dataset.spanId).sort()`)
		if len(onPath) == 0 || !slices.Equal(marked, onPath) {
			t.Errorf("critical path marks %v, want the API's %v", marked, onPath)
		}

		// The download serves the trace as OTLP JSON.
		var otlp struct {
			Result struct {
				ResourceSpans []json.RawMessage `json:"resourceSpans"`
			} `json:"result"`
		}
		if code, err := s.api.get(ctx, head["download"], &otlp); err != nil || code != 200 || len(otlp.Result.ResourceSpans) == 0 {
			t.Errorf("download %s: %d %v, %d resource spans", head["download"], code, err, len(otlp.Result.ResourceSpans))
		}
	})

	t.Run("details", func(t *testing.T) {
		open(t, "/trace/"+traceID)
		selectRow(t, "db.query")
		got := tvEval[map[string]string](t, ctx, `(() => { const d = document.querySelector('.tv-details'); const v = k => d.querySelector('tr[data-key="' + k + '"] .sd-value')?.textContent;
		  return {system: v('db.system'), statement: v('db.statement'), status: d.querySelector('.sd-status').textContent,
		    duration: d.querySelector('.sd-duration').textContent,
		    events: [...d.querySelectorAll('.sd-event')].map(e => e.querySelector('.sd-offset').textContent + ' ' + e.querySelector('strong').textContent).join('|'),
		    service: [...d.querySelectorAll('tr[data-key="service.name"] .sd-value')].map(e => e.textContent).join(),
		    node: d.querySelector('.sd-node')?.textContent}; })()`)
		wantDetails := map[string]string{"system": "postgresql", "statement": "UPDATE stock SET n = n - 1",
			"status": "error: deadlock detected", "duration": "12.5ms", "events": "+2.00ms retry|+12.0ms gave up",
			"service": "backend", "node": "backend"}
		for k, v := range wantDetails {
			if got[k] != v {
				t.Errorf("details %s: got %q, want %q", k, got[k], v)
			}
		}
		tab.Screenshot(t, "trace")
		tvDo(t, ctx, "dark theme", chromedp.Click(chromedp.CSS(".theme-toggle")))
		tvWait(t, ctx, "the dark theme", `document.documentElement.dataset.theme === 'dark'`)
		tab.Screenshot(t, "trace-dark")
		tvDo(t, ctx, "light theme", chromedp.Click(chromedp.CSS(".theme-toggle")))
	})

	t.Run("clock", func(t *testing.T) {
		open(t, "/trace/"+traceID)
		selectRow(t, "cache.get")
		wantOrders := tvOrders(t, s, traceID, byName["cache.get"].id)
		// The clocks order this trace: the frontend's spans before the call
		// happened before the backend's cache read, render after it.
		tvWait(t, ctx, "the causal order", fmt.Sprintf(`document.querySelector('.tv-details .sd-causal')?.dataset.span === %q`, byName["cache.get"].id))
		if !slices.Contains(wantOrders["before"], byName["GET /checkout"].id) || !slices.Contains(wantOrders["after"], byName["render"].id) {
			t.Fatalf("the API's clocks do not order the trace as sent: %v", wantOrders)
		}
		got := tvEval[map[string][]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('.tv-details .sd-rel')].map(r =>
		  [r.dataset.order, [...r.querySelectorAll('.sd-span')].map(b => b.dataset.spanId).sort()]))`)
		for _, o := range []string{"before", "after", "concurrent", "unknown"} {
			if !slices.Equal(got[o], wantOrders[o]) && len(got[o])+len(wantOrders[o]) > 0 {
				t.Errorf("%s: got %v, want %v", o, got[o], wantOrders[o])
			}
		}
		tick := tvEval[string](t, ctx, `document.querySelector('.tv-details .sd-tick').textContent`)
		if tick == "" || tick == "0" {
			t.Errorf("tick %q", tick)
		}
		tvDo(t, ctx, "show the clock", chromedp.Evaluate[chromedp.Void](`document.querySelector('.tv-details .sd-node').closest('section').scrollIntoView()`))
		tab.Screenshot(t, "trace-clock")
		// Clicking a related span selects it.
		tvDo(t, ctx, "click a related span", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.sd-rel[data-order="after"] .sd-span[data-span-id="%s"]`, byName["render"].id))))
		tvWait(t, ctx, "render selected", fmt.Sprintf(`document.querySelector('.tl-row.is-selected')?.dataset.spanId === %q`, byName["render"].id))
	})

	t.Run("link", func(t *testing.T) {
		open(t, "/trace/"+traceID)
		selectRow(t, "render")
		wantHref := fmt.Sprintf("/trace/%s?span=%s", linkedTrace, linkedSpan)
		href := tvEval[string](t, ctx, `document.querySelector('.tv-details .sd-link').getAttribute('href')`)
		if href != wantHref {
			t.Fatalf("link href %q, want %q", href, wantHref)
		}
		tvDo(t, ctx, "follow the link", chromedp.Click(chromedp.CSS(".tv-details .sd-link")))
		tvWait(t, ctx, "the linked trace", `document.querySelector('.tv-root-name')?.textContent === 'batch.job'`)
		tvWait(t, ctx, "the linked span selected", fmt.Sprintf(`document.querySelector('.tl-row.is-selected')?.dataset.spanId === %q`, linkedSpan))
		loc := tvEval[string](t, ctx, `location.pathname + location.search`)
		if !strings.HasPrefix(loc, wantHref) {
			t.Errorf("location %q, want %q", loc, wantHref)
		}
	})

	t.Run("collapse", func(t *testing.T) {
		open(t, "/trace/"+traceID)
		call := byName["call inventory"].id
		tvDo(t, ctx, "collapse", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.tl-row[data-span-id="%s"] .tl-toggle`, call))))
		tvWait(t, ctx, "rows hidden", `document.querySelectorAll('.tl-row:not([style*="display: none"])').length === 4`)
		var names []string
		for _, r := range tvRows(t, ctx) {
			names = append(names, r.Name)
		}
		if w := []string{"GET /checkout", "auth", "call inventory", "render"}; !slices.Equal(names, w) {
			t.Errorf("collapsed rows %v, want %v", names, w)
		}
		loc := tvEval[string](t, ctx, `location.search`)
		if !strings.Contains(loc, "collapsed="+call) {
			t.Errorf("location %q does not keep the collapsed span", loc)
		}
		// The keyboard expands it again: the cursor is on the collapsed row.
		tvDo(t, ctx, "expand with the keyboard", chromedp.KeyEvent(kb.ArrowRight))
		tvWait(t, ctx, "rows shown", `document.querySelectorAll('.tl-row:not([style*="display: none"])').length === 7`)
	})

	t.Run("keyboard", func(t *testing.T) {
		open(t, "/trace/"+traceID)
		tvDo(t, ctx, "keys", chromedp.Focus(chromedp.CSS(".tl-body")), chromedp.KeyEvent(kb.Home), chromedp.KeyEvent(kb.ArrowDown),
			chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter))
		tvWait(t, ctx, "the third row selected", fmt.Sprintf(`document.querySelector('.tl-row.is-selected')?.dataset.spanId === %q`, byName["call inventory"].id))
		tvDo(t, ctx, "collapse with the keyboard", chromedp.KeyEvent(kb.ArrowLeft))
		tvWait(t, ctx, "rows hidden", `document.querySelectorAll('.tl-row:not([style*="display: none"])').length === 4`)
		tvDo(t, ctx, "Esc", chromedp.KeyEvent(kb.Escape))
		tvWait(t, ctx, "the details closed", `document.querySelector('.tv-details').hidden`)
	})

	t.Run("zoom", func(t *testing.T) {
		open(t, "/trace/"+traceID)
		// Drag over the second quarter of the axis: the trace lasts 100 ms.
		r := tvEval[map[string]float64](t, ctx, `(r => ({x: r.left, y: r.top + r.height / 2, w: r.width}))(document.querySelector('.tl-axis').getBoundingClientRect())`)
		x0, x1, y := r["x"]+r["w"]/4, r["x"]+r["w"]/2, r["y"]
		tvDo(t, ctx, "drag on the axis",
			chromedp.MouseEvent(chromedp.MousePressed, x0, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
			chromedp.MouseEvent(chromedp.MouseMoved, (x0+x1)/2, y, chromedp.ButtonLeft),
			chromedp.MouseEvent(chromedp.MouseMoved, x1, y, chromedp.ButtonLeft),
			chromedp.MouseEvent(chromedp.MouseReleased, x1, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
		tvWait(t, ctx, "the zoom in the URL", `new URLSearchParams(location.search).has('zoom')`)
		var from, to float64
		zoom := tvEval[string](t, ctx, `new URLSearchParams(location.search).get('zoom')`)
		if _, err := fmt.Sscanf(zoom, "%f-%f", &from, &to); err != nil {
			t.Fatalf("zoom=%q: %v", zoom, err)
		}
		// Within a pixel or two of 25 ms and 50 ms.
		if from < 24e6 || from > 26e6 || to < 49e6 || to > 51e6 {
			t.Errorf("zoom=%q, want about 25000000-50000000", zoom)
		}
		bars := tvEval[map[string]bool](t, ctx, `Object.fromEntries([...document.querySelectorAll('.tl-row')].map(r =>
		  [r.querySelector('.tl-name').textContent, r.querySelector('.tl-bar').style.display !== 'none']))`)
		// auth (1-4 ms) and render (60-80 ms) are outside; the call (5-45 ms) is inside.
		if bars["auth"] || bars["render"] || !bars["call inventory"] || !bars["GET /checkout"] {
			t.Errorf("bars shown in 25-50 ms: %v", bars)
		}
		tvDo(t, ctx, "reset", chromedp.Click(chromedp.CSS(".tv-reset-zoom")))
		tvWait(t, ctx, "the zoom reset", `!new URLSearchParams(location.search).has('zoom') && document.querySelector('.tv-reset-zoom').disabled`)
	})

	t.Run("find", func(t *testing.T) {
		tests := []struct {
			name, query string
			want        []string
		}{
			{"attribute value", "order-7", []string{"GET /checkout", "inventory.Reserve"}},
			{"key=value", "db.system=postgresql", []string{"db.query"}},
			{"name", "inventory", []string{"call inventory", "inventory.Reserve"}},
			{"span id", byName["auth"].id, []string{"auth"}},
			{"nothing", "no-such-thing", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				open(t, "/trace/"+traceID)
				tvDo(t, ctx, "/", chromedp.KeyEvent("/"))
				if !tvEval[bool](t, ctx, `document.activeElement === document.querySelector('.tv-find-input')`) {
					t.Errorf("/ did not focus the find box")
				}
				// CDP sends the key's character as an event of its own, which
				// types it even though the page cancelled the key: clear it.
				tvDo(t, ctx, "find", chromedp.Evaluate[chromedp.Void](`document.querySelector('.tv-find-input').value = ''`),
					chromedp.SendKeys(chromedp.CSS(".tv-find-input"), tt.query))
				// The count says which query it counts (typing runs intermediate ones).
				tvWait(t, ctx, "the count", fmt.Sprintf(`document.querySelector('.tv-find-count').dataset.query === %q &&
				  document.querySelector('.tv-find-count').dataset.count === '%d' &&
				  document.querySelectorAll('.tl-row.is-match:not([style*="display: none"])').length === %[2]d`, tt.query, len(tt.want)))
				got := tvEval[[]string](t, ctx, `[...document.querySelectorAll('.tl-row.is-match:not([style*="display: none"]) .tl-name')].map(e => e.textContent)`)
				slices.Sort(got)
				w := slices.Clone(tt.want)
				slices.Sort(w)
				if !slices.Equal(got, w) && len(got)+len(w) > 0 {
					t.Errorf("highlighted %v, want %v", got, w)
				}
				if len(tt.want) > 0 {
					// Enter goes to the first match and selects it.
					tvDo(t, ctx, "next", chromedp.KeyEvent(kb.Enter))
					tvWait(t, ctx, "the first match selected", fmt.Sprintf(`document.querySelector('.tl-row.is-selected .tl-name')?.textContent === %q`, tt.want[0]))
					text := tvEval[string](t, ctx, `document.querySelector('.tv-find-count').textContent`)
					if wantText := fmt.Sprintf("1 of %d", len(tt.want)); text != wantText {
						t.Errorf("count %q, want %q", text, wantText)
					}
				}
			})
		}
	})

	t.Run("deep link", func(t *testing.T) {
		db := byName["db.query"].id
		open(t, fmt.Sprintf("/trace/%s?span=%s&uiFind=order-7", traceID, db))
		tvWait(t, ctx, "the selection", fmt.Sprintf(`document.querySelector('.tl-row.is-selected')?.dataset.spanId === %q`, db))
		got := tvEval[map[string]string](t, ctx, `({title: document.querySelector('.tv-details .sd-title').textContent,
		  find: document.querySelector('.tv-find-input').value, count: document.querySelector('.tv-find-count').dataset.count})`)
		if w := map[string]string{"title": "db.query", "find": "order-7", "count": "2"}; !maps(got, w) {
			t.Errorf("deep link: got %v, want %v", got, w)
		}
		// The choices made on the page are in its URL: reopening it shows them again.
		tvDo(t, ctx, "select and zoom", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.tl-row[data-span-id="%s"] .tl-name`, byName["auth"].id))),
			chromedp.Focus(chromedp.CSS(".tl-body")), chromedp.KeyEvent("+"))
		tvWait(t, ctx, "the URL", `location.search.includes('zoom=')`)
		loc := tvEval[string](t, ctx, `location.pathname + location.search`)
		open(t, loc)
		tvWait(t, ctx, "the selection again", fmt.Sprintf(`document.querySelector('.tl-row.is-selected')?.dataset.spanId === %q`, byName["auth"].id))
		if again := tvEval[string](t, ctx, `location.pathname + location.search`); again != loc {
			t.Errorf("reopened %q as %q", loc, again)
		}
		if !tvEval[bool](t, ctx, `!document.querySelector('.tv-reset-zoom').disabled`) {
			t.Errorf("the zoom in %q was not restored", loc)
		}
	})

	t.Run("tabs", func(t *testing.T) {
		open(t, "/trace/"+traceID)
		for _, tab := range []struct{ name, view string }{{"flame", ".tv-flame"}, {"stats", ".tv-stats"}} {
			tvDo(t, ctx, "tab "+tab.name, chromedp.Click(chromedp.CSS(fmt.Sprintf(`.tv-tab[data-tab="%s"]`, tab.name))))
			tvWait(t, ctx, tab.name+" shown", fmt.Sprintf(`new URLSearchParams(location.search).get('tab') === %q && document.querySelector(%q) &&
			  document.querySelector('.tv-tab.active').dataset.tab === %[1]q && !document.querySelector('.tl-row')`, tab.name, tab.view))
			// The tab is in the URL: reopening it shows the same tab.
			loc := tvEval[string](t, ctx, `location.pathname + location.search`)
			tvDo(t, ctx, "reopen "+loc, chromedp.Navigate(s.URL+loc))
			tvWait(t, ctx, tab.name+" reopened", fmt.Sprintf(`document.querySelector(%q) && document.querySelector('.tv-tab.active')?.dataset.tab === %q`, tab.view, tab.name))
		}
		tvDo(t, ctx, "tab timeline", chromedp.Click(chromedp.CSS(`.tv-tab[data-tab="timeline"]`)))
		tvWait(t, ctx, "the timeline", `!new URLSearchParams(location.search).has('tab') && document.querySelectorAll('.tl-row:not([style*="display: none"])').length === 7`)
		// Collapse keeps the roots' children; Expand all shows every span again.
		tvDo(t, ctx, "collapse", chromedp.Click(chromedp.CSS(`.tv-collapse`)))
		tvWait(t, ctx, "collapsed", `document.querySelectorAll('.tl-row:not([style*="display: none"])').length === 4`)
		tvDo(t, ctx, "expand all", chromedp.Click(chromedp.CSS(`.tv-expand-all`)))
		tvWait(t, ctx, "expanded", `document.querySelectorAll('.tl-row:not([style*="display: none"])').length === 7 && !location.search.includes('collapsed=')`)
	})

	t.Run("compare with", func(t *testing.T) {
		open(t, "/trace/"+traceID)
		tvDo(t, ctx, "compare", chromedp.SendKeys(chromedp.CSS(".tv-compare-input"), linkedTrace), chromedp.Click(chromedp.CSS(".tv-compare button")))
		want := fmt.Sprintf("/trace/%s...%s", traceID, linkedTrace)
		tvWait(t, ctx, "the compare page", fmt.Sprintf(`location.pathname === %q`, want))
	})

	t.Run("not found", func(t *testing.T) {
		tvDo(t, ctx, "open", chromedp.Navigate(s.URL+"/trace/00000000000000000000000000abcdef"))
		tvWait(t, ctx, "the answer", `!document.querySelector('.state-loading') && document.querySelector('.state')`)
		text := tvEval[string](t, ctx, `document.querySelector('.state').textContent + '|' + document.querySelector('.state a')?.getAttribute('href')`)
		if !strings.Contains(text, "not found") || !strings.HasSuffix(text, "|/search") {
			t.Errorf("not found state: %q", text)
		}
	})
	tab.NoErrors(t)
}

func maps(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestUITrace100k opens a 100,000-span trace: it renders rows (a bounded
// number of them in the DOM), scrolls to its far end, and logs no error.
func TestUITrace100k(t *testing.T) {
	const n = 100_000
	s := startUI(t)
	var tid trace.TraceID
	copy(tid[:], "ui-trace-100k-e2")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := uibench.Send(ctx, s.GRPCAddr, uibench.Large(tid, n, time.Now().Add(-time.Minute)), 2000); err != nil {
		t.Fatal(err)
	}
	s.awaitSpans(t, tid.String(), n)
	tab := uitest.NewTab(t, 1500, 900)
	tctx, tcancel := context.WithTimeout(tab.Ctx, 3*time.Minute)
	defer tcancel()
	tvDo(t, tctx, "open", chromedp.Navigate(s.URL+"/trace/"+tid.String()), chromedp.WaitVisible(chromedp.CSS(".tl-row")))
	spans := tvEval[string](t, tctx, `document.querySelector('.tv-spans .tv-stat-value').textContent`)
	if spans != "100,000" {
		t.Errorf("span count %q", spans)
	}
	rows := tvRows(t, tctx)
	if len(rows) == 0 || rows[0].SpanID != uibench.SpanID(0) || rows[0].Depth != 0 {
		t.Fatalf("first rows %+v", rows[:min(len(rows), 3)])
	}
	if dom := tvEval[int](t, tctx, `document.querySelectorAll('.tl-row').length`); dom > 200 {
		t.Errorf("%d row elements in the DOM for %d spans: rows are not virtual", dom, n)
	}
	// Scroll to the last row: its span is drawn there.
	tvDo(t, tctx, "scroll", chromedp.Evaluate[chromedp.Void](`(b => { b.scrollTop = b.scrollHeight; })(document.querySelector('.tl-body'))`))
	tvWait(t, tctx, "the last row", `[...document.querySelectorAll('.tl-row')].some(r => r.style.display !== 'none' && r.dataset.index === '99999')`)
	// A span deep in the trace opens from a deep link, scrolled into view.
	deep := uibench.SpanID(77_777)
	tvDo(t, tctx, "deep link", chromedp.Navigate(s.URL+"/trace/"+tid.String()+"?span="+deep), chromedp.WaitVisible(chromedp.CSS(".tl-row.is-selected")))
	if got := tvEval[string](t, tctx, `document.querySelector('.tl-row.is-selected').dataset.spanId`); got != deep {
		t.Errorf("selected %q, want %q", got, deep)
	}
	// Its details say that it has no clock (the spans were sent without Tracer's SDK).
	tvWait(t, tctx, "the details", `document.querySelector('.tv-details .sd-clock-none')?.dataset.clock === 'none'`)
	tab.Screenshot(t, "trace-100k")
	tab.NoErrors(t)
}
