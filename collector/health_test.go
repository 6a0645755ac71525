package collector_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tracerdev/tracer/collector"
)

// TestHealthStarting: a component that is starting keeps the process live
// but not ready; once it reports ok, ready again.
func TestHealthStarting(t *testing.T) {
	h := collector.NewHealth()
	code := func(hd http.Handler) int {
		rec := httptest.NewRecorder()
		hd.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return rec.Code
	}
	h.Set("collector", collector.StatusStarting, nil)
	if got := code(h.LiveHandler()); got != http.StatusOK {
		t.Errorf("live while starting: %d, want 200", got)
	}
	if got := code(h.ReadyHandler()); got != http.StatusServiceUnavailable {
		t.Errorf("ready while starting: %d, want 503", got)
	}
	if r := h.Report(); r.Components["collector"].Status != collector.StatusStarting {
		t.Errorf("report: %+v", r.Components)
	}
	h.Set("collector", collector.StatusOK, nil)
	if got := code(h.ReadyHandler()); got != http.StatusOK {
		t.Errorf("ready once started: %d, want 200", got)
	}
}
