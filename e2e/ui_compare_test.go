package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/internal/uitest"
)

// cmpSpan is a span of a test trace: a service, a name, its start and end
// in milliseconds after the trace's start, and its children.
type cmpSpan struct {
	service, name string
	start, end    int
	err           bool
	children      []cmpSpan
}

// cmpSend exports root and its descendants through s's providers (one per
// service), with exact timestamps from base, waits until they are stored
// and returns the trace id and the span ids by name.
func cmpSend(t *testing.T, s *uiServer, base time.Time, root cmpSpan) (string, map[string]string) {
	t.Helper()
	providers := map[string]trace.Tracer{}
	tracer := func(service string) trace.Tracer {
		if tr, ok := providers[service]; ok {
			return tr
		}
		tr := s.provider(t, service).Tracer("e2e/compare")
		providers[service] = tr
		return tr
	}
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	ids := map[string]string{}
	var traceID string
	n := 0
	// The tree is a few spans deep: a stack of (span, parent context).
	type item struct {
		sp  cmpSpan
		ctx context.Context
	}
	stack := []item{{root, context.Background()}}
	var ends []func()
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ctx, span := tracer(it.sp.service).Start(it.ctx, it.sp.name, trace.WithTimestamp(at(it.sp.start)))
		if it.sp.err {
			span.SetStatus(codes.Error, "failed")
		}
		traceID = span.SpanContext().TraceID().String()
		ids[it.sp.service+" "+it.sp.name] = span.SpanContext().SpanID().String()
		end := at(it.sp.end)
		ends = append(ends, func() { span.End(trace.WithTimestamp(end)) })
		n++
		for i := len(it.sp.children) - 1; i >= 0; i-- {
			stack = append(stack, item{it.sp.children[i], ctx})
		}
	}
	for i := len(ends) - 1; i >= 0; i-- {
		ends[i]()
	}
	s.awaitSpans(t, traceID, n)
	return traceID, ids
}

// cmpTraces are two traces of GET /checkout: B adds "payment charge", misses
// "email notify", and its "inventory db.query" takes 220ms instead of 20ms.
// Every other path has the same self time in both (the root's: 37ms), so
// those three are the only differences.
func cmpTraces() (a, b cmpSpan) {
	a = cmpSpan{"frontend", "GET /checkout", 0, 100, false, []cmpSpan{
		{"auth", "authorize", 5, 15, false, nil},
		{"auth", "authorize", 16, 19, false, nil},
		{"inventory", "reserve", 20, 60, false, []cmpSpan{
			{"inventory", "db.query", 25, 45, false, nil},
			{"inventory", "cache.get", 40, 55, false, nil}, // overlaps db.query by 5ms
		}},
		{"email", "notify", 70, 80, true, nil},
	}}
	b = cmpSpan{"frontend", "GET /checkout", 0, 305, false, []cmpSpan{
		{"auth", "authorize", 5, 15, false, nil},
		{"auth", "authorize", 16, 19, false, nil},
		{"inventory", "reserve", 20, 260, false, []cmpSpan{
			{"inventory", "db.query", 25, 245, false, nil},
			{"inventory", "cache.get", 240, 255, false, nil},
		}},
		{"payment", "charge", 265, 280, false, nil},
	}}
	return a, b
}

