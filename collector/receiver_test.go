package collector

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tracerdev/tracer/collector/otlp"
	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/storage/backend"
	"github.com/tracerdev/tracer/storage/memory"
)

// counterValue reads a counter or gauge.
func counterValue(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// internalCollector starts a collector on loopback ports with a memory
// store, logging to the returned buffer.
func internalCollector(t *testing.T, edit func(*Config)) (*Collector, *proctest.Buffer) {
	t.Helper()
	cfg := NewDefaultConfig()
	cfg.Receivers.GRPC.Endpoint = "127.0.0.1:0"
	cfg.Receivers.HTTP.Endpoint = "127.0.0.1:0"
	cfg.Telemetry.Endpoint = ""
	cfg.WAL.Dir = t.TempDir()
	cfg.WAL.SegmentSize = 1 << 20
	cfg.WAL.MaxBytes = 64 << 20
	cfg.Storage.Type = backend.TypeMemory
	cfg.Batch.Timeout = 10 * time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	store := memory.New()
	logs := &proctest.Buffer{}
	c, err := New(cfg, store, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c.Shutdown(ctx)
		store.Close()
	})
	return c, logs
}

// postTo sends body to the HTTP receiver's handler and returns the status.
func postTo(c *Collector, contentType string, body []byte) int {
	req := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	c.recv().handleTraces(rec, req)
	return rec.Code
}

// TestReceiverStopFails: a receiver whose server stops (its listener
// failed) fails its component: liveness goes 503 and Failed is closed, which
// makes the binary exit non-zero.
func TestReceiverStopFails(t *testing.T) {
	for i, name := range []string{"receiver/grpc", "receiver/http"} {
		t.Run(name, func(t *testing.T) {
			c, logs := internalCollector(t, nil)
			if r := c.Health().Report(); !r.Live || !r.Ready {
				t.Fatalf("before: %+v, want live and ready", r)
			}
			c.recv().lns[i].Close()
			select {
			case <-c.Health().Failed():
			case <-time.After(time.Minute):
				t.Fatal("Failed not closed a minute after the listener failed")
			}
			r := c.Health().Report()
			if r.Live || r.Components[name].Status != StatusFailed {
				t.Errorf("after: %+v, want not live, %s failed", r, name)
			}
			if err := c.Health().Err(); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("Health.Err() = %v, want it to name %s", err, name)
			}
			if !strings.Contains(logs.String(), "receiver stopped") {
				t.Errorf("no log line says the receiver stopped:\n%s", logs)
			}
		})
	}
}

