package uitest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracerdev/tracer/ui"
)

// TestShellLoads opens the embedded UI's search page in Chromium: the shell
// renders under a base path, deep links reach the client-side router, and
// no page error is logged.
func TestShellLoads(t *testing.T) {
	tab := NewTab(t, 1280, 800)
	h, _ := ui.Handler("/base")
	srv := httptest.NewServer(http.StripPrefix("/base", h))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(tab.Ctx, time.Minute)
	defer cancel()
	for _, path := range []string{"/search", "/trace/0123456789abcdef0123456789abcdef", "/dependencies"} {
		err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/base"+path), chromedp.WaitVisible(".topbar .brand"))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		title, err := chromedp.Run(ctx, chromedp.Title())
		if err != nil || !strings.HasSuffix(title, "Tracer") {
			t.Errorf("%s: title %q, %v", path, title, err)
		}
	}
	tab.Screenshot(t, "shell")
	tab.NoErrors(t)
}
