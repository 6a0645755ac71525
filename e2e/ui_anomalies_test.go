package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/internal/uitest"
	"github.com/tracerdev/tracer/sdk"
)

// anBatchProvider is a TracerProvider of Tracer's SDK for service that
// batches its exports to s (many spans, sent fast); flush them with
// ForceFlush. It is shut down when t ends.
func (s *uiServer) anBatchProvider(t *testing.T, service string) *sdktrace.TracerProvider {
	t.Helper()
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.GRPCAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp, err := sdk.New(ctx, sdk.WithServiceName(service), sdk.WithNodeID(service), sdk.WithoutExporter(), sdk.WithExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// anSent is what sendAnomalyTraces sent.
type anSent struct {
	// base is the baseline window's start; start and end bound the
	// current window (whole minutes, in the past).
	base, start, end time.Time
	// current are the trace ids of the current window.
	current map[string]bool
}

// anBaseSteps, anCurSteps and anPerStep shape the traffic: 15 baseline minutes and 5
// current ones, 24 traces a minute (a step needs 20 calls to be judged).
const (
	anBaseSteps = 15
	anCurSteps  = 5
	anPerStep   = 24
)

// sendAnomalyTraces sends traffic with known anomalies, timestamps set by
// the test in whole minutes of the past. In the baseline shop's
// "GET /items" takes 90–110 ms and calls db's "SELECT" once and legacy's
// "Lookup" once. In the current window "GET /items" takes 500–520 ms (a
// latency outlier), calls "SELECT" three times (a fan-out change), one of
// them failing in every other trace (an error spike, and "GET /items" now
// on error paths), calls cache's "GET key" (a new edge) and no longer
// calls "Lookup" (a gone edge). It waits until the API's anomalies show
// every kind.
func sendAnomalyTraces(t *testing.T, s *uiServer) anSent {
	t.Helper()
	providers := map[string]*sdktrace.TracerProvider{}
	tracer := func(svc string) trace.Tracer {
		if providers[svc] == nil {
			providers[svc] = s.anBatchProvider(t, svc)
		}
		return providers[svc].Tracer("e2e")
	}
	shop, db, legacy, cache := tracer("shop"), tracer("db"), tracer("legacy"), tracer("cache")
	server := trace.WithSpanKind(trace.SpanKindServer)
	base := time.Now().Truncate(time.Minute).Add(-(anBaseSteps + anCurSteps + 1) * time.Minute)
	sent := anSent{base: base, start: base.Add(anBaseSteps * time.Minute), current: map[string]bool{}}
	sent.end = sent.start.Add(anCurSteps * time.Minute)
	at := func(t0 time.Time, ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	child := func(ctx context.Context, tr trace.Tracer, name string, t0 time.Time, from, to int, fail bool) {
		_, sp := tr.Start(ctx, name, server, trace.WithTimestamp(at(t0, from)))
		if fail {
			sp.SetStatus(codes.Error, "deadlock detected")
		}
		sp.End(trace.WithTimestamp(at(t0, to)))
	}
	for step := range anBaseSteps + anCurSteps {
		cur := step >= anBaseSteps
		for j := range anPerStep {
			t0 := base.Add(time.Duration(step)*time.Minute + time.Duration(j)*2*time.Second)
			d := 90 + 5*(j%5)
			if cur {
				d += 410
			}
			ctx, root := shop.Start(context.Background(), "GET /items", server, trace.WithTimestamp(t0))
			if cur {
				for k := range 3 {
					child(ctx, db, "SELECT", t0, 5+45*k, 45+45*k, k == 1 && j%2 == 0)
				}
				child(ctx, cache, "GET key", t0, 140, 145, false)
				sent.current[root.SpanContext().TraceID().String()] = true
			} else {
				child(ctx, db, "SELECT", t0, 5, 45, false)
				child(ctx, legacy, "Lookup", t0, 50, 60, false)
			}
			root.End(trace.WithTimestamp(at(t0, d)))
		}
	}
	for _, tp := range providers {
		if err := tp.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// The spans reach storage after a batch timeout: a bounded wait until
	// the anomalies of every kind are there.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var last string
	for ctx.Err() == nil {
		a, err := anAPI(ctx, s, sent, "")
		kinds := map[string]bool{}
		for _, x := range a.Anomalies {
			kinds[x.Kind] = true
		}
		if err == nil && len(kinds) == 6 {
			return sent
		}
		last = fmt.Sprintf("kinds %v, %v", kinds, err)
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("anomalies: want all six kinds within a minute, last: %s\n%s", last, s.proc.LogText())
	return sent
}

// anAnomaly is one anomaly, as the API answers it and as the page's data
// attributes show it (ui/src/pages/anomalies.ts).
type anAnomaly struct {
	Kind      string  `json:"kind"`
	Service   string  `json:"service"`
	Operation string  `json:"operation"`
	Parent    string  `json:"parent"`
	Child     string  `json:"child"`
	Since     string  `json:"since"`
	Last      string  `json:"last"`
	Score     float64 `json:"score,string"`
	Baseline  float64 `json:"baseline,string"`
	Current   float64 `json:"current,string"`
	Count     uint64  `json:"count,string"`
	Examples  string  `json:"examples"`
}

type anAnswer struct {
	Anomalies []struct {
		Kind      string `json:"kind"`
		Service   string `json:"service"`
		Operation string `json:"operation"`
		Edge      *struct {
			ParentService   string `json:"parentService"`
			ParentOperation string `json:"parentOperation"`
			ChildService    string `json:"childService"`
			ChildOperation  string `json:"childOperation"`
		} `json:"edge"`
		Since    string   `json:"sinceUnixNano"`
		Last     string   `json:"lastUnixNano"`
		Score    float64  `json:"score"`
		Baseline float64  `json:"baseline"`
		Current  float64  `json:"current"`
		Count    uint64   `json:"count"`
		Examples []string `json:"examples"`
	} `json:"anomalies"`
}

// anKinds is the page's order of the groups.
var anKinds = []string{"latency", "errors", "new-edge", "gone-edge", "fan-out", "error-path"}

// shown is the answer as the page must list it: grouped by kind in the
// page's order, the API's order within a kind, only the kinds in show.
func (a anAnswer) shown(show []string) []anAnomaly {
	var out []anAnomaly
	for _, k := range anKinds {
		if !slices.Contains(show, k) {
			continue
		}
		for _, x := range a.Anomalies {
			if x.Kind != k {
				continue
			}
			y := anAnomaly{Kind: x.Kind, Service: x.Service, Operation: x.Operation, Since: x.Since, Last: x.Last,
				Score: x.Score, Baseline: x.Baseline, Current: x.Current, Count: x.Count, Examples: strings.Join(x.Examples, ",")}
			if e := x.Edge; e != nil {
				y.Parent, y.Child = e.ParentService+"|"+e.ParentOperation, e.ChildService+"|"+e.ChildOperation
			}
			out = append(out, y)
		}
	}
	return out
}

// anAPI asks the API for the current window's anomalies against the
// baseline sendAnomalyTraces sent, as the page's URL anPage asks for them.
func anAPI(ctx context.Context, s *uiServer, sent anSent, service string) (anAnswer, error) {
	var a anAnswer
	p := "/api/tracer/anomalies?start=" + url.QueryEscape(sent.start.UTC().Format(time.RFC3339)) +
		"&end=" + url.QueryEscape(sent.end.UTC().Format(time.RFC3339)) + "&baseline=15m&step=1m"
	if service != "" {
		p += "&service=" + url.QueryEscape(service)
	}
	code, err := s.api.get(ctx, p, &a)
	if err == nil && code != 200 {
		err = fmt.Errorf("GET %s: status %d", p, code)
	}
	return a, err
}

// anPage is the page's URL for the same question.
func anPage(sent anSent, extra string) string {
	return "/anomalies?lookback=custom&start=" + bnMicros(sent.start) + "&end=" + bnMicros(sent.end) + "&baseline=15m" + extra
}

// anReadItems waits for the page's results and reads its anomalies in the order shown.
const anReadItems = `(() => { const c = document.querySelector(".an-content"); if (!c || c.dataset.state !== "results") return null;
	return JSON.stringify([...c.querySelectorAll(".an-item")].map((e) => ({...e.dataset}))); })()`

// TestUIAnomalies opens the anomalies page: with no traffic it says nothing
// departs; a failed request shows the server's message; over traffic with
// known anomalies it lists exactly the API's answer, grouped by kind, and
// the anomalies the traffic implies (a latency outlier of "GET /items"
// since the first current minute with its example traces, an error spike,
// a new and a gone edge, a fan-out change and an operation newly on error
// paths); an example opens its trace; a kind filter and the service filter
// are kept in the URL and a reload shows the same view.
func TestUIAnomalies(t *testing.T) {
	s := startUI(t)
	tab := uitest.NewTab(t, 1400, 1000)
	ctx, cancel := context.WithTimeout(tab.Ctx, 4*time.Minute)
	defer cancel()
	open := func(t *testing.T, page string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+page)); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("empty", func(t *testing.T) {
		open(t, "/anomalies")
		if msg := bnState(t, ctx, ".an-content", "empty"); !strings.Contains(msg, "Nothing departs from the baseline") {
			t.Errorf("the page without traffic says %q", msg)
		}
	})

	t.Run("error", func(t *testing.T) {
		bnFailNext(t, ctx, "*/api/tracer/anomalies*", func() { open(t, "/anomalies?lookback=15m") }, func() {
			if msg := bnState(t, ctx, ".an-content", "loading"); !strings.Contains(msg, "Looking for anomalies") {
				t.Errorf("while the answer is awaited the page says %q", msg)
			}
		})
		if msg := bnState(t, ctx, ".an-content", "error"); !strings.Contains(msg, "see the server log for request id r-7") {
			t.Errorf("the error state says %q", msg)
		}
	})

	sent := sendAnomalyTraces(t, s)
	readItems := func(t *testing.T) []anAnomaly {
		t.Helper()
		var items []anAnomaly
		depsPollJSON(t, ctx, "anomalies", anReadItems, &items)
		return items
	}
	find := func(items []anAnomaly, f func(anAnomaly) bool) *anAnomaly {
		for i := range items {
			if f(items[i]) {
				return &items[i]
			}
		}
		return nil
	}

	t.Run("list", func(t *testing.T) {
		open(t, anPage(sent, ""))
		got := readItems(t)
		ans, err := anAPI(ctx, s, sent, "")
		if err != nil {
			t.Fatal(err)
		}
		want := ans.shown(anKinds)
		if !slices.Equal(got, want) {
			t.Errorf("the page lists\n%+v\nthe API answers\n%+v", got, want)
		}
		// What the traffic implies.
		lat := find(got, func(a anAnomaly) bool {
			return a.Kind == "latency" && a.Service == "shop" && a.Operation == "GET /items"
		})
		switch {
		case lat == nil:
			t.Errorf("no latency outlier of shop · GET /items in %+v", got)
		case lat.Since != fmt.Sprint(sent.start.UnixNano()) || lat.Current <= lat.Baseline || lat.Examples == "":
			t.Errorf("the latency outlier %+v: want it since %d, above its baseline, with examples", *lat, sent.start.UnixNano())
		default:
			for _, id := range strings.Split(lat.Examples, ",") {
				if !sent.current[id] {
					t.Errorf("latency example %s is not a trace of the current window", id)
				}
			}
		}
		for _, w := range []struct {
			what string
			f    func(anAnomaly) bool
		}{
			{"an error spike of db · SELECT", func(a anAnomaly) bool { return a.Kind == "errors" && a.Service == "db" && a.Operation == "SELECT" }},
			{"a new edge shop → cache", func(a anAnomaly) bool { return a.Kind == "new-edge" && a.Parent == "shop|" && a.Child == "cache|" }},
			{"a new edge GET /items → GET key", func(a anAnomaly) bool {
				return a.Kind == "new-edge" && a.Parent == "shop|GET /items" && a.Child == "cache|GET key"
			}},
			{"a gone edge shop → legacy", func(a anAnomaly) bool { return a.Kind == "gone-edge" && a.Parent == "shop|" && a.Child == "legacy|" }},
			{"a fan-out change GET /items → SELECT", func(a anAnomaly) bool {
				return a.Kind == "fan-out" && a.Parent == "shop|GET /items" && a.Child == "db|SELECT" && a.Current > a.Baseline
			}},
			{"GET /items on error paths", func(a anAnomaly) bool { return a.Kind == "error-path" && a.Operation == "GET /items" }},
		} {
			if find(got, w.f) == nil {
				t.Errorf("the page does not list %s", w.what)
			}
		}
		// The latency outlier says how far: the observed p95 against the
		// baseline with its spread.
		far, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('.an-item[data-kind="latency"][data-operation="GET /items"] .an-far')?.textContent ?? ""`))
		if err != nil || !strings.HasPrefix(far, "p95 ") || !strings.Contains(far, " vs baseline ") || !strings.Contains(far, " ± ") {
			t.Errorf("the latency outlier says %q (%v)", far, err)
		}
		counts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".an-kinds label")].map((l) => l.querySelector("input").dataset.kind + "=" + l.querySelector(".n").textContent)`))
		var wantCounts []string
		for _, k := range anKinds {
			n := 0
			for _, x := range ans.Anomalies {
				if x.Kind == k {
					n++
				}
			}
			wantCounts = append(wantCounts, fmt.Sprintf("%s=%d", k, n))
		}
		if err != nil || !slices.Equal(counts, wantCounts) {
			t.Errorf("the kind counts are %v (%v), want %v", counts, err, wantCounts)
		}
		tab.Screenshot(t, "anomalies")

		// A theme change draws the list again, in its colours.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelectorAll(".an-item").forEach((e) => e.dataset.old = "1"); true`)); err != nil {
			t.Fatal(err)
		}
		depsClickCenter(t, ctx, ".theme-toggle")
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll(".an-item").length > 0 && !document.querySelector(".an-item[data-old]")`)); err != nil {
			t.Errorf("the list was not drawn again after the theme changed: %v", err)
		}
		if again := readItems(t); !slices.Equal(again, want) {
			t.Errorf("after the theme changed the page lists\n%+v\nwant\n%+v", again, want)
		}
		tab.Screenshot(t, "anomalies-dark")
		depsClickCenter(t, ctx, ".theme-toggle")
	})

	t.Run("example opens the trace", func(t *testing.T) {
		open(t, anPage(sent, ""))
		got := readItems(t)
		lat := find(got, func(a anAnomaly) bool { return a.Kind == "latency" && a.Operation == "GET /items" })
		if lat == nil || lat.Examples == "" {
			t.Fatalf("no latency outlier with examples in %+v", got)
		}
		id := strings.Split(lat.Examples, ",")[0]
		depsClickCenter(t, ctx, `.an-item[data-kind="latency"][data-operation="GET /items"] .an-examples a[data-trace="`+id+`"]`)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`location.pathname === "/trace/`+id+`" && document.querySelector("#page")?.dataset.page === "trace"`)); err != nil {
			t.Fatalf("the example did not open trace %s: %v (at %s)", id, err, depsLocation(t, ctx))
		}
		n, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector(".tv-timeline, canvas") !== null`))
		if err != nil || !n {
			t.Errorf("the trace view shows no timeline: %v", err)
		}
	})

	t.Run("kind filter and reload", func(t *testing.T) {
		open(t, anPage(sent, ""))
		readItems(t)
		depsClickCenter(t, ctx, `.an-kinds input[data-kind="latency"]`)
		ans, err := anAPI(ctx, s, sent, "")
		if err != nil {
			t.Fatal(err)
		}
		show := anKinds[1:]
		check := func(t *testing.T, when string) {
			t.Helper()
			var got []anAnomaly
			depsPollJSON(t, ctx, "anomalies without latency", `(() => { const c = document.querySelector(".an-content");
				if (!c || c.dataset.state !== "results" || c.querySelector('.an-group[data-kind="latency"]')) return null;
				return JSON.stringify([...c.querySelectorAll(".an-item")].map((e) => ({...e.dataset}))); })()`, &got)
			if want := ans.shown(show); !slices.Equal(got, want) {
				t.Errorf("%s: the page lists\n%+v\nwant\n%+v", when, got, want)
			}
			on, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('.an-kinds input[data-kind="latency"]').checked`))
			if err != nil || on {
				t.Errorf("%s: the latency box is checked (%v)", when, err)
			}
		}
		check(t, "after the click")
		if got := depsLocation(t, ctx).Query()["kind"]; !slices.Equal(got, show) {
			t.Errorf("the URL's kinds are %v, want %v", got, show)
		}
		if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
			t.Fatal(err)
		}
		check(t, "after a reload")
		sel, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".bn-toolbar select")].map((s) => s.getAttribute("aria-label") + "=" + s.value)`))
		if want := []string{"Window=custom", "Baseline=15m", "Step=1m", "Daily pattern=0", "Service="}; err != nil || !slices.Equal(sel, want) {
			t.Errorf("after a reload the choices are %v (%v), want %v", sel, err, want)
		}
		tab.Screenshot(t, "anomalies-filtered")
	})

	t.Run("service", func(t *testing.T) {
		open(t, anPage(sent, "&service=db"))
		got := readItems(t)
		ans, err := anAPI(ctx, s, sent, "db")
		if err != nil {
			t.Fatal(err)
		}
		if want := ans.shown(anKinds); !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("service db: the page lists\n%+v\nthe API answers\n%+v", got, want)
		}
		for _, a := range got {
			if a.Service != "db" && !strings.HasPrefix(a.Child, "db|") {
				t.Errorf("service db lists %+v", a)
			}
		}
		sel, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('.bn-toolbar select[aria-label="Service"]').value`))
		if err != nil || sel != "db" {
			t.Errorf("the service shown is %q (%v)", sel, err)
		}
	})
	tab.NoErrors(t)
}
