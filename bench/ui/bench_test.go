//go:build uibench

package uibench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"

	"github.com/tracerdev/tracer/internal/uitest"
)

// envInt reads a positive integer from the environment, else def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// measurement is what the page reports for one opening of a trace.
type measurement struct {
	// Times in ms since the navigation started.
	ResponseStart float64 `json:"responseStart"`
	ResponseEnd   float64 `json:"responseEnd"`
	Model         float64 `json:"model"`
	Interactive   float64 `json:"interactive"`
	Bytes         float64 `json:"bytes"`
}

// frames is what the page reports for a scripted scroll or zoom: the
// intervals between animation frames and the timeline's own work per frame
// (script, style and layout: Timeline's MEASURE_DRAW).
type frames struct {
	Intervals []float64 `json:"intervals"`
	Draws     []float64 `json:"draws"`
}

const measureJS = `(() => {
  const r = performance.getEntriesByType('resource').find(e => e.name.includes('/api/tracer/traces/'));
  const m = performance.getEntriesByName('tracer:trace-interactive')[0];
  const model = performance.getEntriesByName('tracer:trace-model')[0];
  return {responseStart: r.responseStart, responseEnd: r.responseEnd, model: model.startTime, interactive: m.startTime, bytes: r.encodedBodySize || r.transferSize};
})()`

// framesJS runs %d frames of %s (a statement run once per frame with k, the
// frame's number, and b, the timeline's scroll box).
const framesJS = `(async () => {
  const b = document.querySelector('.tl-body');
  performance.clearMeasures('tracer:timeline-draw');
  const intervals = [];
  let last = performance.now();
  for (let k = 0; k < %d; k++) {
    await new Promise(r => requestAnimationFrame(r));
    const now = performance.now();
    if (k > 0) intervals.push(now - last);
    last = now;
    %s;
  }
  await new Promise(r => requestAnimationFrame(r));
  return {intervals, draws: performance.getEntriesByName('tracer:timeline-draw').map(e => e.duration)};
})()`

