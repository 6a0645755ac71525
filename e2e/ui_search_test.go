package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/internal/uitest"
	"github.com/tracerdev/tracer/sdk"
)

// The search page (ui/src/pages/search.ts) exposes window.__tracerSearch
// while mounted: ids() (the found trace ids in the list's order; the list is
// virtual, so the DOM holds only the rows in view), points() (the points in
// the scatter plot's uPlot data), pointAt(id) (a point's client
// coordinates), state and done (searches finished), renderedAt and fetchMs
// (performance.now() when the results were drawn, the request's time).

// searchTraces are the known traces the search tests send.
type searchTraces struct {
	checkout, cart, report, nightly string // trace ids
}

const (
	svcFrontend  = "ui-search-frontend"
	svcPayments  = "ui-search-payments"
	svcInventory = "ui-search-inventory"
	svcBatch     = "ui-search-batch"
)

// sendSearchTraces sends four traces with explicit times, 30s, 90s, 150s
// and 210s after base (a whole minute, about 10 minutes ago), which it
// returns:
//   - checkout: frontend "GET /checkout" (40ms) → payments "charge" with
//     payment.method=card; 2 spans, no error;
//   - cart: frontend "GET /cart" (120ms) → inventory "reserve" (status
//     error) → inventory "select stock"; 3 spans, 1 error;
//   - report: frontend "GET /report" (450ms) → frontend "render"; 2 spans;
//   - nightly: batch "nightly-job" (10ms); 1 span.
func sendSearchTraces(t *testing.T, s *uiServer) (searchTraces, time.Time) {
	t.Helper()
	fe := s.provider(t, svcFrontend).Tracer("e2e")
	pay := s.provider(t, svcPayments).Tracer("e2e")
	inv := s.provider(t, svcInventory).Tracer("e2e")
	batch := s.provider(t, svcBatch).Tracer("e2e")
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	at := func(ms int) trace.SpanEventOption {
		return trace.WithTimestamp(base.Add(30*time.Second + time.Duration(ms)*time.Millisecond))
	}
	var out searchTraces

	ctx, root := fe.Start(context.Background(), "GET /checkout", at(0), trace.WithSpanKind(trace.SpanKindServer))
	_, ch := pay.Start(ctx, "charge", at(5), trace.WithAttributes(attribute.String("payment.method", "card")))
	ch.End(at(30))
	root.End(at(40))
	out.checkout = root.SpanContext().TraceID().String()

	ctx, root = fe.Start(context.Background(), "GET /cart", at(60_000), trace.WithSpanKind(trace.SpanKindServer))
	ctx2, res := inv.Start(ctx, "reserve", at(60_010))
	_, db := inv.Start(ctx2, "select stock", at(60_020))
	db.End(at(60_050))
	res.SetStatus(codes.Error, "out of stock")
	res.End(at(60_100))
	root.End(at(60_120))
	out.cart = root.SpanContext().TraceID().String()

	ctx, root = fe.Start(context.Background(), "GET /report", at(120_000), trace.WithSpanKind(trace.SpanKindServer))
	_, render := fe.Start(ctx, "render", at(120_050))
	render.End(at(120_400))
	root.End(at(120_450))
	out.report = root.SpanContext().TraceID().String()

	_, root = batch.Start(context.Background(), "nightly-job", at(180_000))
	root.End(at(180_010))
	out.nightly = root.SpanContext().TraceID().String()

	s.awaitSpans(t, out.checkout, 2)
	s.awaitSpans(t, out.cart, 3)
	s.awaitSpans(t, out.report, 2)
	s.awaitSpans(t, out.nightly, 1)
	return out, base
}

