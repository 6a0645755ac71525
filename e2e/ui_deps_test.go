package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/internal/uitest"
)

// depsChain is what sendDepsChain sent: traces through three services a → b → c.
type depsChain struct {
	// first is when the first span of b started.
	first time.Time
	// edges are the calls between services, as the dependency graph must
	// show them.
	edges []depsEdge
	// serverSpans counts each service's server spans (the dashboards'
	// requests).
	serverSpans map[string]int
	// bServerErrors counts b's server spans with status error.
	bServerErrors int
}

// depsEdge is an edge of the dependency graph, as the page's data attributes
// show it (ui/src/deps/graph.ts).
type depsEdge struct {
	Parent string `json:"parent"`
	Child  string `json:"child"`
	Calls  int    `json:"calls,string"`
	Errors int    `json:"errors,string"`
	// Heavy is data-error-heavy: at least 5% errors.
	Heavy bool `json:"heavy"`
}

// sendDepsChain sends n traces through three services, each with its own
// provider: a's server span "GET /checkout" calls b ("call b", client),
// b's server span "GetCart" calls c four times ("call c", client → c's
// server span "Query"). GetCart fails in every third trace (a→b is error
// heavy), one Query of the first trace fails (b→c is not: 1 in 4n). It waits until the API serves every trace and the
// dependency edges (computed on write, after the batch timeout) count every
// call.
func sendDepsChain(t *testing.T, s *uiServer, n int) depsChain {
	t.Helper()
	ta := s.provider(t, "a").Tracer("e2e")
	tb := s.provider(t, "b").Tracer("e2e")
	tc := s.provider(t, "c").Tracer("e2e")
	server, client := trace.WithSpanKind(trace.SpanKindServer), trace.WithSpanKind(trace.SpanKindClient)
	c := depsChain{serverSpans: map[string]int{}}
	var ab, bc depsEdge
	ab.Parent, ab.Child, bc.Parent, bc.Child = "a", "b", "b", "c"
	ab.Heavy = true // 1 in 3
	var ids []string
	for i := range n {
		ctx, root := ta.Start(context.Background(), "GET /checkout", server)
		ctx, callB := ta.Start(ctx, "call b", client)
		if i == 0 {
			c.first = time.Now()
		}
		ctx, cart := tb.Start(ctx, "GetCart", server)
		for j := range 4 {
			cctx, callC := tb.Start(ctx, "call c", client)
			_, q := tc.Start(cctx, "Query", server)
			bc.Calls++
			if i == 0 && j == 0 {
				q.SetStatus(codes.Error, "deadlock")
				bc.Errors++
			}
			q.End()
			callC.End()
		}
		ab.Calls++
		if i%3 == 0 {
			cart.SetStatus(codes.Error, "cart unavailable")
			ab.Errors++
			c.bServerErrors++
		}
		cart.End()
		callB.End()
		root.End()
		ids = append(ids, root.SpanContext().TraceID().String())
	}
	c.serverSpans["a"], c.serverSpans["b"], c.serverSpans["c"] = n, n, 4*n
	c.edges = []depsEdge{ab, bc}
	for _, id := range ids {
		s.awaitSpans(t, id, 11)
	}
	// The edges are written with the spans, in the same batch: a bounded
	// wait for the counts covers a slow batch.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var last string
	for ctx.Err() == nil {
		var got struct {
			Dependencies []struct {
				Parent     string `json:"parent"`
				Child      string `json:"child"`
				CallCount  int    `json:"callCount"`
				ErrorCount int    `json:"errorCount"`
			} `json:"dependencies"`
		}
		_, err := s.api.get(ctx, "/api/tracer/dependencies", &got)
		calls := 0
		for _, d := range got.Dependencies {
			calls += d.CallCount
		}
		if err == nil && calls >= ab.Calls+bc.Calls {
			return c
		}
		last = fmt.Sprintf("%+v %v", got, err)
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("dependencies: want %d calls within a minute, last: %s", ab.Calls+bc.Calls, last)
	return c
}

// depsPollJSON waits (at most 30 s) until the JavaScript expression js is
// truthy and decodes its value, a JSON string, into v.
func depsPollJSON(t *testing.T, ctx context.Context, what, js string, v any) {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Poll[string](js, chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#page")?.innerText ?? ""`))
		t.Fatalf("%s: %v; the page shows:\n%s", what, err, body)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%s: %v in %s", what, err, s)
	}
}

// depsRect is an element's box in the viewport, in CSS pixels.
type depsRect struct{ X, Y, W, H float64 }

// depsStableRect scrolls the element css finds into view and returns its box
// once it has stayed in place for a frame.
func depsStableRect(t *testing.T, ctx context.Context, css string) depsRect {
	t.Helper()
	var r depsRect
	depsPollJSON(t, ctx, "find "+css, `(async () => { const e = document.querySelector(`+depsJSString(css)+`); if (!e) return null;
		e.scrollIntoView({block: "center"});
		const at = () => { const r = e.getBoundingClientRect(); return JSON.stringify({X: r.left, Y: r.top, W: r.width, H: r.height}); };
		const before = at();
		await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
		return at() === before ? before : null; })()`, &r)
	return r
}

// depsClickCenter clicks the middle of the element css finds, with the mouse.
func depsClickCenter(t *testing.T, ctx context.Context, css string) {
	t.Helper()
	r := depsStableRect(t, ctx, css)
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(r.X+r.W/2, r.Y+r.H/2)); err != nil {
		t.Fatalf("click %s: %v", css, err)
	}
}