// cmpEval evaluates js in the tab and decodes its JSON value into T.
func cmpEval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// cmpWait waits until the JS expression cond is true (at most 30s).
func cmpWait(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body.innerText"))
			t.Fatalf("waiting for %s: %v; the page says:\n%s", cond, err, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func cmpOpen(t *testing.T, ctx context.Context, url, cond string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	cmpWait(t, ctx, cond)
}

// cmpRow is a row of the compare page's tables.
type cmpRow struct {
	Change    string `json:"change"`
	Service   string `json:"service"`
	Operation string `json:"operation"`
	Delta     string `json:"delta"`
}

const cmpRowsJS = `(sel) => [...document.querySelectorAll(sel + " tbody tr")].map((r) => ({
	change: r.dataset.change, service: r.dataset.service, operation: r.dataset.operation,
	delta: r.querySelector("[data-field=delta]")?.textContent ?? "" }))`

func cmpRows(t *testing.T, ctx context.Context, table string) []cmpRow {
	t.Helper()
	return cmpEval[[]cmpRow](t, ctx, "("+cmpRowsJS+")("+fmt.Sprintf("%q", table)+")")
}

// cmpChanged returns the changed rows as "change service operation", sorted.
func cmpChanged(rows []cmpRow) []string {
	var out []string
	for _, r := range rows {
		if r.Change != "same" {
			out = append(out, r.Change+" "+r.Service+" "+r.Operation)
		}
	}
	slices.Sort(out)
	return out
}

// TestUICompare sends two traces of one operation and checks that the
// compare page shows exactly their differences, both ways round, at both
// URLs, with the states for missing input and a missing trace.
func TestUICompare(t *testing.T) {
	s := startUI(t)
	ta, tb := cmpTraces()
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	a, _ := cmpSend(t, s, base, ta)
	b, _ := cmpSend(t, s, base.Add(time.Second), tb)

	tab := uitest.NewTab(t, 1400, 900)
	ctx, cancel := context.WithTimeout(tab.Ctx, 3*time.Minute)
	defer cancel()
	ready := `document.querySelector(".cmp-summary")`

	t.Run("diff", func(t *testing.T) {
		cmpOpen(t, ctx, s.URL+"/trace/"+a+"..."+b, ready)
		counts := cmpEval[map[string]string](t, ctx,
			`Object.fromEntries([...document.querySelectorAll("[data-summary]")].map((e) => [e.dataset.summary, e.dataset.count]))`)
		want := map[string]string{"added": "1", "missing": "1", "slower": "1", "faster": "0"}
		for k, v := range want {
			if counts[k] != v {
				t.Errorf("summary %s: got %q, want %q (all: %v)", k, counts[k], v, counts)
			}
		}
		wantChanged := []string{"added payment charge", "missing email notify", "slower inventory db.query"}
		if got := cmpChanged(cmpRows(t, ctx, ".cmp-tree")); !slices.Equal(got, wantChanged) {
			t.Errorf("structure changes: got %q, want %q", got, wantChanged)
		}
		if got := cmpChanged(cmpRows(t, ctx, ".cmp-groups")); !slices.Equal(got, wantChanged) {
			t.Errorf("changes by service and operation: got %q, want %q", got, wantChanged)
		}
		for _, r := range cmpRows(t, ctx, ".cmp-tree") {
			if r.Change == "slower" && r.Delta != "+200ms (+1000%)" {
				t.Errorf("db.query's change: got %q, want +200ms (+1000%%)", r.Delta)
			}
		}
		// Both traces' totals.
		totals := cmpEval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll(".cmp-card")].flatMap((c) =>
			[...c.querySelectorAll("dd[data-field]")].map((d) => [c.dataset.side + " " + d.dataset.field, d.textContent])))`)
		wantTotals := map[string]string{
			"A duration": "100ms", "B duration": "305ms (+205ms)", "A spans": "7", "B spans": "7",
			"A errors": "1", "B errors": "0 (−1)", "A services": "4", "B services": "4",
		}
		for k, v := range wantTotals {
			if totals[k] != v {
				t.Errorf("totals %s: got %q, want %q", k, totals[k], v)
			}
		}
		tab.Screenshot(t, "compare")
	})

	t.Run("deep link keeps the view", func(t *testing.T) {
		cmpOpen(t, ctx, s.URL+"/compare?a="+a+"&b="+b+"&show=slower", ready)
		rows := cmpRows(t, ctx, ".cmp-tree")
		if len(rows) != 1 || rows[0].Operation != "db.query" {
			t.Errorf("show=slower: got rows %v, want only db.query", rows)
		}
		if v := cmpEval[string](t, ctx, `document.getElementById("cmp-show").value`); v != "slower" {
			t.Errorf("the show selector: got %q, want slower", v)
		}
		cmpOpen(t, ctx, s.URL+"/trace/"+a+"..."+b+"?show=all", ready)
		if got := len(cmpRows(t, ctx, ".cmp-tree")); got != 7 {
			t.Errorf("show=all: got %d paths, want 7 (A's 6 and B's charge)", got)
		}
		// Choosing a filter is kept in the URL.
		if err := chromedp.Do(ctx, chromedp.SendKeys("#cmp-q", "inventory")); err != nil {
			t.Fatal(err)
		}
		cmpWait(t, ctx, `location.search.includes("q=inventory") && document.querySelectorAll(".cmp-tree tbody tr").length === 3`)
	})

	t.Run("swap", func(t *testing.T) {
		cmpOpen(t, ctx, s.URL+"/trace/"+a+"..."+b, ready)
		if err := chromedp.Do(ctx, chromedp.Click(".cmp-swap")); err != nil {
			t.Fatal(err)
		}
		cmpWait(t, ctx, fmt.Sprintf(`location.pathname.endsWith("/trace/%s...%s") && document.querySelector(".cmp-summary")`, b, a))
		want := []string{"added email notify", "faster inventory db.query", "missing payment charge"}
		if got := cmpChanged(cmpRows(t, ctx, ".cmp-tree")); !slices.Equal(got, want) {
			t.Errorf("B against A: got %q, want %q", got, want)
		}
	})

	t.Run("inputs", func(t *testing.T) {
		cmpOpen(t, ctx, s.URL+"/compare", `document.querySelector(".cmp-body .state-empty")`)
		err := chromedp.Do(ctx, chromedp.SendKeys("#cmp-a", a), chromedp.SendKeys("#cmp-b", b+"\r"))
		if err != nil {
			t.Fatal(err)
		}
		cmpWait(t, ctx, fmt.Sprintf(`location.pathname.endsWith("/trace/%s...%s") && document.querySelector(".cmp-summary")`, a, b))
		cmpOpen(t, ctx, s.URL+"/compare", `document.querySelector(".cmp-body .state-empty")`)
		if err := chromedp.Do(ctx, chromedp.SendKeys("#cmp-a", "not-an-id\r")); err != nil {
			t.Fatal(err)
		}
		cmpWait(t, ctx, `document.querySelector(".cmp-form-error").textContent.includes("not a trace id")`)
	})

	t.Run("missing trace", func(t *testing.T) {
		const absent = "0123456789abcdef0123456789abcdef"
		cmpOpen(t, ctx, s.URL+"/trace/"+a+"..."+absent, `document.querySelector(".cmp-body .state-error")`)
		msg := cmpEval[string](t, ctx, `document.querySelector(".cmp-body .state-error").textContent`)
		if want := "Trace B (" + absent + ") was not found."; msg != want {
			t.Errorf("got %q, want %q", msg, want)
		}
	})
	tab.NoErrors(t)
}

// TestUITraceViews checks the flame graph and the statistics table through
// the trace page's tabs.
func TestUITraceViews(t *testing.T) {
	s := startUI(t)
	ta, _ := cmpTraces()
	a, ids := cmpSend(t, s, time.Now().Add(-time.Minute).Truncate(time.Millisecond), ta)
	tab := uitest.NewTab(t, 1400, 900)
	ctx, cancel := context.WithTimeout(tab.Ctx, 3*time.Minute)
	defer cancel()

	t.Run("stats", func(t *testing.T) {
		cmpOpen(t, ctx, s.URL+"/trace/"+a+"?tab=stats", `document.querySelector(".stats-table tbody tr[data-service]")`)
		type stat struct {
			Count, Errors, Self, Total, Max string
			SelfText                        string
		}
		got := cmpEval[map[string]stat](t, ctx, `Object.fromEntries([...document.querySelectorAll(".stats-table tbody tr")].map((r) => {
			const c = (k) => r.querySelector("[data-col=" + k + "]");
			return [r.dataset.service + " " + r.dataset.operation, {Count: c("count").textContent, Errors: c("errors").textContent,
				Self: c("self").dataset.ns, Total: c("total").dataset.ns, Max: c("max").dataset.ns, SelfText: c("self").textContent}];
		}))`)
		ms := func(n int64) string { return fmt.Sprint(n * 1e6) }
		want := map[string]stat{
			// 100ms less its children: authorize 10+3, reserve 40, notify 10.
			"frontend GET /checkout": {"1", "0", ms(37), ms(100), ms(100), "37.0ms"},
			"auth authorize":         {"2", "0", ms(13), ms(13), ms(10), "13.0ms"},
			// 40ms less the union of its two children (25-45 and 40-55: 30ms, not 35).
			"inventory reserve":   {"1", "0", ms(10), ms(40), ms(40), "10.0ms"},
			"inventory db.query":  {"1", "0", ms(20), ms(20), ms(20), "20.0ms"},
			"inventory cache.get": {"1", "0", ms(15), ms(15), ms(15), "15.0ms"},
			"email notify":        {"1", "1", ms(10), ms(10), ms(10), "10.0ms"},
		}
		if len(got) != len(want) {
			t.Errorf("got %d rows, want %d: %v", len(got), len(want), got)
		}
		for k, w := range want {
			if g := got[k]; g != w {
				t.Errorf("%s: got %+v, want %+v", k, g, w)
			}
		}
		// Sorted by self time, largest first; a click on Spans sorts by count.
		order := `[...document.querySelectorAll(".stats-table tbody tr")].map((r) => r.dataset.operation)`
		// Ties (10ms) by service: email before inventory.
		wantOrder := []string{"GET /checkout", "db.query", "cache.get", "authorize", "notify", "reserve"}
		if got := cmpEval[[]string](t, ctx, order); !slices.Equal(got, wantOrder) {
			t.Errorf("default order: got %q, want %q", got, wantOrder)
		}
		if err := chromedp.Do(ctx, chromedp.Click(`th[data-key="count"] button`)); err != nil {
			t.Fatal(err)
		}
		cmpWait(t, ctx, `document.querySelector('th[data-key="count"]').getAttribute("aria-sort") === "descending"`)
		if got := cmpEval[[]string](t, ctx, order); len(got) == 0 || got[0] != "authorize" {
			t.Errorf("by count: got %q, want authorize first", got)
		}
		tab.Screenshot(t, "stats")
	})

	t.Run("flame", func(t *testing.T) {
		cmpOpen(t, ctx, s.URL+"/trace/"+a+"?tab=flame", `document.querySelector(".flame-canvas")?.dataset.t1`)
		type box struct{ X, Y, W, H float64 }
		r := cmpEval[box](t, ctx, `(() => { const r = document.querySelector(".flame-canvas").getBoundingClientRect();
			return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`)
		if r.H != 60 {
			t.Errorf("canvas height: got %v, want 3 rows of 20px", r.H)
		}
		// db.query is at depth 2, from 25 to 45 of the trace's 100ms.
		x, y := r.X+r.W*0.35, r.Y+2*20+10
		pixel := func(px, py float64) float64 {
			return cmpEval[float64](t, ctx, fmt.Sprintf(`(() => { const c = document.querySelector(".flame-canvas");
				const d = devicePixelRatio; return c.getContext("2d").getImageData(%v * d, %v * d, 1, 1).data[3]; })()`, px-r.X, py-r.Y))
		}
		if a := pixel(x, y); a == 0 {
			t.Errorf("no bar drawn where db.query is")
		}
		if a := pixel(r.X+r.W*0.1, y); a != 0 {
			t.Errorf("a bar drawn at depth 2 before any span there (alpha %v)", a)
		}
		if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y)); err != nil {
			t.Fatal(err)
		}
		cmpWait(t, ctx, `!document.querySelector(".flame-tip").hidden`)
		tip := cmpEval[string](t, ctx, `document.querySelector(".flame-tip").textContent`)
		if !strings.Contains(tip, "db.query") || !strings.Contains(tip, "Duration 20.0ms") {
			t.Errorf("tooltip: got %q, want db.query's name and duration", tip)
		}
		tab.Screenshot(t, "flame")
		if err := chromedp.Do(ctx, chromedp.MouseClickXY(x, y)); err != nil {
			t.Fatal(err)
		}
		// A click zooms to the span and selects it on the trace page.
		// Selecting opens the detail pane, which resizes the canvas and clears
		// its drawing (and dataset) until the next frame: wait for both ends
		// of one drawn view.
		cmpWait(t, ctx, `(d => d.t0 === "25000000" && d.t1 === "45000000")(document.querySelector(".flame-canvas").dataset)`)
		cmpWait(t, ctx, fmt.Sprintf(`location.search.includes("span=%s")`, ids["inventory db.query"]))
		// Escape on the canvas shows the whole trace again.
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\u001b")); err != nil {
			t.Fatal(err)
		}
		cmpWait(t, ctx, `document.querySelector(".flame-canvas").dataset.t0 === "0"`)
	})
	tab.NoErrors(t)
}

// TestUIComparePure runs the checks of the compare page's and the trace
// views' pure computations (ui/src/compare/checks.ts: self time, the flame
// layout, the statistics, the diff, and 100,000-span traces that recursion
// would overflow) in Node, built by the UI's own Vite.
func TestUIComparePure(t *testing.T) {
	dir := filepath.Join("..", "ui")
	node, err := exec.LookPath("node")
	vite := filepath.Join(dir, "node_modules", "vite", "bin", "vite.js")
	if _, serr := os.Stat(vite); err != nil || serr != nil {
		msg := "node or ui/node_modules is missing (cd ui && npm ci)"
		if os.Getenv(uitest.RequireEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	out := filepath.Join("node_modules", ".tracer-checks")
	build := exec.Command(node, filepath.Join("node_modules", "vite", "bin", "vite.js"), "build", "--ssr", "src/compare/checks.ts",
		"--outDir", out, "--emptyOutDir", "--logLevel", "warn")
	build.Dir = dir
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the checks: %v\n%s", err, b)
	}
	run := exec.Command(node, filepath.Join(out, "checks.js"))
	run.Dir = dir
	b, err := run.CombinedOutput()
	t.Logf("%s", b)
	if err != nil {
		t.Fatalf("the checks failed: %v", err)
	}
}