const (
	scrollStep = `b.scrollTop += 240`
	// Zoom in eight steps, out eight, scrolling a little, as a mouse-wheel zoom does.
	zoomStep = `b.dispatchEvent(new KeyboardEvent('keydown', {key: (k % 16) < 8 ? '+' : '-', bubbles: true})); b.scrollTop += 24`
)

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// TestUIBench sends a 10,000- and a 100,000-span trace to an all-in-one,
// opens each in headless Chromium RUNS times and prints time to
// interactive after the data arrived, and the frame times of scrolling and
// zooming the timeline.
func TestUIBench(t *testing.T) {
	runs := envInt("RUNS", 5)
	frameCount := envInt("FRAMES", 300)
	uitest.RequireBuilt(t)
	sizes := []int{10_000, 100_000}
	base, ids := startLarge(t, sizes)

	tab := uitest.NewTab(t, 1500, 900)
	ctx, cancel := context.WithTimeout(tab.Ctx, 20*time.Minute)
	defer cancel()
	// The timeline records its frames' work (MEASURE_DRAW) from here on.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/search"),
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem('tracer.perf', '1')`)); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\nUI trace view, headless Chromium 1500x900, %d runs per trace (medians; frames: all runs pooled)\n", runs)
	fmt.Fprintf(&out, "%-8s %6s %8s %9s %12s %11s %8s   %-30s %-30s\n", "spans", "MB", "data ms", "model ms", "interact ms", "after data", "budget", "scroll draw p50/p95/max ms", "zoom draw p50/p95/max ms")
	for _, n := range sizes {
		var fetch, model, tti, after, mb []float64
		var scroll, zoom frames
		var bScroll, bZoom browserFrames
		for run := range runs {
			err := chromedp.Do(ctx, chromedp.Navigate(base+"/trace/"+ids[n]),
				chromedp.Poll[chromedp.Void](`performance.getEntriesByName('tracer:trace-interactive').length > 0`, chromedp.WithPollingTimeout(2*time.Minute)))
			if err != nil {
				t.Fatalf("open %d: %v", n, err)
			}
			m, err := chromedp.Run(ctx, chromedp.Evaluate[measurement](measureJS))
			if err != nil {
				t.Fatalf("measure %d: %v", n, err)
			}
			fetch = append(fetch, m.ResponseEnd)
			tti = append(tti, m.Interactive)
			model = append(model, m.Model-m.ResponseEnd)
			after = append(after, m.Interactive-m.ResponseEnd)
			mb = append(mb, m.Bytes/1e6)
			for _, f := range []struct {
				step    string
				into    *frames
				name    string
				browser *browserFrames
			}{{scrollStep, &scroll, "scroll", &bScroll}, {zoomStep, &zoom, "zoom", &bZoom}} {
				profile := os.Getenv("PROFILE") != "" && run == 0
				if profile {
					_, _ = chromedp.Call(ctx, profiler.Enable, cdp.Empty{})
					_, _ = chromedp.Call(ctx, profiler.Start, cdp.Empty{})
				}
				var fr frames
				bf := traceFrames(t, ctx, func() {
					var err error
					fr, err = chromedp.Run(ctx, chromedp.Evaluate[frames](fmt.Sprintf(framesJS, frameCount, f.step), chromedp.EvalAwaitPromise))
					if err != nil {
						t.Fatalf("frames %d: %v", n, err)
					}
				})
				f.browser.Draws = append(f.browser.Draws, bf.Draws...)
				f.browser.Tasks = append(f.browser.Tasks, bf.Tasks...)
				if profile {
					writeProfile(t, ctx, filepath.Join(os.Getenv("PROFILE"), fmt.Sprintf("%s-%d.cpuprofile", f.name, n)))
				}
				f.into.Intervals = append(f.into.Intervals, fr.Intervals...)
				f.into.Draws = append(f.into.Draws, fr.Draws...)
			}
		}
		budget := 1000.0
		if n > 10_000 {
			budget = 3000
		}
		verdict := "ok"
		if pct(after, 0.5) > budget {
			verdict = "OVER"
		}
		fmt.Fprintf(&out, "%-8d %6.1f %8.0f %9.0f %12.0f %11.0f %5.0f %s   %-30s %-30s\n", n, pct(mb, 0.5), pct(fetch, 0.5), pct(model, 0.5), pct(tti, 0.5), pct(after, 0.5), budget, verdict,
			fmt.Sprintf("%.2f / %.2f / %.2f (n=%d)", pct(scroll.Draws, 0.5), pct(scroll.Draws, 0.95), pct(scroll.Draws, 1), len(scroll.Draws)),
			fmt.Sprintf("%.2f / %.2f / %.2f (n=%d)", pct(zoom.Draws, 0.5), pct(zoom.Draws, 0.95), pct(zoom.Draws, 1), len(zoom.Draws)))
		fmt.Fprintf(&out, "%-8s frame intervals (rAF) p50/p95 ms: scroll %.1f / %.1f, zoom %.1f / %.1f; frames over 20 ms: scroll %d of %d, zoom %d of %d\n", "",
			pct(scroll.Intervals, 0.5), pct(scroll.Intervals, 0.95), pct(zoom.Intervals, 0.5), pct(zoom.Intervals, 0.95),
			over(scroll.Intervals, 20), len(scroll.Intervals), over(zoom.Intervals, 20), len(zoom.Intervals))
		fmt.Fprintf(&out, "%-8s Chromium's trace: DrawFrame intervals p50/p95 ms: scroll %.1f / %.1f (n=%d), zoom %.1f / %.1f (n=%d); main-thread tasks p95/max ms: scroll %.1f / %.1f, zoom %.1f / %.1f, over 16 ms: scroll %d of %d, zoom %d of %d\n", "",
			pct(bScroll.Draws, 0.5), pct(bScroll.Draws, 0.95), len(bScroll.Draws), pct(bZoom.Draws, 0.5), pct(bZoom.Draws, 0.95), len(bZoom.Draws),
			pct(bScroll.Tasks, 0.95), pct(bScroll.Tasks, 1), pct(bZoom.Tasks, 0.95), pct(bZoom.Tasks, 1),
			over(bScroll.Tasks, 16), len(bScroll.Tasks), over(bZoom.Tasks, 16), len(bZoom.Tasks))
	}
	fmt.Print(out.String())
	tab.NoErrors(t)
}

func over(v []float64, limit float64) int {
	n := 0
	for _, x := range v {
		if x > limit {
			n++
		}
	}
	return n
}

// awaitSpans waits until the API serves trace id with n spans.
func awaitSpans(t *testing.T, base, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/api/tracer/traces/" + id)
		if err == nil {
			var tr struct {
				SpanCount int `json:"spanCount"`
			}
			err = json.NewDecoder(resp.Body).Decode(&tr)
			resp.Body.Close()
			if err == nil && tr.SpanCount >= n {
				return
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("trace %s: %d spans not served within 3 minutes", id, n)
}

// writeProfile stops the JavaScript profiler and writes its profile (open it
// in Chromium's DevTools, Performance panel) to path.
func writeProfile(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	res, err := chromedp.Call(ctx, profiler.Stop, cdp.Empty{})
	if err != nil {
		t.Fatalf("stop the profiler: %v", err)
	}
	b, err := json.Marshal(res.Profile)
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	t.Logf("profile: %s", path)
}
