package e2e

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tracerdev/tracer/internal/uitest"
)

// dashChart is a dashboard chart's data attributes (ui/src/dashboards/chart.ts).
type dashChart struct {
	Points   int   `json:"points,string"`
	Filled   int   `json:"filled,string"`
	Requests int   `json:"requests,string"`
	StartMs  int64 `json:"startMs,string"`
	StepMs   int64 `json:"stepMs,string"`
}

// readDashChart waits for the drawn chart of kind (rate, errors, latency) and
// reads its data attributes.
func readDashChart(t *testing.T, ctx context.Context, kind string) dashChart {
	t.Helper()
	var c dashChart
	depsPollJSON(t, ctx, kind+" chart", `(() => { const e = document.querySelector(".dash-chart[data-chart=`+kind+`]");
		return e && e.querySelector(".u-over") && JSON.stringify(e.dataset); })()`, &c)
	return c
}

// TestUIDashboards opens the dashboards over three services a → b → c with
// known call counts: the overview counts each service's server spans; b's
// charts have one point per step of the window (gaps included) and count
// b's calls; a click on the step of b's calls opens the search for b in
// that step's time range (with status=error from the error chart and a
// minDuration from the latency chart); a deep link with an operation, a
// window and a step reopens the same choices; a span kind without spans
// says so.
func TestUIDashboards(t *testing.T) {
	s := startUI(t)
	c := sendDepsChain(t, s, 6)
	tab := uitest.NewTab(t, 1280, 1000)
	ctx, cancel := context.WithTimeout(tab.Ctx, 3*time.Minute)
	defer cancel()
	open := func(t *testing.T, page string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+page)); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("overview", func(t *testing.T) {
		open(t, "/dashboards?window=1h")
		var rows map[string]int
		depsPollJSON(t, ctx, "overview", `(() => { const rows = [...document.querySelectorAll(".summary-table tbody tr")];
			return rows.length >= 3 && JSON.stringify(Object.fromEntries(rows.map((r) => [r.dataset.name, Number(r.dataset.requests)]))); })()`, &rows)
		for _, svc := range []string{"a", "b", "c"} {
			if rows[svc] != c.serverSpans[svc] {
				t.Errorf("overview: %s has %d requests, want %d (all rows %v)", svc, rows[svc], c.serverSpans[svc], rows)
			}
		}
		// Sorted by requests, most first (ties by name); the order is in the URL.
		depsClickCenter(t, ctx, ".summary-table th:nth-child(2) button")
		order, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".summary-table tbody tr")].map((r) => r.dataset.name)`))
		if want := []string{"c", "a", "b"}; err != nil || !slices.Equal(order, want) {
			t.Errorf("sorted by requests: %v (%v), want %v", order, err, want)
		}
		if got := depsLocation(t, ctx).Query().Get("sort"); got != "requests" {
			t.Errorf("the URL's sort is %q, want requests", got)
		}
		tab.Screenshot(t, "dashboards-overview")
	})

	for _, tc := range []struct {
		name, window, step string
		points             int
	}{
		{"1h by 1m", "1h", "1m", 60},
		{"6h by 5m", "6h", "5m", 72},
		{"15m by 5m", "15m", "5m", 3},
		{"7d by default", "7d", "", 168},
	} {
		t.Run("points "+tc.name, func(t *testing.T) {
			open(t, "/dashboards?service=b&window="+tc.window+"&step="+tc.step)
			for _, kind := range []string{"rate", "errors", "latency"} {
				got := readDashChart(t, ctx, kind)
				if got.Points != tc.points {
					t.Errorf("%s chart: %d points, want %d", kind, got.Points, tc.points)
				}
				if got.Requests != c.serverSpans["b"] || got.Filled < 1 || got.Filled > 2 {
					t.Errorf("%s chart: %d requests in %d steps, want %d in 1 or 2", kind, got.Requests, got.Filled, c.serverSpans["b"])
				}
			}
		})
	}

	for _, tc := range []struct {
		chart string
		check func(t *testing.T, q map[string]string)
	}{
		{"rate", func(t *testing.T, q map[string]string) {
			if q["status"] != "" || q["minDuration"] != "" {
				t.Errorf("the rate chart's search filters on %v", q)
			}
		}},
		{"errors", func(t *testing.T, q map[string]string) {
			if q["status"] != "error" {
				t.Errorf("the error chart's search has status %q, want error", q["status"])
			}
		}},
		{"latency", func(t *testing.T, q map[string]string) {
			d, err := time.ParseDuration(q["minDuration"])
			if err != nil || d < 0 {
				t.Errorf("the latency chart's search has minDuration %q (%v), want a duration", q["minDuration"], err)
			}
		}},
	} {
		t.Run("click "+tc.chart, func(t *testing.T) {
			open(t, "/dashboards?service=b&window=1h&step=1m")
			ch := readDashChart(t, ctx, tc.chart)
			idx := (c.first.UnixMilli() - ch.StartMs) / ch.StepMs
			if idx < 0 || idx >= int64(ch.Points) {
				t.Fatalf("b's first call at %v is outside the chart from %d", c.first, ch.StartMs)
			}
			// The step's column: the plot area cut in Points columns.
			r := depsStableRect(t, ctx, ".dash-chart[data-chart="+tc.chart+"] .u-over")
			x, y := r.X+r.W*(float64(idx)+0.5)/float64(ch.Points), r.Y+r.H/2
			if err := chromedp.Do(ctx, chromedp.MouseClickXY(x, y)); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`location.pathname === "/search"`)); err != nil {
				t.Fatalf("the click did not open the search: %v (at %s)", err, depsLocation(t, ctx))
			}
			u := depsLocation(t, ctx)
			q := map[string]string{}
			for k := range u.Query() {
				q[k] = u.Query().Get(k)
			}
			from := ch.StartMs + idx*ch.StepMs
			want := map[string]string{"service": "b", "start": strconv.FormatInt(from*1000, 10), "end": strconv.FormatInt((from+ch.StepMs)*1000, 10)}
			for k, v := range want {
				if q[k] != v {
					t.Errorf("search %s=%q, want %q (URL %s)", k, q[k], v, u)
				}
			}
			tc.check(t, q)
		})
	}

	t.Run("keyboard", func(t *testing.T) {
		// The first arrow press picks the last step, the next one moves left;
		// Enter opens the search of the step picked.
		open(t, "/dashboards?service=b&window=1h&step=1m")
		ch := readDashChart(t, ctx, "rate")
		depsStableRect(t, ctx, ".dash-chart[data-chart=rate] .u-over")
		err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(".dash-chart[data-chart=rate]")),
			chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowLeft), chromedp.KeyEvent(kb.Enter))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`location.pathname === "/search"`)); err != nil {
			t.Fatalf("Enter did not open the search: %v (at %s)", err, depsLocation(t, ctx))
		}
		from := ch.StartMs + int64(ch.Points-2)*ch.StepMs
		if got, want := depsLocation(t, ctx).Query().Get("start"), strconv.FormatInt(from*1000, 10); got != want {
			t.Errorf("search start %s, want %s (the step before the last)", got, want)
		}
	})

	t.Run("deep link", func(t *testing.T) {
		open(t, "/dashboards?service=b&operation=GetCart&spanKind=server&window=6h&step=5m")
		got := readDashChart(t, ctx, "latency")
		if got.Points != 72 || got.Requests != c.serverSpans["b"] {
			t.Errorf("latency chart: %d points, %d requests, want 72 and %d", got.Points, got.Requests, c.serverSpans["b"])
		}
		sel, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".dash-toolbar select")].map((s) => s.value)`))
		if want := []string{"b", "GetCart", "server", "5m"}; err != nil || !slices.Equal(sel, want) {
			t.Errorf("the choices are %v (%v), want %v", sel, err, want)
		}
		pressed, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(".dash-toolbar [aria-pressed=true]")?.textContent ?? ""`))
		if err != nil || pressed != "6h" {
			t.Errorf("the window shown is %q (%v), want 6h", pressed, err)
		}
		tab.Screenshot(t, "dashboard")

		// A theme change redraws the charts in its colours.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelectorAll(".dash-chart canvas").forEach((c) => c.dataset.old = "1"); true`)); err != nil {
			t.Fatal(err)
		}
		depsClickCenter(t, ctx, ".theme-toggle")
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll(".dash-chart canvas").length === 3 && !document.querySelector(".dash-chart canvas[data-old]")`)); err != nil {
			t.Errorf("the charts were not redrawn after the theme changed: %v", err)
		}
		if got := readDashChart(t, ctx, "latency"); got.Points != 72 {
			t.Errorf("latency chart after the theme changed: %d points, want 72", got.Points)
		}
		tab.Screenshot(t, "dashboard-dark")
		depsClickCenter(t, ctx, ".theme-toggle")
	})

	t.Run("Jaeger monitor link", func(t *testing.T) {
		// packages/jaeger-ui/src/components/Monitor/url.ts: timeframe in ms.
		open(t, "/monitor?service=b&spanKind=server&timeframe=3600000")
		if got := readDashChart(t, ctx, "rate"); got.Points != 60 || got.Requests != c.serverSpans["b"] {
			t.Errorf("rate chart: %d points, %d requests, want 60 and %d", got.Points, got.Requests, c.serverSpans["b"])
		}
	})

	t.Run("empty", func(t *testing.T) {
		open(t, "/dashboards?service=b&spanKind=producer&window=1h")
		var msg string
		depsPollJSON(t, ctx, "empty state", `(() => { const e = document.querySelector(".dash-content .state-empty"); return e && JSON.stringify(e.textContent); })()`, &msg)
		if !strings.Contains(msg, "No producer spans of b") {
			t.Errorf("empty dashboard says %q", msg)
		}
	})
	tab.NoErrors(t)
}
