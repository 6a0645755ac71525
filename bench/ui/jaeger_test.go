//go:build uibench

package uibench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/internal/uitest"
)

// jaegerDir is the Jaeger UI's static build (packages/jaeger-ui/build of
// github.com/jaegertracing/jaeger-ui, built outside this repository), from
// JAEGER_UI; the test is skipped without it.
func jaegerDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("JAEGER_UI")
	if dir == "" {
		t.Skip("JAEGER_UI is not set (the Jaeger UI's build directory; see bench/ui.sh)")
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		t.Fatalf("JAEGER_UI=%s: no index.html: %v", dir, err)
	}
	return dir
}

// jaegerServer serves the Jaeger UI's build at dir on 127.0.0.1, as the
// Jaeger query service does: its files, index.html for any other path (the
// UI's client-side routes: /search, /trace/{id}, /dependencies), and /api/
// proxied to the Tracer query service at base. It returns the server's URL.
func jaegerServer(t *testing.T, dir, base string) string {
	t.Helper()
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	files := http.FileServer(http.Dir(dir))
	mux := http.NewServeMux()
	mux.Handle("/api/", proxy)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean("/" + r.URL.Path)
		if p != "/" {
			if st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err == nil && !st.IsDir() {
				files.ServeHTTP(w, r)
				return
			}
		}
		http.ServeFile(w, r, filepath.Join(dir, "index.html"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// jaegerInteractiveJS runs in every new document of the Jaeger UI's tab: it
// marks "jaeger:trace-interactive" as Tracer's trace page marks
// MARK_INTERACTIVE (ui/src/pages/trace.ts): the first timeline rows in the
// DOM, then the next frame reached. The rows are SpanBarRow's ".span-row"
// (packages/jaeger-ui/src/components/TracePage/TraceTimelineViewer/SpanBarRow.tsx,
// rendered by VirtualizedTraceView's ListView).
const jaegerInteractiveJS = `(() => {
  if (!location.pathname.startsWith('/trace/')) return;
  const seen = () => document.querySelector('.span-row') !== null;
  const mark = () => requestAnimationFrame(() => setTimeout(() => performance.mark('jaeger:trace-interactive'), 0));
  new MutationObserver((_, o) => { if (seen()) { o.disconnect(); mark(); } }).observe(document, {childList: true, subtree: true});
})()`

// jaegerMeasureJS reads the Jaeger UI's opening of trace %q: the answer of
// GET /api/traces/{id} (jaeger-ui src/api/jaeger.ts fetchTrace) and the mark.
const jaegerMeasureJS = `(() => {
  const r = performance.getEntriesByType('resource').find(e => e.name.includes('/traces/' + %q));
  const m = performance.getEntriesByName('jaeger:trace-interactive')[0];
  return {responseStart: r.responseStart, responseEnd: r.responseEnd, model: 0, interactive: m.startTime, bytes: r.encodedBodySize || r.transferSize};
})()`

// jaegerScroller is the element that scrolls the Jaeger UI's timeline: the
// nearest scrollable ancestor of its rows, else the document (its ListView
// uses the window's scroll: windowScroller in VirtualizedTraceView.tsx).
const jaegerScroller = `(() => {
  let e = document.querySelector('.span-row');
  while (e && !(e.scrollHeight > e.clientHeight + 1 && /auto|scroll/.test(getComputedStyle(e).overflowY))) e = e.parentElement;
  return e || document.scrollingElement;
})()`

// uiResult is one UI's figures for one trace size, pooled over the runs.
type uiResult struct {
	data, after, mb []float64
	scroll          frames
	browser         browserFrames
}

// open opens url in tab, waits for the mark named by ready, reads the
// opening with measure and then scrolls the timeline (scroller: a JS
// expression) for count frames.
func (u *uiResult) open(t *testing.T, ctx context.Context, url, ready, measure, scroller string, count int) {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.Navigate(url),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`performance.getEntriesByName(%q).length > 0`, ready), chromedp.WithPollingTimeout(5*time.Minute)))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	m, err := chromedp.Run(ctx, chromedp.Evaluate[measurement](measure))
	if err != nil {
		t.Fatalf("measure %s: %v", url, err)
	}
	u.data = append(u.data, m.ResponseEnd)
	u.after = append(u.after, m.Interactive-m.ResponseEnd)
	u.mb = append(u.mb, m.Bytes/1e6)
	js := strings.Replace(framesJS, `document.querySelector('.tl-body')`, scroller, 1)
	var fr frames
	bf := traceFrames(t, ctx, func() {
		fr, err = chromedp.Run(ctx, chromedp.Evaluate[frames](fmt.Sprintf(js, count, scrollStep), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("frames %s: %v", url, err)
		}
	})
	u.scroll.Intervals = append(u.scroll.Intervals, fr.Intervals...)
	u.browser.Draws = append(u.browser.Draws, bf.Draws...)
	u.browser.Tasks = append(u.browser.Tasks, bf.Tasks...)
}

func (u *uiResult) row(name string, n int) string {
	return fmt.Sprintf("%-9s %-7d %5.1f %8.0f %11.0f   %5.1f / %5.1f  %4d of %-5d  %5.1f / %5.1f   %6.1f / %6.1f",
		name, n, pct(u.mb, 0.5), pct(u.data, 0.5), pct(u.after, 0.5),
		pct(u.scroll.Intervals, 0.5), pct(u.scroll.Intervals, 0.95), over(u.scroll.Intervals, 20), len(u.scroll.Intervals),
		pct(u.browser.Draws, 0.5), pct(u.browser.Draws, 0.95), pct(u.browser.Tasks, 0.95), pct(u.browser.Tasks, 1))
}

// startLarge starts an all-in-one (Badger in a temporary directory), sends
// it a trace of each size (Large) and returns its query URL and the traces'
// ids by size.
func startLarge(t *testing.T, sizes []int) (string, map[int]string) {
	t.Helper()
	bin := proctest.BuildTracer(t)
	dir := t.TempDir()
	grpcAddr, queryAddr, telAddr := proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t)
	p := proctest.Start(t, bin, []string{"all-in-one",
		"--grpc-endpoint", grpcAddr, "--http-endpoint", "", "--query-endpoint", queryAddr, "--telemetry-endpoint", telAddr,
		"--wal-dir", filepath.Join(dir, "wal"), "--badger-dir", filepath.Join(dir, "badger"), "--batch-timeout", "20ms",
	}, filepath.Join(dir, "all-in-one.log"))
	p.WaitHealthy(t, telAddr)
	base := "http://" + queryAddr
	ids := map[int]string{}
	for _, n := range sizes {
		var tid trace.TraceID
		copy(tid[:], fmt.Sprintf("uibench-%08d", n))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		err := Send(ctx, grpcAddr, Large(tid, n, time.Now().Add(-time.Minute)), 2000)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		awaitSpans(t, base, tid.String(), n)
		ids[n] = tid.String()
	}
	return base, ids
}