func depsJSString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// depsLocation is the tab's URL, parsed.
func depsLocation(t *testing.T, ctx context.Context) *url.URL {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// depsReadEdges reads the drawn edges of the dependency graph, sorted, once
// there are want of them (or a state message).
const depsReadEdges = `(() => {
	const edges = [...document.querySelectorAll(".dep-edge")].map((e) => ({
		parent: e.dataset.parent, child: e.dataset.child, calls: e.dataset.calls, errors: e.dataset.errors,
		heavy: e.dataset.errorHeavy === "true",
		label: e.querySelector("text")?.textContent ?? "" }));
	if (edges.length === 0) return null;
	edges.sort((x, y) => (x.parent + x.child < y.parent + y.child ? -1 : 1));
	return JSON.stringify(edges);
})()`

// TestUIDependencies opens the dependency graph of three services a → b → c
// with known call and error counts: a failed request shows the server's
// message; before any span it says there are no calls; then it draws exactly the edges a→b and b→c with their counts in
// the data attributes and labels, and three services; a click on b opens
// b's panel with its operations and their counts, and links to b's
// dashboard and traces; the panel's URL reopens the same view.
func TestUIDependencies(t *testing.T) {
	s := startUI(t)
	tab := uitest.NewTab(t, 1280, 900)
	ctx, cancel := context.WithTimeout(tab.Ctx, 3*time.Minute)
	defer cancel()

	t.Run("error", func(t *testing.T) {
		// The server's error answer is shown: the browser's requests for the
		// graph are answered with a 500 in Tracer's error shape.
		paused := make(chan fetch.RequestID, 8)
		if err := chromedp.Listen(ctx, func(ev any) {
			if ev, ok := ev.(*fetch.EventRequestPaused); ok {
				select {
				case paused <- ev.RequestID:
				default:
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
		pattern := []*fetch.RequestPattern{{URLPattern: "*/api/tracer/dependencies*"}}
		if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: pattern}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if _, err := chromedp.Call(ctx, fetch.Disable, cdp.Empty{}); err != nil {
				t.Error(err)
			}
		}()
		if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/dependencies")); err != nil {
			t.Fatal(err)
		}
		select {
		case id := <-paused:
			body := `{"error": {"code": "internal", "message": "see the server log for request id r-1", "requestId": "r-1"}}`
			_, err := chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: id, ResponseCode: 500, Body: []byte(body),
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}},
			})
			if err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatal("the page did not ask for the dependencies")
		}
		var msg string
		depsPollJSON(t, ctx, "error state", `(() => { const e = document.querySelector(".dep-canvas .state-error"); return e && JSON.stringify(e.textContent); })()`, &msg)
		if !strings.Contains(msg, "see the server log for request id r-1") {
			t.Errorf("the error state says %q", msg)
		}
	})

	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/dependencies")); err != nil {
		t.Fatal(err)
	}
	var empty string
	depsPollJSON(t, ctx, "empty state", `(() => { const e = document.querySelector(".dep-canvas .state-empty"); return e && JSON.stringify(e.textContent); })()`, &empty)
	if !strings.Contains(empty, "No calls between services in this window") {
		t.Errorf("empty graph says %q", empty)
	}

	c := sendDepsChain(t, s, 6)

	check := func(t *testing.T, page string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+page)); err != nil {
			t.Fatal(err)
		}
		var got []struct {
			depsEdge
			Label string `json:"label"`
		}
		depsPollJSON(t, ctx, "edges", depsReadEdges, &got)
		var edges []depsEdge
		for _, e := range got {
			edges = append(edges, e.depsEdge)
			want := fmt.Sprintf("%d calls · %.1f%% err", e.Calls, 100*float64(e.Errors)/float64(e.Calls))
			if e.Errors*10 >= e.Calls {
				want = fmt.Sprintf("%d calls · %.0f%% err", e.Calls, 100*float64(e.Errors)/float64(e.Calls))
			}
			if e.Label != want {
				t.Errorf("edge %s→%s: label %q, want %q", e.Parent, e.Child, e.Label, want)
			}
		}
		if !slices.Equal(edges, c.edges) {
			t.Errorf("edges %+v, want %+v", edges, c.edges)
		}
		nodes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".dep-node")].map((n) => n.dataset.service).sort()`))
		if err != nil || !slices.Equal(nodes, []string{"a", "b", "c"}) {
			t.Errorf("nodes %v (%v), want a, b, c", nodes, err)
		}
	}

	t.Run("graph", func(t *testing.T) { check(t, "/dependencies?window=1h") })

	type opRow struct {
		Name     string `json:"name"`
		Requests int    `json:"requests,string"`
		Errors   int    `json:"errors,string"`
	}
	// readPanel waits for b's panel with its operations' counts.
	readPanel := func(t *testing.T) {
		t.Helper()
		var rows []opRow
		depsPollJSON(t, ctx, "b's panel", `(() => { const p = document.querySelector(".dep-panel[data-service=b]");
			const rows = p ? [...p.querySelectorAll(".dep-ops tbody tr")].map((r) => ({name: r.dataset.name, requests: r.dataset.requests, errors: r.dataset.errors})) : [];
			return rows.length ? JSON.stringify(rows) : null; })()`, &rows)
		want := []opRow{{"GetCart", c.serverSpans["b"], c.bServerErrors}, {"call c", c.serverSpans["c"], 0}}
		if !slices.Equal(rows, want) {
			t.Errorf("b's operations %+v, want %+v", rows, want)
		}
		links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[".dep-dashboard-link", ".dep-search-link"].map((s) => document.querySelector(".dep-panel " + s)?.getAttribute("href") ?? "")`))
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{"/dashboards?service=b&window=1h", "/search?service=b&"} {
			if !strings.HasPrefix(links[i], want) {
				t.Errorf("panel link %q, want it to start %q", links[i], want)
			}
		}
	}

	t.Run("panel", func(t *testing.T) {
		depsClickCenter(t, ctx, `.dep-node[data-service="b"]`)
		readPanel(t)
		if q := depsLocation(t, ctx).Query(); q.Get("service") != "b" || q.Get("window") != "1h" {
			t.Errorf("the URL holds %v, want service=b and window=1h", q)
		}
		tab.Screenshot(t, "dependencies")
	})

	t.Run("deep link", func(t *testing.T) {
		check(t, "/dependencies?window=1h&service=b")
		readPanel(t)
	})

	t.Run("keyboard", func(t *testing.T) {
		// Enter on a focused service opens its panel, Escape closes it.
		err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(`.dep-node[data-service="c"]`)), chromedp.KeyEvent(kb.Enter))
		if err != nil {
			t.Fatal(err)
		}
		var ops []string
		depsPollJSON(t, ctx, "c's panel", `(() => { const rows = [...document.querySelectorAll(".dep-panel[data-service=c] .dep-ops tbody tr")].map((r) => r.dataset.name);
			return rows.length && JSON.stringify(rows); })()`, &ops)
		if !slices.Equal(ops, []string{"Query"}) {
			t.Errorf("c's operations %v, want Query", ops)
		}
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector(".dep-panel") && !new URLSearchParams(location.search).has("service")`)); err != nil {
			t.Errorf("Escape did not close the panel: %v", err)
		}
	})

	t.Run("theme", func(t *testing.T) {
		const stroke = `document.querySelector('.dep-node[data-service="b"] .dep-node-box').style.stroke`
		before, err := chromedp.Run(ctx, chromedp.Evaluate[string](stroke))
		if err != nil {
			t.Fatal(err)
		}
		depsClickCenter(t, ctx, ".theme-toggle")
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](stroke+" !== "+depsJSString(before))); err != nil {
			t.Errorf("b's colour stayed %s after the theme changed: %v", before, err)
		}
		tab.Screenshot(t, "dependencies-dark")
		depsClickCenter(t, ctx, ".theme-toggle")
	})
	tab.NoErrors(t)
}