// sendShopTraces sends 40 traces of three other services, of varied
// durations, some with errors: the screenshots' data.
func sendShopTraces(t *testing.T, s *uiServer) {
	t.Helper()
	shop := s.provider(t, "ui-search-shop").Tracer("e2e")
	db := s.provider(t, "ui-search-shop-db").Tracer("e2e")
	cache := s.provider(t, "ui-search-shop-cache").Tracer("e2e")
	base := time.Now().Add(-40 * time.Minute)
	ops := []string{"GET /products", "GET /product/{id}", "POST /basket", "GET /search"}
	var last string
	for i := range 40 {
		start := base.Add(time.Duration(i) * 53 * time.Second)
		d := time.Duration(8+(i*37)%90) * time.Millisecond
		if i%9 == 4 {
			d *= 6
		}
		ctx, root := shop.Start(context.Background(), ops[i%len(ops)], trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindServer))
		_, c := cache.Start(ctx, "GET", trace.WithTimestamp(start.Add(time.Millisecond)))
		c.End(trace.WithTimestamp(start.Add(2 * time.Millisecond)))
		for j := range 1 + i%3 {
			_, q := db.Start(ctx, "SELECT products", trace.WithTimestamp(start.Add(time.Duration(3+j)*time.Millisecond)))
			if i%7 == 3 {
				q.SetStatus(codes.Error, "deadlock")
			}
			q.End(trace.WithTimestamp(start.Add(d - time.Millisecond)))
		}
		root.End(trace.WithTimestamp(start.Add(d)))
		last = root.SpanContext().TraceID().String()
	}
	s.awaitSpans(t, last, 2)
}

// searchPage drives the search page in a tab.
type searchPage struct {
	t    *testing.T
	tab  *uitest.Tab
	ctx  context.Context
	base string
}

func (p *searchPage) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