// TestUIBenchJaeger opens the same 10,000- and 100,000-span traces in
// Tracer's UI and in the Jaeger UI (JAEGER_UI, served by jaegerServer over
// the same all-in-one's Jaeger-compatible API), RUNS times each in turn, and
// prints both UIs' time to interactive after the data arrived and their
// frame intervals while scrolling the timeline FRAMES frames.
func TestUIBenchJaeger(t *testing.T) {
	jdir := jaegerDir(t)
	runs := envInt("RUNS", 3)
	frameCount := envInt("FRAMES", 300)
	uitest.RequireBuilt(t)
	sizes := []int{10_000, 100_000}
	base, ids := startLarge(t, sizes)
	jbase := jaegerServer(t, jdir, base)

	tracer := uitest.NewTab(t, 1500, 900)
	jaeger := uitest.NewTab(t, 1500, 900)
	tctx, cancel := context.WithTimeout(tracer.Ctx, 40*time.Minute)
	defer cancel()
	jctx, jcancel := context.WithTimeout(jaeger.Ctx, 40*time.Minute)
	defer jcancel()
	if _, err := chromedp.Call(jctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: jaegerInteractiveJS}); err != nil {
		t.Fatal(err)
	}

	var out strings.Builder
	fmt.Fprintf(&out, "\nTracer's UI vs the Jaeger UI, trace view, headless Chromium 1500x900, %d runs per trace, in turn (medians; frames: all runs pooled)\n", runs)
	fmt.Fprintf(&out, "%-9s %-7s %5s %8s %11s   %-13s  %-12s  %-13s   %-15s\n", "UI", "spans", "MB", "data ms", "after data", "rAF p50/p95", "rAF > 20 ms", "DrawFrame p50/p95", "tasks p95/max")
	for _, n := range sizes {
		var tr, jr uiResult
		for range runs {
			tr.open(t, tctx, base+"/trace/"+ids[n], markInteractive, measureJS, `document.querySelector('.tl-body')`, frameCount)
			jr.open(t, jctx, jbase+"/trace/"+ids[n], "jaeger:trace-interactive", fmt.Sprintf(jaegerMeasureJS, ids[n]), jaegerScroller, frameCount)
		}
		fmt.Fprintln(&out, tr.row("Tracer", n))
		fmt.Fprintln(&out, jr.row("Jaeger UI", n))
		fmt.Fprintf(&out, "%-9s %-7d interactive after data: Jaeger UI / Tracer = %.1fx\n", "ratio", n, pct(jr.after, 0.5)/max(pct(tr.after, 0.5), 1))
	}
	fmt.Print(out.String())
	tracer.NoErrors(t)
	for _, e := range jaeger.Errors() {
		t.Logf("the Jaeger UI logged an error: %s", e)
	}
}

