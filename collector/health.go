package collector

import (
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Status is the state a component reports to Health.
type Status string

// Statuses, from best to worst.
const (
	// StatusOK: the component works.
	StatusOK Status = "ok"
	// StatusStarting: the component is starting (replaying its WAL, say)
	// and does not take work yet: live, not ready.
	StatusStarting Status = "starting"
	// StatusStopping: the component is shutting down.
	StatusStopping Status = "stopping"
	// StatusRetrying: the component keeps failing and keeps retrying (storage
	// writes, say); nothing is lost, but nothing moves either.
	StatusRetrying Status = "retrying"
	// StatusFailed: the component is broken for good (a receiver stopped,
	// the WAL failed); only a restart helps.
	StatusFailed Status = "failed"
)

// ComponentHealth is one component's last report.
type ComponentHealth struct {
	Status Status    `json:"status"`
	Error  string    `json:"error,omitempty"`
	Since  time.Time `json:"since"`
}

// HealthReport is the state of every component that reported.
//
// Live is false when a component has failed (restart the process). Ready is
// false when any component is not StatusOK: failed, stopping, or retrying
// (storage writes failing: the collector still accepts spans into its WAL,
// but they are not reaching storage).
type HealthReport struct {
	Live       bool                       `json:"live"`
	Ready      bool                       `json:"ready"`
	Components map[string]ComponentHealth `json:"components"`
}

// Health gathers what components report about themselves, for the binary's
// /health (liveness) and /ready (readiness) routes. The zero value is not
// usable: call NewHealth. It is safe for concurrent use.
//
// Modelled on the OpenTelemetry Collector's component status reporting
// (component/componentstatus): components push their state; a fatal error
// also ends the process (Failed).
type Health struct {
	mu     sync.Mutex
	comps  map[string]ComponentHealth
	probes map[string]func() error
	failed chan struct{}
	fatal  error
}

// NewHealth returns a Health with no component.
func NewHealth() *Health {
	return &Health{comps: map[string]ComponentHealth{}, probes: map[string]func() error{}, failed: make(chan struct{})}
}

// Set records component's state; err says why it is not StatusOK. A
// component that has failed stays failed.
func (h *Health) Set(component string, st Status, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old, ok := h.comps[component]
	if ok && old.Status == StatusFailed {
		return
	}
	ch := ComponentHealth{Status: st, Since: time.Now()}
	if err != nil {
		ch.Error = err.Error()
	}
	if ok && old.Status == st && old.Error == ch.Error {
		ch.Since = old.Since
	}
	h.comps[component] = ch
}

// Fail records that component is broken for good and closes Failed: the
// process should stop (and exit non-zero).
func (h *Health) Fail(component string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.comps[component] = ComponentHealth{Status: StatusFailed, Error: errString(err), Since: time.Now()}
	if h.fatal == nil {
		h.fatal = err
		close(h.failed)
	}
}

func errString(err error) string {
	if err == nil {
		return "failed"
	}
	return err.Error()
}

// Probe registers check, called on every report: a non-nil error reports
// component as failed at that moment (a WAL whose fsync failed, say).
func (h *Health) Probe(component string, check func() error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.probes[component] = check
}

// Failed is closed when a component has failed for good.
func (h *Health) Failed() <-chan struct{} { return h.failed }

// Err returns the first error passed to Fail, or nil.
func (h *Health) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fatal
}

// Report returns every component's state.
func (h *Health) Report() HealthReport {
	h.mu.Lock()
	probes := make(map[string]func() error, len(h.probes))
	for k, v := range h.probes {
		probes[k] = v
	}
	h.mu.Unlock()
	for name, check := range probes {
		if err := check(); err != nil {
			h.Set(name, StatusFailed, err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := HealthReport{Live: true, Ready: true, Components: make(map[string]ComponentHealth, len(h.comps))}
	names := make([]string, 0, len(h.comps))
	for name := range h.comps {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ch := h.comps[name]
		r.Components[name] = ch
		if ch.Status == StatusFailed {
			r.Live = false
		}
		if ch.Status != StatusOK {
			r.Ready = false
		}
	}
	return r
}

// LiveHandler serves liveness: 200 while no component has failed, else
// 503; the body is the HealthReport in JSON.
func (h *Health) LiveHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r := h.Report()
		writeHealth(w, r, r.Live)
	})
}

// ReadyHandler serves readiness: 200 while every component is StatusOK,
// else 503; the body is the HealthReport in JSON.
func (h *Health) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r := h.Report()
		writeHealth(w, r, r.Ready)
	})
}

func writeHealth(w http.ResponseWriter, r HealthReport, ok bool) {
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	b, _ := json.Marshal(r) // plain strings and times: cannot fail
	w.Write(append(b, '\n'))
}
