package clickhouse_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/clickhouse"
	"github.com/tracerdev/tracer/storage/memory"
)

// edgeSpan is a span of the dependencies tests.
func edgeSpan(trace, span, parent byte, svc string, start time.Time, status storage.StatusCode) storage.Span {
	sp := storage.Span{
		TraceID: storage.TraceID{0xed, trace}, SpanID: storage.SpanID{0xed, span},
		Name: "op", Kind: storage.KindServer, Service: svc,
		StartTime: start.UnixNano(), EndTime: start.Add(time.Millisecond).UnixNano(), StatusCode: status,
	}
	if parent != 0 {
		sp.ParentSpanID = storage.SpanID{0xed, parent}
	}
	return sp
}

// The precomputed dependencies (the job's tracer_edges) give exactly the
// live answer, which the memory store computes as the contract says:
// before the job ran, after it, and after a late span made a computed
// minute stale. The windows cut minutes, hold parents a day before the
// window and more than an hour before their child (looked up by trace id),
// parents in the window's last minute after their child's minute (clock
// skew), parents after the window, same-service edges and errors.
func TestDependenciesPrecomputed(t *testing.T) {
	s := newStore(t, func(c *clickhouse.Config) { c.DependencyRefresh = 0 })
	oracle := memory.New()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m := time.Now().Add(-3 * time.Hour).Truncate(time.Minute) // a minute boundary
	spans := []storage.Span{
		// trace 1: a -> b -> c over three minutes, an error.
		edgeSpan(1, 1, 0, "a", m.Add(10*time.Second), storage.StatusOK),
		edgeSpan(1, 2, 1, "b", m.Add(70*time.Second), storage.StatusError),
		edgeSpan(1, 3, 2, "c", m.Add(130*time.Second), storage.StatusUnset),
		edgeSpan(1, 4, 2, "b", m.Add(131*time.Second), storage.StatusUnset), // same service: not an edge
		// trace 2: a parent 90 minutes before its child (beyond the join's
		// hour), and one 23 hours before.
		edgeSpan(2, 1, 0, "d", m.Add(-90*time.Minute), storage.StatusUnset),
		edgeSpan(2, 2, 1, "e", m.Add(5*time.Second), storage.StatusUnset),
		edgeSpan(2, 3, 0, "f", m.Add(-23*time.Hour), storage.StatusUnset),
		edgeSpan(2, 4, 3, "e", m.Add(65*time.Second), storage.StatusError),
		// trace 3: a parent that started 65 s after its child (skew).
		edgeSpan(3, 1, 0, "g", m.Add(185*time.Second), storage.StatusUnset),
		edgeSpan(3, 2, 1, "h", m.Add(120*time.Second), storage.StatusUnset),
		// trace 4: a child whose parent is not stored.
		edgeSpan(4, 2, 1, "i", m.Add(30*time.Second), storage.StatusUnset),
	}
	if err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	if err := oracle.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	type window struct {
		end      time.Time
		lookback time.Duration
	}
	var windows []window
	for _, end := range []time.Duration{-time.Second, 59 * time.Second, 60 * time.Second, 125 * time.Second,
		180 * time.Second, 184 * time.Second, 186 * time.Second, 190 * time.Second, 10 * time.Minute} {
		for _, lookback := range []time.Duration{30 * time.Second, 2 * time.Minute, 150 * time.Second, time.Hour, 30 * time.Hour} {
			windows = append(windows, window{m.Add(end), lookback})
		}
	}
	check := func(t *testing.T) {
		t.Helper()
		for _, w := range windows {
			got, err := s.Dependencies(ctx, w.end, w.lookback)
			if err != nil {
				t.Fatal(err)
			}
			want, err := oracle.Dependencies(ctx, w.end, w.lookback)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("Dependencies(m%+v, %s) = %v, want %v", w.end.Sub(m), w.lookback, got, want)
			}
		}
	}
	t.Run("live", check)
	refresh := func(t *testing.T, want int) {
		t.Helper()
		nextSecond(t, s)
		if err := s.RefreshDependencies(ctx, 0); err != nil {
			t.Fatal(err)
		}
		fresh, err := clickhouse.FreshMinutes(s, ctx, m.Add(-24*time.Hour).Unix(), m.Add(time.Hour).Unix())
		if err != nil {
			t.Fatal(err)
		}
		if len(fresh) != want {
			t.Fatalf("%d minutes precomputed, want %d: %v", len(fresh), want, fresh)
		}
	}
	// The minutes of every span's start (d-1 and f-1 have minutes of
	// their own).
	refresh(t, 6)
	t.Run("precomputed", check)
	// A late span in a computed minute: that minute is live again until
	// the job computes it again.
	late := []storage.Span{edgeSpan(1, 5, 1, "j", m.Add(75*time.Second), storage.StatusError)}
	if err := s.WriteSpans(ctx, late); err != nil {
		t.Fatal(err)
	}
	if err := oracle.WriteSpans(ctx, late); err != nil {
		t.Fatal(err)
	}
	fresh, err := clickhouse.FreshMinutes(s, ctx, m.Add(-24*time.Hour).Unix(), m.Add(time.Hour).Unix())
	if err != nil || len(fresh) != 5 {
		t.Fatalf("after a late span: %d minutes precomputed (%v), want 5", len(fresh), err)
	}
	t.Run("late span", check)
	refresh(t, 6)
	t.Run("recomputed", check)
}

// nextSecond waits until the server's clock has moved past the last
// write by more than clickhouse.ClockMargin: the job stamps what it
// computes with the server's time in seconds less the margin, and counts
// a minute written since as stale.
func nextSecond(t *testing.T, s *clickhouse.Store) {
	t.Helper()
	var start time.Time
	if err := clickhouse.QueryRow(s, context.Background(), "SELECT now()").Scan(&start); err != nil {
		t.Fatal(err)
	}
	for {
		var now time.Time
		if err := clickhouse.QueryRow(s, context.Background(), "SELECT now()").Scan(&now); err != nil {
			t.Fatal(err)
		}
		if now.After(start.Add(clickhouse.ClockMargin)) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The Store's own job computes written minutes by itself, logs its
// errors and stops on Close (goleak checks the goroutine is gone).
func TestDependenciesJob(t *testing.T) {
	var logs proctest.Buffer
	cfg := server.Config(t)
	cfg.DependencyRefresh = 20 * time.Millisecond
	cfg.DependencySettle = 0
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := clickhouse.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := time.Now().Add(-time.Hour).Truncate(time.Minute)
	if err := s.WriteSpans(ctx, []storage.Span{
		edgeSpan(1, 1, 0, "a", m.Add(time.Second), storage.StatusUnset),
		edgeSpan(1, 2, 1, "b", m.Add(2*time.Second), storage.StatusUnset),
	}); err != nil {
		t.Fatal(err)
	}
	for {
		fresh, err := clickhouse.FreshMinutes(s, ctx, m.Unix(), m.Unix())
		// (the job computes the minute again until it was written
		// ClockMargin before a computation)
		if err != nil {
			t.Fatal(err)
		}
		if len(fresh) == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the job did not compute the written minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := clickhouse.Exec(s, ctx, "DROP TABLE tracer_edge_minutes"); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(logs.String(), "dependencies job") {
		if ctx.Err() != nil {
			t.Fatal("the job's error was not logged")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := logs.String(); !strings.Contains(got, "tracer_edge_minutes") {
		t.Errorf("log = %q, want the job's error naming the missing table", got)
	}
}