func evalJS[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// done is how many searches the mounted page has finished (-1 before it mounts).
func (p *searchPage) done() int {
	p.t.Helper()
	return evalJS[int](p.t, p.ctx, `window.__tracerSearch ? window.__tracerSearch.done : -1`)
}

// stale marks the mounted page's hook, so that await waits for the next mount.
func (p *searchPage) stale() {
	p.t.Helper()
	evalJS[bool](p.t, p.ctx, `!!(window.__tracerSearch && (window.__tracerSearch.stale = true))`)
}

// await waits until the mounted page (not one marked stale) has finished
// more than prev searches, and returns its state (results, empty or error).
func (p *searchPage) await(prev int) string {
	p.t.Helper()
	js := fmt.Sprintf(`(h => h && !h.stale && h.done > %d && h.state)(window.__tracerSearch)`, prev)
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := chromedp.Run(p.ctx, chromedp.Poll[string](js, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		// A poll started while the previous document was still being
		// replaced fails when its execution context goes away ("Cannot find
		// context with specified id"): poll again in the new document.
		if err != nil && strings.Contains(err.Error(), "Cannot find context") && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err != nil {
			p.t.Fatalf("wait for the search to finish: %v", err)
		}
		return st
	}
}

// open loads a UI path in a fresh page load and waits for its search.
func (p *searchPage) open(path string) string {
	p.t.Helper()
	p.stale()
	p.do("open "+path, chromedp.Navigate(p.base+path))
	return p.await(0)
}

// back goes back in the history (a same-document navigation: the router
// remounts the page) and waits for the search.
func (p *searchPage) back() string {
	p.t.Helper()
	p.stale()
	evalJS[bool](p.t, p.ctx, `history.back(), true`)
	return p.await(0)
}

func (p *searchPage) ids() []string {
	p.t.Helper()
	return evalJS[[]string](p.t, p.ctx, `window.__tracerSearch.ids()`)
}

func (p *searchPage) path() string {
	p.t.Helper()
	loc, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		p.t.Fatal(err)
	}
	return u.RequestURI()
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func TestUISearch(t *testing.T) {
	s := startUI(t)
	known, base := sendSearchTraces(t, s)
	tab := uitest.NewTab(t, 1400, 900)
	ctx, cancel := context.WithTimeout(tab.Ctx, 4*time.Minute)
	defer cancel()
	p := &searchPage{t: t, tab: tab, ctx: ctx, base: s.URL}
	name := map[string]string{known.checkout: "checkout", known.cart: "cart", known.report: "report", known.nightly: "nightly"}
	names := func(ids []string) []string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = name[id]
			if out[i] == "" {
				out[i] = "unknown " + id
			}
		}
		return out
	}

	t.Run("service list", func(t *testing.T) {
		p.t = t
		p.do("open /search", chromedp.Navigate(s.URL+"/search"), chromedp.WaitVisible(`.service-list button`))
		buttons := evalJS[[]string](t, ctx, `[...document.querySelectorAll('.service-list button')].map(b => b.dataset.service)`)
		options := evalJS[[]string](t, ctx, `[...document.querySelectorAll('#search-service option')].map(o => o.value)`)
		for _, svc := range []string{svcBatch, svcFrontend, svcInventory, svcPayments} {
			if !slices.Contains(buttons, svc) {
				t.Errorf("service picker %v: want %s", buttons, svc)
			}
			if !slices.Contains(options, svc) {
				t.Errorf("service select %v: want %s", options, svc)
			}
		}
		if st := evalJS[string](t, ctx, `window.__tracerSearch.state`); st != "idle" {
			t.Errorf("a bare /search: state %q, want idle (no search before a service is chosen)", st)
		}
	})

	t.Run("pick a service", func(t *testing.T) {
		p.t = t
		prev := p.done()
		p.do("pick the frontend", chromedp.Click(chromedp.CSS(`.service-list button[data-service="`+svcFrontend+`"]`)))
		if st := p.await(prev); st != "results" {
			t.Fatalf("state %q, want results", st)
		}
		if got, want := sortedCopy(p.ids()), sortedCopy([]string{known.checkout, known.cart, known.report}); !slices.Equal(got, want) {
			t.Errorf("found %v, want %v", names(got), names(want))
		}
		if q := p.path(); !strings.Contains(q, "service="+svcFrontend) || !strings.Contains(q, "start=") {
			t.Errorf("URL %s: want the service and the fixed range", q)
		}
	})

	t.Run("counts", func(t *testing.T) {
		p.t = t
		for _, tc := range []struct {
			name, id       string
			spans, errors  string
			title          string
			services       []string
			hasErrorMarker bool
		}{
			{"cart", known.cart, "3", "1", "GET /cart", []string{svcInventory, svcFrontend}, true}, // the service with errors first
			{"checkout", known.checkout, "2", "0", "GET /checkout", []string{svcFrontend, svcPayments}, false},
			{"report", known.report, "2", "0", "GET /report", []string{svcFrontend}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				row := `.results-body [data-trace-id="` + tc.id + `"]`
				got := evalJS[[]string](t, ctx, fmt.Sprintf(`(() => { const r = document.querySelector('%s'); if (!r) return [];
					return [r.querySelector('.col-spans').textContent, r.querySelector('.col-errors').textContent,
						r.querySelector('.root-name').textContent, String(r.classList.contains('has-error')),
						...[...r.querySelectorAll('.pill')].map(p => p.firstChild.nextSibling.textContent)]; })()`, row))
				want := append([]string{tc.spans, tc.errors, tc.title, fmt.Sprint(tc.hasErrorMarker)}, tc.services...)
				if !slices.Equal(got, want) {
					t.Errorf("row [spans errors name error-marker services...] = %q, want %q", got, want)
				}
			})
		}
	})

	t.Run("scatter plot", func(t *testing.T) {
		p.t = t
		got := evalJS[map[string]int](t, ctx, `window.__tracerSearch.points()`)
		if got["ok"] != 2 || got["error"] != 1 {
			t.Errorf("points %v, want 2 ok and 1 error", got)
		}
		if n := evalJS[int](t, ctx, `document.querySelectorAll('.scatter canvas').length`); n != 1 {
			t.Errorf("%d canvases in the plot, want 1", n)
		}
	})

	t.Run("sort by duration", func(t *testing.T) {
		p.t = t
		p.do("sort", chromedp.Click(chromedp.CSS(`.results-header button[data-sort="longest"]`)))
		want := []string{known.report, known.cart, known.checkout}
		if got := p.ids(); !slices.Equal(got, want) {
			t.Errorf("longest first: %v, want %v", names(got), names(want))
		}
		rows := evalJS[[]string](t, ctx, `[...document.querySelectorAll('.results-body .results-row')].sort((a, b) => a.dataset.index - b.dataset.index).map(r => r.dataset.traceId)`)
		if !slices.Equal(rows, want) {
			t.Errorf("rows on screen %v, want %v", names(rows), names(want))
		}
		if q := p.path(); !strings.Contains(q, "sort=longest") {
			t.Errorf("URL %s: want sort=longest", q)
		}
		p.do("sort again", chromedp.Click(chromedp.CSS(`.results-header button[data-sort="shortest"]`)))
		if got := p.ids(); !slices.Equal(got, []string{known.checkout, known.cart, known.report}) {
			t.Errorf("shortest first: %v", names(got))
		}
		p.do("sort back", chromedp.Click(chromedp.CSS(`.results-header button[data-sort="longest"]`)))
	})

	t.Run("deep link", func(t *testing.T) {
		p.t = t
		link := p.path()
		before := p.ids()
		if st := p.open(link); st != "results" {
			t.Fatalf("state %q, want results", st)
		}
		if got := p.ids(); !slices.Equal(got, before) {
			t.Errorf("reopened %s: %v, want %v", link, names(got), names(before))
		}
		if v := evalJS[string](t, ctx, `document.querySelector('#search-service').value`); v != svcFrontend {
			t.Errorf("the form's service %q, want %s", v, svcFrontend)
		}
	})

	t.Run("screenshots", func(t *testing.T) {
		p.t = t
		link := p.path()
		sendShopTraces(t, s)
		if st := p.open("/search?service=ui-search-shop&limit=60&sort=longest"); st != "results" {
			t.Fatalf("state %q, want results", st)
		}
		tab.Screenshot(t, "search")
		p.do("dark theme", chromedp.Click(chromedp.CSS(`.theme-toggle`)))
		tab.Screenshot(t, "search-dark")
		p.do("light theme", chromedp.Click(chromedp.CSS(`.theme-toggle`)))
		p.open(link)
	})

	t.Run("hover and click a point", func(t *testing.T) {
		p.t = t
		xy := evalJS[map[string]float64](t, ctx, `window.__tracerSearch.pointAt('`+known.report+`')`)
		p.do("hover", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, xy["x"], xy["y"]))
		tip, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const e = document.querySelector('.scatter-tip'); return e && !e.hidden && e.textContent; })()`,
			chromedp.WithPollingTimeout(5*time.Second)))
		if err != nil || !strings.Contains(tip, "GET /report") {
			t.Errorf("hovering the slow trace's point: tip %q (%v), want GET /report", tip, err)
		}
		p.do("click", chromedp.MouseClickXY(xy["x"], xy["y"]))
		if got, want := p.path(), "/trace/"+known.report; got != want {
			t.Errorf("clicking the point opened %s, want %s", got, want)
		}
		p.back()
	})

	t.Run("click a result", func(t *testing.T) {
		p.t = t
		p.do("click", chromedp.Click(chromedp.CSS(`.results-body [data-trace-id="`+known.cart+`"] .trace-link`)))
		if got, want := p.path(), "/trace/"+known.cart; got != want {
			t.Errorf("clicking the row opened %s, want %s", got, want)
		}
		p.back()
	})

	t.Run("compare two", func(t *testing.T) {
		p.t = t
		p.do("tick two",
			chromedp.Click(chromedp.CSS(`.results-body [data-trace-id="`+known.cart+`"] input[type=checkbox]`)),
			chromedp.Click(chromedp.CSS(`.results-body [data-trace-id="`+known.report+`"] input[type=checkbox]`)))
		h := evalJS[string](t, ctx, `document.querySelector('.results-toolbar .compare').getAttribute('href') || ''`)
		if want := "/trace/" + known.cart + "..." + known.report; h != want {
			t.Errorf("compare link %q, want %q", h, want)
		}
	})

	t.Run("tag with completion", func(t *testing.T) {
		p.t = t
		prev := p.done()
		// The list once it holds only completions of prefix, text among them.
		option := func(prefix, text string) string {
			return fmt.Sprintf(`(l => l.length && l.every(t => t.startsWith(%q)) && l.includes(%q))([...document.querySelectorAll('.tags-list:not([hidden]) li')].map(li => li.textContent))`, prefix, text)
		}
		p.do("type a key",
			chromedp.SetValue(chromedp.CSS(`#search-service`), ""),
			chromedp.Click(chromedp.CSS(`#search-tags`)),
			chromedp.SendKeys(chromedp.CSS(`#search-tags`), "payment.m"),
			chromedp.Poll[chromedp.Void](option("payment.m", "payment.method"), chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter),
			chromedp.Poll[chromedp.Void](option("payment.method=", "payment.method=card"), chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter))
		if v := evalJS[string](t, ctx, `document.querySelector('#search-tags').value`); v != "payment.method=card " {
			t.Errorf("tags after completing %q, want %q", v, "payment.method=card ")
		}
		if n := p.done(); n != prev {
			t.Errorf("taking a suggestion submitted the form")
		}
		p.do("submit with Enter", chromedp.KeyEvent(kb.Enter))
		if st := p.await(prev); st != "results" {
			t.Fatalf("state %q, want results", st)
		}
		if got := p.ids(); !slices.Equal(got, []string{known.checkout}) {
			t.Errorf("payment.method=card found %v, want checkout", names(got))
		}
		if q, _ := url.QueryUnescape(p.path()); !strings.Contains(q, `tags={"payment.method":"card"}`) {
			t.Errorf("URL %s: want the tag as the Jaeger UI writes it", q)
		}
	})

	t.Run("back", func(t *testing.T) {
		p.t = t
		p.back()
		if got := p.ids(); !slices.Equal(sortedCopy(got), sortedCopy([]string{known.checkout, known.cart, known.report})) {
			t.Errorf("Back to the frontend search: %v", names(got))
		}
	})

	t.Run("min duration in the form", func(t *testing.T) {
		p.t = t
		prev := p.done()
		p.do("type", chromedp.SendKeys(chromedp.CSS(`#search-min-duration`), "300ms"+kb.Enter))
		if st := p.await(prev); st != "results" {
			t.Fatalf("state %q, want results", st)
		}
		if got := p.ids(); !slices.Equal(got, []string{known.report}) {
			t.Errorf("minDuration=300ms found %v, want report", names(got))
		}
	})

	t.Run("custom range in the form", func(t *testing.T) {
		p.t = t
		// The minute after base, typed in the viewer's zone: only the cart
		// trace (base+1m30s) started in it.
		js := fmt.Sprintf(`(() => {
			const local = ms => { const d = new Date(ms), p = n => String(n).padStart(2, '0');
				return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()); };
			const lb = document.querySelector('#search-lookback');
			lb.value = 'custom'; lb.dispatchEvent(new Event('change'));
			document.querySelector('#search-from').value = local(%d);
			document.querySelector('#search-to').value = local(%d);
			document.querySelector('#search-min-duration').value = '';
			return !document.querySelector('.custom-range').hidden; })()`,
			base.Add(time.Minute).UnixMilli(), base.Add(2*time.Minute).UnixMilli())
		if shown := evalJS[bool](t, ctx, js); !shown {
			t.Errorf("choosing a custom range did not show its fields")
		}
		prev := p.done()
		p.do("submit", chromedp.Click(chromedp.CSS(`#search-submit`)))
		if st := p.await(prev); st != "results" {
			t.Fatalf("state %q, want results", st)
		}
		if got := p.ids(); !slices.Equal(got, []string{known.cart}) {
			t.Errorf("found %v, want cart", names(got))
		}
		want := fmt.Sprintf("lookback=custom&start=%d&end=%d", base.Add(time.Minute).UnixMicro(), base.Add(2*time.Minute).UnixMicro())
		if q := p.path(); !strings.Contains(q, want) {
			t.Errorf("URL %s: want %s", q, want)
		}
	})

	t.Run("drag a time range on the plot", func(t *testing.T) {
		p.t = t
		p.open("/search?service=" + svcFrontend)
		a := evalJS[map[string]float64](t, ctx, `window.__tracerSearch.pointAt('`+known.checkout+`')`)
		b := evalJS[map[string]float64](t, ctx, `window.__tracerSearch.pointAt('`+known.cart+`')`)
		c := evalJS[map[string]float64](t, ctx, `window.__tracerSearch.pointAt('`+known.report+`')`)
		y := c["y"] + 10
		prev := p.done()
		p.do("drag from before checkout to between cart and report",
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, a["x"]-8, y),
			chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, a["x"]-8, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, (a["x"]+b["x"])/2, y, chromedp.ButtonLeft),
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, (b["x"]+c["x"])/2, y, chromedp.ButtonLeft),
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, (b["x"]+c["x"])/2, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
		if st := p.await(prev); st != "results" {
			t.Fatalf("state %q, want results", st)
		}
		if got, want := sortedCopy(p.ids()), sortedCopy([]string{known.checkout, known.cart}); !slices.Equal(got, want) {
			t.Errorf("dragged range found %v, want %v", names(got), names(want))
		}
		if q := p.path(); !strings.HasPrefix(q, "/search?") || !strings.Contains(q, "lookback=custom") {
			t.Errorf("after the drag the URL is %s, want the search with a custom range", q)
		}
		if lb := evalJS[string](t, ctx, `document.querySelector('#search-lookback').value`); lb != "custom" {
			t.Errorf("the form's time range %q, want custom", lb)
		}
	})

	t.Run("Jaeger traceID link", func(t *testing.T) {
		p.t = t
		p.do("open", chromedp.Navigate(s.URL+"/search?traceID="+known.cart))
		want := "/trace/" + known.cart
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`location.pathname === %q`, want), chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil {
			t.Errorf("/search?traceID= opened %s, want %s", p.path(), want)
		}
	})

	// Searches as links: the Jaeger UI's parameter forms, and Tracer's status.
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"service", "service=" + svcFrontend, []string{known.checkout, known.cart, known.report}},
		{"other service", "service=" + svcBatch, []string{known.nightly}},
		{"min duration", "service=" + svcFrontend + "&minDuration=300ms", []string{known.report}},
		{"max duration", "service=" + svcFrontend + "&maxDuration=50ms", []string{known.checkout}},
		{"operation", "service=" + svcFrontend + "&operation=" + url.QueryEscape("GET /cart"), []string{known.cart}},
		// One span must match every filter: the cart trace's error is on an inventory span.
		{"status error", "service=" + svcInventory + "&status=error", []string{known.cart}},
		{"status error on another service's span", "service=" + svcFrontend + "&status=error", nil},
		{"Jaeger's error tag", "service=" + svcInventory + "&tags=" + url.QueryEscape(`{"error":"true"}`), []string{known.cart}},
		{"Jaeger's error tag false", "service=" + svcInventory + "&tags=" + url.QueryEscape(`{"error":"false"}`), nil},
		{"tag on another service's span", "tags=" + url.QueryEscape(`{"payment.method":"card"}`), []string{known.checkout}},
		{"tag in logfmt", "service=" + svcPayments + "&tags=" + url.QueryEscape(`payment.method=card`), []string{known.checkout}},
		{"tag and service on different spans", "service=" + svcFrontend + "&tags=" + url.QueryEscape(`{"payment.method":"card"}`), nil},
		{"custom range before the traces", "service=" + svcFrontend + "&lookback=custom&start=1000000&end=2000000", nil},
	} {
		t.Run("link/"+tc.name, func(t *testing.T) {
			p.t = t
			st := p.open("/search?" + tc.query)
			want := "results"
			if tc.want == nil {
				want = "empty"
			}
			if st != want {
				t.Fatalf("state %q, want %q", st, want)
			}
			if tc.want == nil {
				if txt := evalJS[string](t, ctx, `document.querySelector('.results-state').textContent`); !strings.Contains(txt, "No traces") {
					t.Errorf("empty state %q", txt)
				}
				return
			}
			if got := p.ids(); !slices.Equal(sortedCopy(got), sortedCopy(tc.want)) {
				t.Errorf("found %v, want %v", names(got), names(tc.want))
			}
		})
	}

	t.Run("API error", func(t *testing.T) {
		p.t = t
		if st := p.open("/search?service=" + svcFrontend + "&minDuration=fast"); st != "error" {
			t.Fatalf("state %q, want error", st)
		}
		msg := evalJS[string](t, ctx, `document.querySelector('.results-state [role=alert]').textContent`)
		if !strings.Contains(msg, `parameter minDuration="fast"`) {
			t.Errorf("error shown %q: want the server's message", msg)
		}
	})

	tab.NoErrors(t)
}

