package collector_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/collector/otlp"
	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// startLogged is startCollector with a logger writing to the returned
// buffer.
func startLogged(t testing.TB, cfg collector.Config, w storage.Writer) (*collector.Collector, *proctest.Buffer) {
	t.Helper()
	logs := &proctest.Buffer{}
	return startWith(t, cfg, w, slog.New(slog.NewTextHandler(logs, nil))), logs
}

// waitFor polls cond every 5ms until it holds, failing the test after a
// minute (a hang guard, not a timing assertion).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestSchemaErrorIsRetried: an error that names no span (a ClickHouse
// schema error, marked permanent by the old contract) drops nothing and
// commits nothing; health says storage is retrying; once the writer
// recovers everything arrives and the log says storage recovered.
func TestSchemaErrorIsRetried(t *testing.T) {
	store := memory.New()
	defer store.Close()
	var mu sync.Mutex
	broken, attempts := true, 0
	w := writerFunc(func(ctx context.Context, spans []storage.Span) error {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if broken {
			// The error ClickHouse gave for a schema mismatch, which the
			// backend used to mark permanent (and the pipeline then
			// dropped every span of the batch): it names no span.
			return errors.New("clickhouse [Append]: clickhouse: batch has 30 columns, want 31")
		}
		return store.WriteSpans(ctx, spans)
	})
	cfg := testConfig(t)
	c, logs := startLogged(t, cfg, w)
	var spans []spanSpec
	var traces [][]byte
	for i := range 16 {
		spans = append(spans, validSpan(i))
		traces = append(traces, validSpan(i).traceID)
	}
	exportGRPC(t, c.GRPCAddr(), spans[:8]...)
	exportGRPC(t, c.GRPCAddr(), spans[8:]...)

	waitFor(t, "several failed attempts", func() bool { mu.Lock(); defer mu.Unlock(); return attempts >= 4 })
	m := metricsOf(t, c)
	for name, want := range map[string]float64{
		`tracer_collector_spans_dropped_total{reason="rejected"}`: 0,
		"tracer_collector_spans_written_total":                    0,
		"tracer_collector_wal_committed_offset":                   0,
		"tracer_collector_storage_retrying":                       1,
	} {
		if got := m[name]; got != want {
			t.Errorf("while failing: %s = %v, want %v", name, got, want)
		}
	}
	if got := m["tracer_collector_write_failures_total"]; got < 3 {
		t.Errorf("while failing: write_failures_total = %v, want >= 3", got)
	}
	rep := c.Health().Report()
	if st := rep.Components["storage"]; st.Status != collector.StatusRetrying || !strings.Contains(st.Error, "columns") {
		t.Errorf("health of storage while failing: %+v, want retrying with the error", st)
	}
	if !rep.Live || rep.Ready {
		t.Errorf("while failing: live %v ready %v, want live and not ready", rep.Live, rep.Ready)
	}
	if code, body := serve(c.Health().ReadyHandler()); code != http.StatusServiceUnavailable || !strings.Contains(body, "retrying") {
		t.Errorf("readiness while failing: %d %s, want 503 saying retrying", code, body)
	}
	if code, _ := serve(c.Health().LiveHandler()); code != http.StatusOK {
		t.Errorf("liveness while failing: %d, want 200", code)
	}

	mu.Lock()
	broken = false
	mu.Unlock()
	// The sink counts the spans written before the pipeline, back from
	// the flush, says storage is ok again: wait for both.
	waitFor(t, "the spans written", func() bool {
		return metricsOf(t, c)["tracer_collector_spans_written_total"] == 16 && c.Health().Report().Ready
	})
	if rep := c.Health().Report(); !rep.Ready || rep.Components["storage"].Status != collector.StatusOK {
		t.Errorf("after recovery: %+v, want ready", rep)
	}
	if got := metricsOf(t, c)["tracer_collector_storage_retrying"]; got != 0 {
		t.Errorf("after recovery: storage_retrying = %v, want 0", got)
	}
	shutdown(t, c)
	if got := metricsOf(t, c)["tracer_collector_wal_committed_offset"]; got != 2 {
		t.Errorf("after the drain: wal_committed_offset = %v, want 2 (both requests)", got)
	}
	assertStored(t, storedSpans(t, store, traces...), spans)
	if got := len(logs.Lines("storage recovered")); got != 1 {
		t.Errorf("%d log lines say storage recovered, want 1:\n%s", got, logs)
	}
}

// TestWriteTimeout: a write that hangs is cancelled at storage.write_timeout
// and retried.
func TestWriteTimeout(t *testing.T) {
	store := memory.New()
	defer store.Close()
	var mu sync.Mutex
	calls := 0
	var hungErr error
	w := writerFunc(func(ctx context.Context, spans []storage.Span) error {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			<-ctx.Done() // a hung backend
			mu.Lock()
			hungErr = ctx.Err()
			mu.Unlock()
			return ctx.Err()
		}
		return store.WriteSpans(ctx, spans)
	})
	cfg := testConfig(t)
	cfg.Storage.WriteTimeout = 50 * time.Millisecond
	c := startCollector(t, cfg, w)
	exportGRPC(t, c.GRPCAddr(), validSpan(1), validSpan(2))
	waitFor(t, "the spans written", func() bool { return metricsOf(t, c)["tracer_collector_spans_written_total"] == 2 })
	shutdown(t, c)
	mu.Lock()
	defer mu.Unlock()
	if !errors.Is(hungErr, context.DeadlineExceeded) {
		t.Errorf("the hung write ended with %v, want its deadline", hungErr)
	}
	assertStored(t, storedSpans(t, store, validSpan(1).traceID, validSpan(2).traceID), []spanSpec{validSpan(1), validSpan(2)})
}

