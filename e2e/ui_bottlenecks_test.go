package e2e

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/internal/uitest"
)

// bnSent is what sendBottleneckTraces sent.
type bnSent struct {
	from, to time.Time
	// pageIDs are the traces whose root is front's "GET /page"; otherIDs
	// those whose root is "GET /other".
	pageIDs, otherIDs []string
	// renderSpan is the span id of render's "Render" span in each trace.
	renderSpan map[string]string
}

// sendBottleneckTraces sends n traces of known shape, with timestamps set
// by the test (so the critical path is known whatever the machine's
// speed): front's root "GET /page" runs 0–(235+10i) ms; auth's "Verify"
// 2–12 ms; render's "Render" 15–(220+10i) ms, the slow part; cache's
// "Warm" 15–100 ms, in parallel with Render and so never on the path. Two
// more traces have a root "GET /other" with only a short "Verify". It
// waits until the API serves every trace whole.
func sendBottleneckTraces(t *testing.T, s *uiServer, n int) bnSent {
	t.Helper()
	tf := s.provider(t, "front").Tracer("e2e")
	ta := s.provider(t, "auth").Tracer("e2e")
	tr := s.provider(t, "render").Tracer("e2e")
	tc := s.provider(t, "cache").Tracer("e2e")
	server := trace.WithSpanKind(trace.SpanKindServer)
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	ms := func(t0 time.Time, d int) time.Time { return t0.Add(time.Duration(d) * time.Millisecond) }
	sent := bnSent{from: base.Add(-time.Minute), to: time.Now().Add(time.Minute).Truncate(time.Millisecond), renderSpan: map[string]string{}}
	for i := range n + 2 {
		t0 := base.Add(time.Duration(i) * 5 * time.Second)
		other := i >= n
		name := "GET /page"
		if other {
			name = "GET /other"
		}
		ctx, root := tf.Start(context.Background(), name, server, trace.WithTimestamp(t0))
		_, v := ta.Start(ctx, "Verify", server, trace.WithTimestamp(ms(t0, 2)))
		v.End(trace.WithTimestamp(ms(t0, 12)))
		end := 20
		if !other {
			_, w := tc.Start(ctx, "Warm", server, trace.WithTimestamp(ms(t0, 15)))
			w.End(trace.WithTimestamp(ms(t0, 100)))
			_, r := tr.Start(ctx, "Render", server, trace.WithTimestamp(ms(t0, 15)))
			r.End(trace.WithTimestamp(ms(t0, 220+10*i)))
			sent.renderSpan[root.SpanContext().TraceID().String()] = r.SpanContext().SpanID().String()
			end = 235 + 10*i
		}
		root.End(trace.WithTimestamp(ms(t0, end)))
		id := root.SpanContext().TraceID().String()
		if other {
			sent.otherIDs = append(sent.otherIDs, id)
		} else {
			sent.pageIDs = append(sent.pageIDs, id)
		}
	}
	for _, id := range sent.pageIDs {
		s.awaitSpans(t, id, 4)
	}
	for _, id := range sent.otherIDs {
		s.awaitSpans(t, id, 2)
	}
	return sent
}

// bnAnswer is /api/tracer/bottlenecks's answer.
type bnAnswer struct {
	Limit           int   `json:"limit"`
	TracesFound     int   `json:"tracesFound"`
	TracesAnalysed  int   `json:"tracesAnalysed"`
	TracesSkipped   int   `json:"tracesSkipped"`
	TracesTruncated int   `json:"tracesTruncated"`
	LatencyNano     int64 `json:"latencyNano"`
	Operations      []struct {
		Service      string  `json:"service"`
		Operation    string  `json:"operation"`
		TotalNano    int64   `json:"totalNano"`
		PerTraceNano float64 `json:"perTraceNano"`
		Share        float64 `json:"share"`
		TraceCount   int     `json:"traceCount"`
		MaxNano      int64   `json:"maxNano"`
		Examples     []struct {
			TraceID string `json:"traceId"`
		} `json:"examples"`
	} `json:"operations"`
}