// markInteractive is Tracer's trace page's mark, MARK_INTERACTIVE (ui/src/pages/trace.ts).
const markInteractive = "tracer:trace-interactive"

// jaegerPoll waits (at most a minute) until the JavaScript expression js
// gives a non-empty string and returns it.
func jaegerPoll(t *testing.T, tab *uitest.Tab, ctx context.Context, what, js string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const v = `+js+`; return v ? String(v) : null; })()`, chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		tab.Screenshot(t, "jaeger-ui-failed")
		for _, e := range tab.Errors() {
			t.Logf("the Jaeger UI logged an error: %s", e)
		}
		t.Fatalf("the Jaeger UI: %s: %v", what, err)
	}
	return s
}

// TestJaegerUIDemo checks that the Jaeger UI (JAEGER_UI) works over
// Tracer's Jaeger-compatible API with "all-in-one --demo" running: its
// search page lists the demo's services and finds service-a's traces, its
// trace page shows a trace of the three services, and its System
// Architecture page (/dependencies) shows service-a, service-b and
// service-c with their two edges. It keeps screenshots jaeger-ui-search,
// jaeger-ui-trace and jaeger-ui-deps.
func TestJaegerUIDemo(t *testing.T) {
	jdir := jaegerDir(t)
	bin := proctest.BuildTracer(t)
	dir := t.TempDir()
	grpcAddr, queryAddr, telAddr := proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t)
	p := proctest.Start(t, bin, []string{"all-in-one", "--demo",
		"--grpc-endpoint", grpcAddr, "--http-endpoint", "", "--query-endpoint", queryAddr, "--telemetry-endpoint", telAddr,
		"--wal-dir", filepath.Join(dir, "wal"), "--badger-dir", filepath.Join(dir, "badger"), "--batch-timeout", "50ms",
		"--demo-service-a-endpoint", "127.0.0.1:0", "--demo-service-b-endpoint", "127.0.0.1:0", "--demo-service-c-endpoint", "127.0.0.1:0",
	}, filepath.Join(dir, "demo.log"))
	p.WaitHealthy(t, telAddr)
	base := "http://" + queryAddr
	// Wait for both edges in the Jaeger v1 dependencies the UI asks for.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		body := httpBody(t, fmt.Sprintf("%s/api/dependencies?endTs=%d&lookback=3600000", base, time.Now().UnixMilli()))
		var deps struct {
			Data []struct{ Parent, Child string }
		}
		_ = json.Unmarshal([]byte(body), &deps)
		edges := map[string]bool{}
		for _, d := range deps.Data {
			edges[d.Parent+" → "+d.Child] = true
		}
		if edges["service-a → service-b"] && edges["service-b → service-c"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no a → b → c dependencies within 2 minutes: %s", body)
		}
	}
	jbase := jaegerServer(t, jdir, base)
	tab := uitest.NewTab(t, 1500, 900)
	ctx, cancel := context.WithTimeout(tab.Ctx, 5*time.Minute)
	defer cancel()

	// Search: the service selector lists the demo's services.
	if err := chromedp.Do(ctx, chromedp.Navigate(jbase+"/search")); err != nil {
		t.Fatal(err)
	}
	jaegerPoll(t, tab, ctx, "search form", `document.querySelector('[data-testid=service] .ant-select-selector, [data-testid=service]')`)
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector('[data-testid=service] .ant-select-selector') || document.querySelector('[data-testid=service]'); e.dispatchEvent(new MouseEvent('mousedown', {bubbles: true})); })()`)); err != nil {
		t.Fatal(err)
	}
	opts := jaegerPoll(t, tab, ctx, "service options", `(() => { const o = [...document.querySelectorAll('.ant-select-item-option')].map(e => e.getAttribute('title') || e.textContent); return ['service-a', 'service-b', 'service-c'].every(s => o.includes(s)) && o.join(','); })()`)
	t.Logf("the Jaeger UI's services: %s", opts)
	// Find service-a's traces: the URL's query runs the search; the results
	// (a table by default, or ResultItems) link to /trace/{id}.
	if err := chromedp.Do(ctx, chromedp.Navigate(jbase+"/search?service=service-a&lookback=1h&limit=20")); err != nil {
		t.Fatal(err)
	}
	n := jaegerPoll(t, tab, ctx, "search results", `(() => { const m = document.body.innerText.match(/(\d+) traces?\s/i); return m && Number(m[1]) > 0 && document.querySelector('a[href*="/trace/"]') && m[1]; })()`)
	t.Logf("the Jaeger UI found %s traces of service-a", n)

	// Trace: a trace of the three services, from the results.
	href := jaegerPoll(t, tab, ctx, "a result's link", `(() => { const a = [...document.querySelectorAll('a[href*="/trace/"]')].find(a => (a.closest('tr, .ResultItem') || a).textContent.includes('service-c')); return a && a.getAttribute('href'); })()`)
	tab.Screenshot(t, "jaeger-ui-search")
	if err := chromedp.Do(ctx, chromedp.Navigate(jbase+href)); err != nil {
		t.Fatal(err)
	}
	rows := jaegerPoll(t, tab, ctx, "trace rows", `(() => { const r = [...document.querySelectorAll('.span-row .span-svc-name')].map(e => e.textContent); return ['service-a', 'service-b', 'service-c'].every(s => r.some(x => x.includes(s))) && r.length; })()`)
	t.Logf("the Jaeger UI's trace %s: %s rows", href, rows)
	tab.Screenshot(t, "jaeger-ui-trace")

	// System Architecture: the three services (plexus's DAG node labels),
	// laid out (the layout runs in a worker; the edges are drawn after it).
	if err := chromedp.Do(ctx, chromedp.Navigate(jbase+"/dependencies")); err != nil {
		t.Fatal(err)
	}
	nodes := jaegerPoll(t, tab, ctx, "graph nodes", `(() => { const l = [...document.querySelectorAll('.DAG--nodeLabel')].map(e => e.textContent); return ['service-a', 'service-b', 'service-c'].every(s => l.includes(s)) && l.join(','); })()`)
	edges := jaegerPoll(t, tab, ctx, "graph edges", `(() => { const e = [...document.querySelectorAll('.DAG .plexus-Digraph--SvgEdge')]; return e.length === 2 && e.map(p => p.parentElement.textContent).join(','); })()`)
	t.Logf("the Jaeger UI's dependency graph: nodes %s, 2 edges with call counts %s", nodes, edges)
	tab.Screenshot(t, "jaeger-ui-deps")
	for _, e := range tab.Errors() {
		t.Logf("the Jaeger UI logged an error: %s", e)
	}
}

// httpBody returns the body of GET url ("" on an error).
func httpBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	return b.String()
}