// TestShutdownDeadlineInsideWrite: at Shutdown's deadline the write in
// progress has its context cancelled, and a writer that ignores the
// cancellation does not hold Shutdown past it for long.
func TestShutdownDeadlineInsideWrite(t *testing.T) {
	for _, tc := range []struct {
		name        string
		honoursCtx  bool
		wantInError string
	}{
		{"writer honours ctx", true, "deadline exceeded"},
		{"writer ignores ctx", false, "ignored the cancellation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release) // lets the abandoned write end before goleak looks
			entered := make(chan struct{}, 1)
			w := writerFunc(func(ctx context.Context, spans []storage.Span) error {
				select {
				case entered <- struct{}{}:
				default:
				}
				if tc.honoursCtx {
					<-ctx.Done()
					return ctx.Err()
				}
				<-release
				return errors.New("released")
			})
			cfg := testConfig(t)
			cfg.Storage.WriteTimeout = time.Hour // only Shutdown's deadline ends the write
			c := startCollector(t, cfg, w)
			exportGRPC(t, c.GRPCAddr(), validSpan(1))
			<-entered
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			err := c.Shutdown(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.wantInError) {
				t.Errorf("Shutdown: %v, want an error saying %q", err, tc.wantInError)
			}
		})
	}
}

// TestBatchBounds: a batch never takes a record that would carry it past
// batch.max_bytes, and no write carries more than batch.size spans.
func TestBatchBounds(t *testing.T) {
	const perRequest = 10
	reqLen := len(request(t, "svc", batchOf(0, perRequest)...))
	for _, tc := range []struct {
		name      string
		size      int
		maxBytes  int64
		wantSpans int // the most spans one write may carry
	}{
		{"by bytes", 1 << 20, int64(reqLen)*2 + int64(reqLen)/2, 2 * perRequest},
		{"by spans", 15, 1 << 30, 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := memory.New()
			defer store.Close()
			sink := newStallingWriter(store)
			var mu sync.Mutex
			entered := make(chan struct{}, 1)
			var sizes []int
			w := writerFunc(func(ctx context.Context, spans []storage.Span) error {
				mu.Lock()
				sizes = append(sizes, len(spans))
				mu.Unlock()
				select {
				case entered <- struct{}{}:
				default:
				}
				return sink.WriteSpans(ctx, spans)
			})
			cfg := testConfig(t)
			cfg.Batch.Size = tc.size
			cfg.Batch.MaxBytes = tc.maxBytes
			c := startCollector(t, cfg, w)
			var all []spanSpec
			var traces [][]byte
			for i := range 5 {
				spans := batchOf(i*perRequest, perRequest)
				exportGRPC(t, c.GRPCAddr(), spans...)
				if i == 0 {
					<-entered // the first write holds the pipeline: the others pile up
				}
				all = append(all, spans...)
				for _, s := range spans {
					traces = append(traces, s.traceID)
				}
			}
			sink.release()
			shutdown(t, c)
			assertStored(t, storedSpans(t, store, traces...), all)
			mu.Lock()
			defer mu.Unlock()
			for _, n := range sizes {
				if n > tc.wantSpans {
					t.Errorf("a write carried %d spans, want at most %d (writes: %v)", n, tc.wantSpans, sizes)
				}
			}
		})
	}
}

// batchOf returns n valid spans numbered from first.
func batchOf(first, n int) []spanSpec {
	var out []spanSpec
	for i := range n {
		out = append(out, validSpan(first+i))
	}
	return out
}

// TestReplayAndDrainLogs: a start says how much the WAL replays, a
// shutdown what it drained.
func TestReplayAndDrainLogs(t *testing.T) {
	cfg := testConfig(t)
	down := writerFunc(func(ctx context.Context, spans []storage.Span) error { return errors.New("storage is down") })
	c := startCollector(t, cfg, down)
	exportGRPC(t, c.GRPCAddr(), validSpan(1))
	exportGRPC(t, c.GRPCAddr(), validSpan(2), validSpan(3))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	c.Shutdown(ctx)
	cancel()

	store := memory.New()
	defer store.Close()
	c2, logs := startLogged(t, cfg, store)
	waitFor(t, "the replay", func() bool { return len(logs.Lines("wal replayed")) > 0 })
	shutdown(t, c2)
	if l := logs.Lines("wal replayed"); len(l) != 1 || !strings.Contains(l[0], "records=2") {
		t.Errorf("replay log: %q, want one line with records=2", l)
	}
	if l := logs.Lines("pipeline drained"); len(l) != 1 || !strings.Contains(l[0], "complete=true") {
		t.Errorf("drain log: %q, want one complete drain", l)
	}
}

// TestDefaultLimits: the collector's default limits are otlp's, their one
// owner.
func TestDefaultLimits(t *testing.T) {
	got, want := collector.NewDefaultConfig().Limits, otlp.DefaultLimits()
	if got.MaxSpansPerRequest != want.MaxSpans || got.MaxAttributes != want.MaxAttributes ||
		got.MaxAttributeValueLen != want.MaxAttributeValueLen || got.MaxNameLen != want.MaxNameLen {
		t.Errorf("default limits %+v, want otlp.DefaultLimits %+v", got, want)
	}
}