// TestScannerPanic: a scanner panic refuses the request, is logged once
// with its stack and counted apart from malformed input.
func TestScannerPanic(t *testing.T) {
	c, logs := internalCollector(t, nil)
	c.recv().scanFn = func([]byte, otlp.Limits) (otlp.ScanResult, error) { panic("scanner bug") }
	for range 3 {
		if got := postTo(c, ctProtobuf, []byte{0x0a, 0x00}); got != http.StatusBadRequest {
			t.Errorf("status %d, want 400", got)
		}
	}
	m := c.set.Metrics
	if got := counterValue(t, m.scannerPanics); got != 3 {
		t.Errorf("scanner_panics_total = %v, want 3", got)
	}
	if got := counterValue(t, m.requestsRejected.WithLabelValues(transportHTTP, reasonScannerPanic)); got != 3 {
		t.Errorf("requests_rejected_total{scanner_panic} = %v, want 3", got)
	}
	if got := counterValue(t, m.requestsRejected.WithLabelValues(transportHTTP, reasonMalformed)); got != 0 {
		t.Errorf("requests_rejected_total{malformed} = %v, want 0", got)
	}
	out := logs.String()
	if n := strings.Count(out, "scanner panicked"); n != 1 {
		t.Errorf("%d log lines about the panic, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "receiver.go") || !strings.Contains(out, "goroutine") {
		t.Errorf("the panic's log line has no stack:\n%s", out)
	}
}

// TestJSONInflightCost: an OTLP/JSON request is counted against the
// in-flight cap at a multiple of its size (its decoding cost), a protobuf
// request of the same size at its size.
func TestJSONInflightCost(t *testing.T) {
	const limit = 256 << 10
	c, _ := internalCollector(t, func(cfg *Config) {
		cfg.Limits.MaxRequestBytes = limit
		cfg.Limits.MaxInflightBytes = limit
	})
	// A JSON request with one valid span, padded with an attribute to 8 KiB,
	// and a protobuf request of the same size.
	pad := strings.Repeat("x", 8<<10)
	jsonBody := []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"op","startTimeUnixNano":"10","endTimeUnixNano":"20","attributes":[{"key":"pad","value":{"stringValue":"` + pad + `"}}]}]}]}]}`)
	pb, err := otlp.FromJSON(jsonBody)
	if err != nil {
		t.Fatal(err)
	}
	// Leave free more than the JSON body and less than the body plus its
	// decoding cost.
	free := int64(len(jsonBody)) * 2
	held := int64(limit) - free
	if !c.recv().acquire(held) {
		t.Fatal("could not hold the budget")
	}
	defer c.recv().release(held)
	if got := postTo(c, ctProtobuf, pb); got != http.StatusOK {
		t.Errorf("protobuf of %d bytes with %d free: status %d, want 200", len(pb), free, got)
	}
	if got := postTo(c, ctJSON, jsonBody); got != http.StatusServiceUnavailable {
		t.Errorf("JSON of %d bytes with %d free: status %d, want 503 (it costs %d more)", len(jsonBody), free, got, otlp.JSONCost(len(jsonBody)))
	}
	c.recv().release(held)
	defer c.recv().acquire(held) // balance the deferred release
	if got := postTo(c, ctJSON, jsonBody); got != http.StatusOK {
		t.Errorf("JSON with the budget free: status %d, want 200", got)
	}
}

// TestHealth: components' reports make liveness and readiness.
func TestHealth(t *testing.T) {
	probeErr := errors.New("fsync failed")
	for _, tc := range []struct {
		name              string
		report            func(h *Health)
		wantLive, wantRdy bool
		wantFailed        bool
	}{
		{"nothing reported", func(*Health) {}, true, true, false},
		{"all ok", func(h *Health) { h.Set("a", StatusOK, nil); h.Set("b", StatusOK, nil) }, true, true, false},
		{"retrying", func(h *Health) { h.Set("storage", StatusRetrying, errors.New("down")) }, true, false, false},
		{"stopping", func(h *Health) { h.Set("receiver/grpc", StatusStopping, nil) }, true, false, false},
		{"failed", func(h *Health) { h.Fail("receiver/http", errors.New("accept: closed")) }, false, false, true},
		{"failed stays failed", func(h *Health) { h.Fail("x", nil); h.Set("x", StatusOK, nil) }, false, false, true},
		{"probe fails", func(h *Health) { h.Set("wal", StatusOK, nil); h.Probe("wal", func() error { return probeErr }) }, false, false, false},
		{"probe ok", func(h *Health) { h.Probe("wal", func() error { return nil }) }, true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHealth()
			tc.report(h)
			r := h.Report()
			if r.Live != tc.wantLive || r.Ready != tc.wantRdy {
				t.Errorf("live %v ready %v, want %v %v (%+v)", r.Live, r.Ready, tc.wantLive, tc.wantRdy, r)
			}
			select {
			case <-h.Failed():
				if !tc.wantFailed {
					t.Error("Failed closed")
				}
			default:
				if tc.wantFailed {
					t.Error("Failed not closed")
				}
			}
			for handler, want := range map[string]bool{"live": tc.wantLive, "ready": tc.wantRdy} {
				hh := h.LiveHandler()
				if handler == "ready" {
					hh = h.ReadyHandler()
				}
				rec := httptest.NewRecorder()
				hh.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
				if got := rec.Code == http.StatusOK; got != want {
					t.Errorf("%s: status %d, want ok=%v", handler, rec.Code, want)
				}
			}
		})
	}
}

// TestSharedRegisterer: the collector's metrics go on the registerer it is
// given, next to the process's others, and two collectors cannot register
// on one.
func TestSharedRegisterer(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := NewDefaultConfig()
	cfg.WAL.Dir = t.TempDir()
	cfg.Storage.Type = backend.TypeMemory
	store := memory.New()
	defer store.Close()
	c, err := New(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)), WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	if c.Gatherer() != prometheus.Gatherer(reg) {
		t.Error("Gatherer is not the registry given")
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		found = found || mf.GetName() == "tracer_collector_spans_written_total"
	}
	if !found {
		t.Error("spans_written_total is not on the given registry")
	}
	if _, err := New(cfg, store, nil, WithRegisterer(reg)); err == nil {
		t.Error("a second collector registered the same metrics on one registry")
	}
}
