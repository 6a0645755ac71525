//go:build uibench

package uibench

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// browserFrames is what Chromium's own performance trace says about the
// frames while run ran: the intervals between the compositor's DrawFrame
// events, and the durations of the renderer main thread's tasks (RunTask),
// in milliseconds.
type browserFrames struct {
	Draws []float64
	Tasks []float64
}

type traceEvent struct {
	Name string  `json:"name"`
	Ph   string  `json:"ph"`
	Ts   float64 `json:"ts"`
	Dur  float64 `json:"dur"`
	Pid  int     `json:"pid"`
	Tid  int     `json:"tid"`
}

// traceFrames records Chromium's trace (the DevTools timeline categories)
// around run.
func traceFrames(t *testing.T, ctx context.Context, run func()) browserFrames {
	t.Helper()
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu     sync.Mutex
		values [][]byte
		once   sync.Once
	)
	done := make(chan struct{})
	err := chromedp.Listen(lctx, func(ev any) {
		switch ev := ev.(type) {
		case *tracing.EventDataCollected:
			mu.Lock()
			for _, v := range ev.Value {
				values = append(values, []byte(v))
			}
			mu.Unlock()
		case *tracing.EventTracingComplete:
			once.Do(func() { close(done) })
		}
	})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	_, err = chromedp.Call(ctx, tracing.Start, tracing.StartParams{TraceConfig: &tracing.TraceConfig{
		IncludedCategories: []string{"devtools.timeline", "disabled-by-default-devtools.timeline", "disabled-by-default-devtools.timeline.frame", "toplevel"},
	}})
	if err != nil {
		t.Fatalf("start tracing: %v", err)
	}
	run()
	if _, err := chromedp.Call(ctx, tracing.End, cdp.Empty{}); err != nil {
		t.Fatalf("end tracing: %v", err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the trace did not complete within a minute")
	}
	mu.Lock()
	defer mu.Unlock()
	events := make([]traceEvent, 0, len(values))
	main := map[[2]int]bool{} // pid, tid of renderer main threads
	for _, v := range values {
		var e traceEvent
		if json.Unmarshal(v, &e) != nil {
			continue
		}
		// Style and layout run on the renderer's main thread only.
		if e.Name == "UpdateLayoutTree" || e.Name == "Layout" {
			main[[2]int{e.Pid, e.Tid}] = true
		}
		events = append(events, e)
	}
	var f browserFrames
	var draws []float64
	for _, e := range events {
		switch {
		case e.Name == "DrawFrame":
			draws = append(draws, e.Ts)
		case e.Name == "RunTask" && e.Ph == "X" && main[[2]int{e.Pid, e.Tid}]:
			f.Tasks = append(f.Tasks, e.Dur/1000)
		}
	}
	slices.Sort(draws)
	for i := 1; i < len(draws); i++ {
		f.Draws = append(f.Draws, (draws[i]-draws[i-1])/1000)
	}
	return f
}