// bnRow is a row of the bottlenecks table, from its data attributes
// (ui/src/bottlenecks/table.ts).
type bnRow struct {
	Service   string  `json:"service"`
	Operation string  `json:"operation"`
	Rank      int     `json:"rank,string"`
	Total     int64   `json:"total,string"`
	PerTrace  float64 `json:"perTrace,string"`
	Share     float64 `json:"share,string"`
	Traces    int     `json:"traces,string"`
	Max       int64   `json:"max,string"`
	Examples  string  `json:"examples"`
}

// rows is what the API's answer says the table's rows are, in its order.
func (a bnAnswer) rows() []bnRow {
	var out []bnRow
	for i, o := range a.Operations {
		var ex []string
		for _, e := range o.Examples {
			ex = append(ex, e.TraceID)
		}
		out = append(out, bnRow{o.Service, o.Operation, i + 1, o.TotalNano, o.PerTraceNano, o.Share, o.TraceCount, o.MaxNano, strings.Join(ex, ",")})
	}
	return out
}

// bnReadRows waits for the page's results and reads its rows in the order shown.
const bnReadRows = `(() => { const c = document.querySelector(".bn-content"); if (!c || c.dataset.state !== "results") return null;
	return JSON.stringify([...c.querySelectorAll(".bn-table tbody tr")].map((r) => ({...r.dataset}))); })()`

// bnState waits until the page's content is in state want ("empty",
// "error", ...) and returns its text.
func bnState(t *testing.T, ctx context.Context, css, want string) string {
	t.Helper()
	var msg string
	depsPollJSON(t, ctx, want+" state", `(() => { const c = document.querySelector(`+depsJSString(css)+`);
		return c && c.dataset.state === `+depsJSString(want)+` && JSON.stringify(c.textContent); })()`, &msg)
	return msg
}

// bnFailNext answers the page's next request matching pattern with a 500 in
// Tracer's error shape, after open opens the page; paused runs while the
// request waits for its answer.
func bnFailNext(t *testing.T, ctx context.Context, pattern string, open, paused func()) {
	t.Helper()
	requests := make(chan fetch.RequestID, 8)
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	err := chromedp.Listen(lctx, func(ev any) {
		if ev, ok := ev.(*fetch.EventRequestPaused); ok {
			select {
			case requests <- ev.RequestID:
			default:
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := chromedp.Call(ctx, fetch.Disable, cdp.Empty{}); err != nil {
			t.Error(err)
		}
	}()
	open()
	select {
	case id := <-requests:
		paused()
		body := `{"error": {"code": "internal", "message": "see the server log for request id r-7", "requestId": "r-7"}}`
		_, err := chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
			RequestID: id, ResponseCode: 500, Body: []byte(body),
			ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}},
		})
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatalf("the page did not request %s", pattern)
	}
}

// bnMicros is a time as the pages' start and end parameters: unix microseconds.
func bnMicros(tm time.Time) string { return strconv.FormatInt(tm.UnixMicro(), 10) }

