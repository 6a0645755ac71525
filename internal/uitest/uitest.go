// Package uitest drives the web UI in a real headless Chromium (Debian's
// chromium, through chromedp) for the end-to-end tests.
//
// The tests need the UI build embedded in the binary (make ui, which `make
// test` runs first) and Chromium. Without either they skip with a message
// saying how to get it, unless TRACER_REQUIRE_UI=1 (set by `make test` and
// CI), when they fail.
package uitest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tracerdev/tracer/ui"
)

// RequireEnv makes missing UI prerequisites a failure instead of a skip.
const RequireEnv = "TRACER_REQUIRE_UI"

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1 requires the UI tests to run)", msg, RequireEnv)
	}
	t.Skip(msg + "; `make test` installs and builds what these tests need")
}

// RequireBuilt skips (or fails) t unless the UI build is in ui/dist, and so
// in a binary built now.
func RequireBuilt(t testing.TB) {
	t.Helper()
	if _, ok := ui.Handler(""); !ok {
		missing(t, "the web UI is not built (run `make ui`: npm ci && npm run build in ui/)")
	}
}

// ChromiumPath is the Chromium binary: $CHROMIUM, else chromium (Debian's
// package) or chromium-browser on PATH, else "".
func ChromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Tab is a headless Chromium tab and what its pages logged.
type Tab struct {
	// Ctx runs chromedp actions in the tab: chromedp.Run(tab.Ctx, ...).
	Ctx context.Context

	mu     sync.Mutex
	errors []string
}

// Errors returns the uncaught exceptions and console.error messages of the
// tab's pages so far.
func (tb *Tab) Errors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.errors...)
}

// NoErrors fails t if a page of the tab threw or logged an error.
func (tb *Tab) NoErrors(t testing.TB) {
	t.Helper()
	for _, e := range tb.Errors() {
		t.Errorf("the page logged an error: %s", e)
	}
}

// NewTab starts a headless Chromium (a window of width x height) for t,
// stopped when t ends, and returns its tab. It skips or fails (see
// RequireEnv) without Chromium or the UI build.
func NewTab(t testing.TB, width, height int) *Tab {
	t.Helper()
	RequireBuilt(t)
	path := ChromiumPath()
	if path == "" {
		missing(t, "Chromium is not installed (apt-get install chromium, or set CHROMIUM)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-dev-shm-usage", true),
		// This machine's network is closed: no background connections.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	tab := &Tab{Ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *cdpruntime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			tab.add(msg)
		case *cdpruntime.EventConsoleAPICalled:
			if ev.Type == cdpruntime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, strings.Trim(string(a.Value), `"`))
				}
				tab.add(strings.Join(parts, " "))
			}
		}
	})
	if err == nil {
		// Start the browser now, so that a broken installation fails here.
		// (The context of the first action owns the browser: no timeout.)
		err = chromedp.Do(ctx)
	}
	if err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	return tab
}

func (tb *Tab) add(msg string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.errors = append(tb.errors, msg)
}

// ScreenshotDir is where screenshots are kept: build/screenshots at the
// repository's root (an artifact of the test run; ignored by git).
func ScreenshotDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "build", "screenshots")
}

// Screenshot saves the tab's viewport as ScreenshotDir()/name.png.
func (tb *Tab) Screenshot(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.Ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := ScreenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", p)
}