// TestUISearchThousand sends 1,000 small traces and opens a search for all
// of them: every one is in the list's data and the plot, while the DOM holds
// only the rows in view. The load figures are logged, not asserted.
func TestUISearchThousand(t *testing.T) {
	const n = 1000
	s := startUI(t)
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.GRPCAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	// Batched, not synchronous: 1,000 traces in a few exports.
	tp, err := sdk.New(ctx, sdk.WithServiceName("ui-search-bulk"), sdk.WithNodeID("bulk"), sdk.WithoutExporter(), sdk.WithExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr := tp.Tracer("e2e")
	base := time.Now().Add(-20 * time.Minute)
	errorsSent := 0
	for i := range n {
		start := base.Add(time.Duration(i) * time.Second)
		sctx, root := tr.Start(ctx, fmt.Sprintf("op-%d", i%7), trace.WithTimestamp(start))
		_, child := tr.Start(sctx, "child", trace.WithTimestamp(start.Add(time.Millisecond)))
		if i%10 == 0 {
			child.SetStatus(codes.Error, "failed")
			errorsSent++
		}
		child.End(trace.WithTimestamp(start.Add(time.Duration(2+i%50) * time.Millisecond)))
		root.End(trace.WithTimestamp(start.Add(time.Duration(5+i%97) * time.Millisecond)))
	}
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		var r struct {
			Traces []struct {
				SpanCount int `json:"spanCount"`
			} `json:"traces"`
		}
		code, err := s.api.get(actx, "/api/tracer/trace-summaries?service=ui-search-bulk&limit=1500", &r)
		full := 0
		for _, tr := range r.Traces {
			if tr.SpanCount == 2 {
				full++
			}
		}
		if err == nil && code == 200 && full == n {
			break
		}
		if actx.Err() != nil {
			t.Fatalf("the API has %d of %d traces (%d, %v)", full, n, code, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	tab := uitest.NewTab(t, 1400, 900)
	tctx, tcancel := context.WithTimeout(tab.Ctx, 2*time.Minute)
	defer tcancel()
	p := &searchPage{t: t, tab: tab, ctx: tctx, base: s.URL}
	if st := p.open("/search?service=ui-search-bulk&lookback=1h&limit=1000"); st != "results" {
		t.Fatalf("state %q, want results", st)
	}
	ids := p.ids()
	if len(ids) != n {
		t.Errorf("%d traces in the list, want %d", len(ids), n)
	}
	pts := evalJS[map[string]int](t, tctx, `window.__tracerSearch.points()`)
	if pts["ok"]+pts["error"] != n || pts["error"] != errorsSent {
		t.Errorf("points %v, want %d of which %d errors", pts, n, errorsSent)
	}
	rows := evalJS[int](t, tctx, `document.querySelectorAll('.results-body .results-row').length`)
	if rows == 0 || rows >= 100 {
		t.Errorf("%d rows in the DOM: want only those in view (virtual rows)", rows)
	}
	evalJS[bool](t, tctx, `(s => (s.scrollTop = s.scrollHeight, true))(document.querySelector('.results-scroll'))`)
	lastID, err := chromedp.Run(tctx, chromedp.Poll[string](fmt.Sprintf(`(r => r && r.dataset.traceId)(document.querySelector('.results-body [data-index="%d"]'))`, n-1),
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil || len(ids) != n || lastID != ids[n-1] {
		t.Errorf("scrolled to the end: last row %q (%v), want the list's last id", lastID, err)
	}
	logLoad := func(what string) {
		tm := evalJS[map[string]float64](t, tctx, `(h => ({mountedAt: h.mountedAt, renderedAt: h.renderedAt, fetchMs: h.fetchMs, ...h.phases,
			domContentLoaded: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd}))(window.__tracerSearch)`)
		t.Logf("1,000 results, %s: drawn %.0f ms after navigation start (DOMContentLoaded %.0f ms, mounted %.0f ms; the request %.0f ms, rows %.1f ms, list %.1f ms, plot %.1f ms)",
			what, tm["renderedAt"], tm["domContentLoaded"], tm["mountedAt"], tm["fetchMs"], tm["rows"], tm["list"], tm["plot"])
	}
	logLoad("first page load of a new Chromium")
	for i := range 3 {
		p.open(fmt.Sprintf("/search?service=ui-search-bulk&lookback=1h&limit=1000&x=%d", i))
		logLoad(fmt.Sprintf("page load %d", i+2))
	}
	tab.NoErrors(t)
}