// TestUIBottlenecks opens the bottlenecks page over traces whose critical
// path is known: before any span it offers no service, and says a service
// without traces has none; a failed request shows the server's message;
// then the table is exactly the API's answer (same operations, order and
// numbers) and the slow operation ranks first while the parallel one is
// absent; a root operation narrows it as the API does; sorting by a column
// is kept in the URL and a reload shows the same view; an example opens
// the trace view with the operation's span selected.
func TestUIBottlenecks(t *testing.T) {
	s := startUI(t)
	tab := uitest.NewTab(t, 1400, 900)
	ctx, cancel := context.WithTimeout(tab.Ctx, 4*time.Minute)
	defer cancel()
	open := func(t *testing.T, page string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+page)); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("empty", func(t *testing.T) {
		open(t, "/bottlenecks")
		if msg := bnState(t, ctx, ".bn-content", "empty"); !strings.Contains(msg, "No services have sent spans yet") {
			t.Errorf("the page without services says %q", msg)
		}
		open(t, "/bottlenecks?service=front&lookback=15m")
		if msg := bnState(t, ctx, ".bn-content", "empty"); !strings.Contains(msg, "No traces of front") {
			t.Errorf("the page of a service without traces says %q", msg)
		}
	})

	t.Run("error", func(t *testing.T) {
		bnFailNext(t, ctx, "*/api/tracer/bottlenecks*", func() { open(t, "/bottlenecks?service=front") }, func() {
			if msg := bnState(t, ctx, ".bn-content", "loading"); !strings.Contains(msg, "Analysing the critical paths of up to 100 traces of front") {
				t.Errorf("while the answer is awaited the page says %q", msg)
			}
		})
		if msg := bnState(t, ctx, ".bn-content", "error"); !strings.Contains(msg, "see the server log for request id r-7") {
			t.Errorf("the error state says %q", msg)
		}
	})

	const n = 8
	sent := sendBottleneckTraces(t, s, n)
	rangeQ := "&lookback=custom&start=" + bnMicros(sent.from) + "&end=" + bnMicros(sent.to)
	apiAnswer := func(t *testing.T, extra string) bnAnswer {
		t.Helper()
		var a bnAnswer
		p := "/api/tracer/bottlenecks?service=front&start=" + url.QueryEscape(sent.from.UTC().Format(time.RFC3339Nano)) +
			"&end=" + url.QueryEscape(sent.to.UTC().Format(time.RFC3339Nano)) + extra
		if code, err := s.api.get(ctx, p, &a); err != nil || code != 200 {
			t.Fatalf("GET %s: %d %v", p, code, err)
		}
		return a
	}
	readRows := func(t *testing.T) []bnRow {
		t.Helper()
		var rows []bnRow
		depsPollJSON(t, ctx, "bottleneck rows", bnReadRows, &rows)
		return rows
	}

	t.Run("table", func(t *testing.T) {
		want := apiAnswer(t, "")
		open(t, "/bottlenecks?service=front"+rangeQ)
		got := readRows(t)
		if !slices.Equal(got, want.rows()) {
			t.Errorf("the table shows\n%+v\nthe API answers\n%+v", got, want.rows())
		}
		// What the crafted traces imply: every trace analysed; Render first,
		// on every GET /page trace's path; Warm (parallel to Render) never.
		if want.TracesAnalysed != n+2 {
			t.Errorf("the API analysed %d traces, want %d", want.TracesAnalysed, n+2)
		}
		if len(got) == 0 || got[0].Service != "render" || got[0].Operation != "Render" || got[0].Traces != n {
			t.Errorf("the first row is %+v, want render · Render on %d traces", got, n)
		}
		for _, r := range got {
			if r.Operation == "Warm" {
				t.Errorf("Warm, in parallel with the slower Render, is on the path: %+v", r)
			}
		}
		note, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(".bn-note[data-analysed]")?.dataset.analysed ?? ""`))
		if err != nil || note != strconv.Itoa(want.TracesAnalysed) {
			t.Errorf("the page says %q traces analysed (%v), want %d", note, err, want.TracesAnalysed)
		}
		sel, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".bn-toolbar select")].map((s) => s.value)`))
		if err != nil || len(sel) < 3 || sel[0] != "front" || sel[1] != "" || sel[2] != "custom" {
			t.Errorf("the choices shown are %v (%v), want front, any root operation, custom", sel, err)
		}
		tab.Screenshot(t, "bottlenecks")

		// A theme change draws the table again, in its colours.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelectorAll(".bn-table tbody tr").forEach((e) => e.dataset.old = "1"); true`)); err != nil {
			t.Fatal(err)
		}
		depsClickCenter(t, ctx, ".theme-toggle")
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll(".bn-table tbody tr").length > 0 && !document.querySelector(".bn-table tr[data-old]")`)); err != nil {
			t.Errorf("the table was not drawn again after the theme changed: %v", err)
		}
		if again := readRows(t); !slices.Equal(again, want.rows()) {
			t.Errorf("after the theme changed the table shows\n%+v\nwant\n%+v", again, want.rows())
		}
		tab.Screenshot(t, "bottlenecks-dark")
		depsClickCenter(t, ctx, ".theme-toggle")
	})

	t.Run("picker and links", func(t *testing.T) {
		// A bare /bottlenecks offers the services; picking one analyses the
		// last hour, as does the link from its dashboard.
		open(t, "/bottlenecks")
		var offered []string
		depsPollJSON(t, ctx, "service picker", `(() => { const l = [...document.querySelectorAll(".bn-picker a")].map((a) => a.dataset.service);
			return l.length && JSON.stringify(l); })()`, &offered)
		if want := []string{"auth", "cache", "front", "render"}; !slices.Equal(offered, want) {
			t.Errorf("the picker offers %v, want %v", offered, want)
		}
		want := apiAnswer(t, "")
		for _, from := range []string{"/bottlenecks", "/dashboards?service=front&window=1h"} {
			open(t, from)
			link := `.bn-picker a[data-service="front"]`
			if from != "/bottlenecks" {
				link = `.dash-head a[href^="/bottlenecks"]`
			}
			depsClickCenter(t, ctx, link)
			got := readRows(t)
			if u := depsLocation(t, ctx); u.Path != "/bottlenecks" || u.Query().Get("service") != "front" || u.Query().Get("lookback") != "1h" {
				t.Errorf("from %s: the link opened %s", from, u)
			}
			// The last hour holds the same traces as the test's range.
			if !slices.Equal(got, want.rows()) {
				t.Errorf("from %s: the table shows\n%+v\nthe API answers\n%+v", from, got, want.rows())
			}
		}
	})

	t.Run("limit", func(t *testing.T) {
		// A limit below the traces that match says only the most recent
		// are analysed.
		want := apiAnswer(t, "&limit=5")
		open(t, "/bottlenecks?service=front&limit=5"+rangeQ)
		if got := readRows(t); !slices.Equal(got, want.rows()) {
			t.Errorf("limit 5: the table shows\n%+v\nthe API answers\n%+v", got, want.rows())
		}
		if want.TracesFound != 5 {
			t.Errorf("limit 5: the API found %d traces", want.TracesFound)
		}
		warn, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(".bn-note.warn")?.textContent ?? ""`))
		if err != nil || !strings.Contains(warn, "found the limit of 5 traces") {
			t.Errorf("limit 5: the warning says %q (%v)", warn, err)
		}
		sel, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('.bn-toolbar select[aria-label="Traces analysed"]').value`))
		if err != nil || sel != "5" {
			t.Errorf("limit 5: the menu shows %q (%v)", sel, err)
		}
	})

	t.Run("custom range", func(t *testing.T) {
		// Picking a range with the inputs (minutes, in the viewer's zone)
		// puts it in the URL and analyses it.
		open(t, "/bottlenecks?service=front&lookback=15m")
		readRows(t)
		from, to := sent.from.Truncate(time.Minute), sent.to.Truncate(time.Minute).Add(time.Minute)
		// The inputs take the browser's local time: the page formats it.
		set := func(a, b time.Time) {
			t.Helper()
			js := `(() => { const local = (ms) => { const d = new Date(ms), p = (n) => String(n).padStart(2, "0");
					return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + "T" + p(d.getHours()) + ":" + p(d.getMinutes()); };
				const s = document.querySelector('.bn-toolbar select[aria-label="Time range"]');
				s.value = "custom"; s.dispatchEvent(new Event("change"));
				document.querySelector('input[aria-label="From"]').value = local(` + strconv.FormatInt(a.UnixMilli(), 10) + `);
				document.querySelector('input[aria-label="To"]').value = local(` + strconv.FormatInt(b.UnixMilli(), 10) + `);
				return true; })()`
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil {
				t.Fatal(err)
			}
		}
		set(to, from)
		depsClickCenter(t, ctx, ".range-custom button")
		msg, err := chromedp.Run(ctx, chromedp.Poll[string](`document.querySelector(".range-msg")?.textContent || null`))
		if err != nil || !strings.Contains(msg, "The end must be after the start") {
			t.Errorf("an end before the start says %q (%v)", msg, err)
		}
		set(from, to)
		depsClickCenter(t, ctx, ".range-custom button")
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`new URLSearchParams(location.search).get("lookback") === "custom"`)); err != nil {
			t.Fatalf("Apply did not set a custom range: %v (at %s)", err, depsLocation(t, ctx))
		}
		u := depsLocation(t, ctx)
		if u.Query().Get("start") != bnMicros(from) || u.Query().Get("end") != bnMicros(to) {
			t.Errorf("the URL's range is %s – %s, want %s – %s", u.Query().Get("start"), u.Query().Get("end"), bnMicros(from), bnMicros(to))
		}
		var a bnAnswer
		p := "/api/tracer/bottlenecks?service=front&start=" + url.QueryEscape(from.UTC().Format(time.RFC3339)) + "&end=" + url.QueryEscape(to.UTC().Format(time.RFC3339))
		if code, err := s.api.get(ctx, p, &a); err != nil || code != 200 {
			t.Fatalf("GET %s: %d %v", p, code, err)
		}
		var got []bnRow
		depsPollJSON(t, ctx, "rows of the custom range", `(() => { const c = document.querySelector(".bn-content");
			if (!c || c.dataset.state !== "results" || !location.search.includes("custom")) return null;
			return JSON.stringify([...c.querySelectorAll(".bn-table tbody tr")].map((r) => ({...r.dataset}))); })()`, &got)
		if !slices.Equal(got, a.rows()) {
			t.Errorf("custom range: the table shows\n%+v\nthe API answers\n%+v", got, a.rows())
		}
	})

	t.Run("root operation", func(t *testing.T) {
		want := apiAnswer(t, "&operation="+url.QueryEscape("GET /page"))
		open(t, "/bottlenecks?service=front&operation="+url.QueryEscape("GET /page")+rangeQ)
		got := readRows(t)
		if !slices.Equal(got, want.rows()) {
			t.Errorf("the table shows\n%+v\nthe API answers\n%+v", got, want.rows())
		}
		if want.TracesAnalysed != n {
			t.Errorf("GET /page: the API analysed %d traces, want %d", want.TracesAnalysed, n)
		}
		open(t, "/bottlenecks?service=front&operation=nothing"+rangeQ)
		if msg := bnState(t, ctx, ".bn-content", "empty"); !strings.Contains(msg, "No traces of front · nothing") {
			t.Errorf("an operation without traces says %q", msg)
		}
	})

	t.Run("sort and reload", func(t *testing.T) {
		want := apiAnswer(t, "").rows()
		slices.SortStableFunc(want, func(a, b bnRow) int { return int(b.Max - a.Max) })
		open(t, "/bottlenecks?service=front"+rangeQ)
		readRows(t)
		depsClickCenter(t, ctx, `.bn-table th[data-sort="max"] button`)
		check := func(t *testing.T, when string) {
			t.Helper()
			got := readRows(t)
			if !slices.Equal(got, want) {
				t.Errorf("%s: the rows by max are\n%+v\nwant\n%+v", when, got, want)
			}
			aria, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('.bn-table th[data-sort="max"]').getAttribute("aria-sort")`))
			if err != nil || aria != "descending" {
				t.Errorf("%s: the max column's aria-sort is %q (%v)", when, aria, err)
			}
		}
		check(t, "after the click")
		u := depsLocation(t, ctx)
		if u.Query().Get("sort") != "max" || u.Query().Get("service") != "front" || u.Query().Get("start") != bnMicros(sent.from) {
			t.Errorf("the URL after sorting is %s", u)
		}
		if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
			t.Fatal(err)
		}
		check(t, "after a reload")
	})

	t.Run("example opens the span", func(t *testing.T) {
		want := apiAnswer(t, "")
		open(t, "/bottlenecks?service=front"+rangeQ)
		readRows(t)
		first := want.Operations[0]
		if len(first.Examples) == 0 {
			t.Fatalf("the API gives no example for %+v", first)
		}
		id := first.Examples[0].TraceID
		depsClickCenter(t, ctx, `.bn-table tbody tr:first-child .bn-examples a[data-trace="`+id+`"]`)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`location.pathname.startsWith("/trace/")`)); err != nil {
			t.Fatalf("the example did not open the trace: %v (at %s)", err, depsLocation(t, ctx))
		}
		u := depsLocation(t, ctx)
		if u.Path != "/trace/"+id || u.Query().Get("span") != sent.renderSpan[id] {
			t.Errorf("the example opened %s, want /trace/%s?span=%s (its Render span)", u, id, sent.renderSpan[id])
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#page")?.dataset.page === "trace" && !document.querySelector(".tv-details")?.hidden`)); err != nil {
			t.Errorf("the trace view did not open with a span selected: %v", err)
		}
		tab.Screenshot(t, "bottlenecks-example")
	})
	tab.NoErrors(t)
}
