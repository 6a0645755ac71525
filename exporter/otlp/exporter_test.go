package otlp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracerdev/tracer/exporter/send"
)

// TestQueueBoundDropsOldest: without a spool and with the endpoint not
// answering, the memory queue holds at most its bound (the batch in flight
// included); the oldest batches are dropped and counted, and once the
// endpoint answers the newest arrive.
func TestQueueBoundDropsOldest(t *testing.T) {
	f := newFake(t)
	release := make(chan struct{})
	f.started = make(chan []string, 1)
	f.setFn(func(ctx context.Context, _ []string) (send.Result, error) {
		select {
		case <-release:
			return send.Result{}, nil
		case <-ctx.Done():
			return send.Result{}, ctx.Err()
		}
	})
	e := newTest(t, f, WithQueue(1<<30, 30))
	export(t, e, spansNamed("b0", 10))
	<-f.started // the sender holds b0
	for i := 1; i <= 5; i++ {
		export(t, e, spansNamed("b"+strconv.Itoa(i), 10))
		if st := e.Stats(); st.QueueSpans > 30 {
			t.Fatalf("after batch %d the queue holds %d spans, bound 30", i, st.QueueSpans)
		}
	}
	st := e.Stats()
	if got, want := st.Dropped["queue_full"], int64(30); got != want {
		t.Errorf("dropped queue_full = %d, want %d (b1, b2, b3)", got, want)
	}
	f.mu.Lock()
	f.started = nil
	f.mu.Unlock()
	close(release)
	flush(t, e)
	acc, _, _ := f.snapshot()
	var batches []string
	for _, n := range acc {
		if b, _, _ := strings.Cut(n, "-"); len(batches) == 0 || batches[len(batches)-1] != b {
			batches = append(batches, b)
		}
	}
	if want := []string{"b0", "b4", "b5"}; !slices.Equal(batches, want) {
		t.Errorf("accepted batches %v, want %v", batches, want)
	}
	if st := e.Stats(); st.Sent != 30 || st.Queued != 60 || st.QueueBytes != 0 {
		t.Errorf("stats %+v, want 30 sent of 60 queued and an empty queue", st)
	}
}

// TestSpillWhenFull: with a spool and a slow endpoint, the queue spills its
// oldest batches once it holds half its bound, never holds more than the
// bound, and everything arrives exactly once.
func TestSpillWhenFull(t *testing.T) {
	f := newFake(t)
	gate := make(chan struct{})
	f.setFn(func(ctx context.Context, _ []string) (send.Result, error) {
		select {
		case <-gate:
			return send.Result{}, nil
		case <-ctx.Done():
			return send.Result{}, ctx.Err()
		}
	})
	const bound = 40
	// One batch per send: the batches the sender holds at the gate count
	// against the bound and cannot spill, and a loaded machine could let it
	// join several (all of the bound) into its first request.
	e := newTest(t, f, WithQueue(1<<30, bound), WithSendBatch(1<<30, 10), WithSpool(t.TempDir(), 0))
	for i := range 20 {
		export(t, e, spansNamed(fmt.Sprintf("b%02d", i), 10))
		if st := e.Stats(); st.QueueSpans > bound {
			t.Fatalf("the queue holds %d spans, bound %d", st.QueueSpans, bound)
		}
	}
	waitFor(t, "the spill", func() bool { return e.Stats().QueueSpans <= bound/2+10 })
	if st := e.Stats(); st.Spilled == 0 || st.DroppedTotal() != 0 {
		t.Fatalf("stats %+v: want spilled spans and none dropped", st)
	}
	close(gate)
	flush(t, e)
	_, count, _ := f.snapshot()
	checkExactlyOnce(t, count, 20, 10)
	if st := e.Stats(); st.Sent != 200 || st.Replayed != st.Spilled {
		t.Errorf("stats %+v: want 200 sent, every spilled span replayed", st)
	}
}

// TestSpillWhenDown: once a send fails, every batch goes to the spool and
// memory empties; when the endpoint is back everything arrives once.
func TestSpillWhenDown(t *testing.T) {
	f := newFake(t)
	f.setFn(down)
	e := newTest(t, f, WithSpool(t.TempDir(), 0))
	for i := range 10 {
		export(t, e, spansNamed(fmt.Sprintf("b%02d", i), 10))
	}
	waitFor(t, "memory to empty into the spool", func() bool {
		st := e.Stats()
		return st.QueueBytes == 0 && st.Spilled == 100
	})
	if st := e.Stats(); st.Sent != 0 || st.Retries == 0 || st.SpoolBytes == 0 {
		t.Fatalf("stats %+v: want nothing sent, retries, a spool on disk", st)
	}
	f.setFn(nil)
	flush(t, e)
	_, count, _ := f.snapshot()
	checkExactlyOnce(t, count, 10, 10)
	if st := e.Stats(); st.Replayed != 100 || st.Sent != 100 || st.DroppedTotal() != 0 {
		t.Errorf("stats %+v: want 100 replayed and sent, none dropped", st)
	}
}

func checkExactlyOnce(t *testing.T, count map[string]int, batches, per int) {
	t.Helper()
	for b := range batches {
		for i := range per {
			n := fmt.Sprintf("b%02d-%d", b, i)
			if count[n] != 1 {
				t.Errorf("span %s arrived %d times, want once", n, count[n])
			}
		}
	}
	if len(count) != batches*per {
		t.Errorf("%d distinct spans arrived, want %d", len(count), batches*per)
	}
}

// fillSpool leaves batches old00 ... in a spool at dir, one record each,
// as a run that could not send leaves them.
func fillSpool(t *testing.T, dir string, batches, per int) {
	t.Helper()
	f := newFake(t)
	f.setFn(down)
	e := newTest(t, f, WithSpool(dir, 0), WithSendBatch(0, 1))
	for i := range batches {
		export(t, e, spansNamed(fmt.Sprintf("old%02d", i), per))
	}
	waitFor(t, "the spill", func() bool { return e.Stats().Spilled == int64(batches*per) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestReplayOldestFirstFreshNotStarved: a new Exporter replays the spool
// oldest first while fresh batches arrive, alternating: fresh spans do not
// wait for the whole backlog.
func TestReplayOldestFirstFreshNotStarved(t *testing.T) {
	dir := t.TempDir()
	fillSpool(t, dir, 6, 5)

	f := newFake(t)
	f.started = make(chan []string)
	e := newTest(t, f, WithSpool(dir, 0), WithSendBatch(0, 1))
	var order []string
	batchOf := func(ns []string) string { b, _, _ := strings.Cut(ns[0], "-"); return b }
	// The sender starts with the spool's oldest record and waits for us to
	// take it: the fresh batches are queued by then.
	for i := range 3 {
		export(t, e, spansNamed(fmt.Sprintf("new%02d", i), 5))
	}
	for len(order) < 9 {
		order = append(order, batchOf(<-f.started))
	}
	f.mu.Lock()
	f.started = nil
	f.mu.Unlock()
	flush(t, e)
	want := []string{"old00", "new00", "old01", "new01", "old02", "new02", "old03", "old04", "old05"}
	if !slices.Equal(order, want) {
		t.Errorf("send order %v, want %v", order, want)
	}
	if st := e.Stats(); st.Replayed != 30 || st.Sent != 45 {
		t.Errorf("stats %+v: want 30 replayed of 45 sent", st)
	}
}

// TestSpoolFullDropsOldest: a spool at its cap drops its oldest segment;
// the dropped spans are counted, every span is either sent or counted
// dropped, and the ones that arrive are the newest.
func TestSpoolFullDropsOldest(t *testing.T) {
	f := newFake(t)
	f.setFn(down)
	const capBytes = 256 << 10 // four segments of 64 KiB
	e := newTest(t, f, WithSpool(t.TempDir(), capBytes))
	const batches, per = 100, 40 // about 5 KB a batch: twice the cap
	for i := range batches {
		export(t, e, spansNamed(fmt.Sprintf("b%03d", i), per))
		if i%10 == 0 {
			waitFor(t, "the spill", func() bool { return e.Stats().QueueBytes == 0 })
		}
		if st := e.Stats(); st.SpoolBytes > capBytes {
			t.Fatalf("the spool takes %d bytes, cap %d", st.SpoolBytes, capBytes)
		}
	}
	waitFor(t, "the spill", func() bool { return e.Stats().QueueBytes == 0 })
	st := e.Stats()
	if st.Dropped["spool_full"] == 0 {
		t.Fatalf("stats %+v: want spool_full drops", st)
	}
	f.setFn(nil)
	flush(t, e)
	acc, count, _ := f.snapshot()
	st = e.Stats()
	if st.Sent+st.DroppedTotal() != batches*per {
		t.Errorf("sent %d + dropped %d != %d queued: spans unaccounted for", st.Sent, st.DroppedTotal(), batches*per)
	}
	if int64(len(count)) != st.Sent {
		t.Errorf("%d distinct spans arrived, stats say %d sent", len(count), st.Sent)
	}
	// What arrived is a suffix of what was exported: the oldest went.
	first := batches
	for _, n := range acc {
		b, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(n, "-", 2)[0], "b"))
		first = min(first, b)
	}
	for b := first; b < batches; b++ {
		for i := range per {
			if n := fmt.Sprintf("b%03d-%d", b, i); count[n] != 1 {
				t.Fatalf("span %s (after the first that arrived, b%03d) arrived %d times, want once", n, first, count[n])
			}
		}
	}
	if got := int64((batches - first) * per); got != st.Sent {
		t.Errorf("the newest %d spans arrived, stats say %d sent", got, st.Sent)
	}
}

// TestShutdownDeadlineLeavesRestInSpool: with an endpoint that never
// answers, Shutdown returns after its deadline with everything in the
// spool, and a new Exporter on the same directory sends it.
func TestShutdownDeadlineLeavesRestInSpool(t *testing.T) {
	dir := t.TempDir()
	f := newFake(t)
	f.setFn(hang)
	e := newTest(t, f, WithSpool(dir, 0), WithQueue(1<<30, 1000))
	for i := range 10 {
		export(t, e, spansNamed(fmt.Sprintf("b%02d", i), 10))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	st := e.Stats()
	if st.QueueBytes != 0 || st.Spilled != 100 || st.DroppedTotal() != 0 || st.Sent != 0 {
		t.Fatalf("stats after Shutdown %+v: want all 100 spans spilled, none dropped", st)
	}
	if err := e.ExportSpans(context.Background(), spansNamed("late", 1)); !errors.Is(err, ErrShutdown) {
		t.Errorf("ExportSpans after Shutdown: %v, want ErrShutdown", err)
	}

	f2 := newFake(t)
	e2 := newTest(t, f2, WithSpool(dir, 0))
	flush(t, e2)
	_, count, _ := f2.snapshot()
	checkExactlyOnce(t, count, 10, 10)
	if st := e2.Stats(); st.Replayed != 100 {
		t.Errorf("the new exporter replayed %d spans, want 100", st.Replayed)
	}
	// What was sent was committed: a third run has nothing to send.
	if err := e2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	f3 := newFake(t)
	e3 := newTest(t, f3, WithSpool(dir, 0))
	flush(t, e3)
	if _, _, calls := f3.snapshot(); calls != 0 {
		t.Errorf("a third exporter on the spool sent %d requests, want none", calls)
	}
}

// TestShutdownWithoutSpoolCountsTheRest: without a spool what is left in
// memory at the deadline is dropped, counted, and Shutdown says so.
func TestShutdownWithoutSpoolCountsTheRest(t *testing.T) {
	f := newFake(t)
	f.setFn(hang)
	e := newTest(t, f)
	for i := range 5 {
		export(t, e, spansNamed(fmt.Sprintf("b%02d", i), 10))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want the deadline's error", err)
	}
	if st := e.Stats(); st.Dropped["shutdown"] != 50 || st.QueueBytes != 0 {
		t.Errorf("stats %+v: want 50 dropped at shutdown", st)
	}
}

// TestPermanentAndPartialSuccess: permanent errors and partial-success
// rejections are counted and not retried.
func TestPermanentAndPartialSuccess(t *testing.T) {
	f := newFake(t)
	f.setFn(func(_ context.Context, ns []string) (send.Result, error) {
		if strings.HasPrefix(ns[0], "perm") {
			return send.Result{}, &send.PermanentError{Endpoint: "fake", Err: errors.New("invalid argument")}
		}
		return send.Result{Endpoint: "fake", Rejected: 3, Message: "3 spans without a name"}, nil
	})
	e := newTest(t, f, WithSendBatch(0, 1), WithSpool(t.TempDir(), 0))
	export(t, e, spansNamed("perm", 10))
	export(t, e, spansNamed("part", 10))
	flush(t, e)
	_, _, calls := f.snapshot()
	if calls != 2 {
		t.Errorf("%d sends, want 2: nothing is retried", calls)
	}
	st := e.Stats()
	if st.Dropped["permanent"] != 10 || st.Dropped["rejected"] != 3 || st.Sent != 7 || st.Retries != 0 {
		t.Errorf("stats %+v: want 10 permanent, 3 rejected, 7 sent, no retries", st)
	}
}

// TestConcurrentExportFlakyEndpoint: exporters' callers in parallel, an
// endpoint failing one send in three: every span arrives exactly once
// (the fake accepts nothing it fails), and the counters agree.
func TestConcurrentExportFlakyEndpoint(t *testing.T) {
	f := newFake(t)
	var mu sync.Mutex
	n := 0
	f.setFn(func(context.Context, []string) (send.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n%3 == 0 {
			return send.Result{}, errDown
		}
		return send.Result{}, nil
	})
	e := newTest(t, f, WithSpool(t.TempDir(), 0), WithQueue(1<<30, 200), WithSendBatch(0, 50))
	const workers, batches, per = 4, 25, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for b := range batches {
				if err := e.ExportSpans(context.Background(), spansNamed(fmt.Sprintf("w%db%02d", w, b), per)); err != nil {
					t.Error(err)
				}
				_ = e.Stats()
			}
		})
	}
	wg.Wait()
	flush(t, e)
	_, count, _ := f.snapshot()
	if len(count) != workers*batches*per {
		t.Errorf("%d distinct spans arrived, want %d", len(count), workers*batches*per)
	}
	for name, c := range count {
		if c != 1 {
			t.Errorf("span %s arrived %d times", name, c)
		}
	}
	if st := e.Stats(); st.Sent != workers*batches*per || st.DroppedTotal() != 0 || st.Queued != workers*batches*per {
		t.Errorf("stats %+v", st)
	}
}

// TestShutdownRacesExport: ExportSpans calls racing Shutdown, with an
// endpoint that never answers and a small queue (so that some calls write
// to the spool themselves): every span accepted is in the spool, every
// span refused is counted, and the next Exporter sends each accepted span
// once.
func TestShutdownRacesExport(t *testing.T) {
	dir := t.TempDir()
	f := newFake(t)
	f.setFn(hang)
	e := newTest(t, f, WithSpool(dir, 0), WithQueue(1<<30, 40), WithSendBatch(0, 10))
	var wg sync.WaitGroup
	var refused sync.Map
	for w := range 4 {
		wg.Go(func() {
			for b := range 50 {
				name := fmt.Sprintf("w%db%02d", w, b)
				if err := e.ExportSpans(context.Background(), spansNamed(name, 10)); errors.Is(err, ErrShutdown) {
					refused.Store(name, true)
				} else if err != nil {
					t.Error(err)
				}
			}
		})
	}
	time.Sleep(5 * time.Millisecond) // let some batches in; the test holds either way
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	wg.Wait()
	st := e.Stats()
	nRefused := 0
	refused.Range(func(any, any) bool { nRefused++; return true })
	if st.Queued != st.Spilled || st.Dropped["shutdown"] != int64(nRefused*10) || st.DroppedTotal() != st.Dropped["shutdown"] {
		t.Fatalf("stats %+v with %d batches refused: want every queued span spilled, the refused counted", st, nRefused)
	}
	if st.Queued+st.Dropped["shutdown"] != 2000 {
		t.Fatalf("queued %d + refused %d != 2000", st.Queued, st.Dropped["shutdown"])
	}

	f2 := newFake(t)
	e2 := newTest(t, f2, WithSpool(dir, 0))
	flush(t, e2)
	_, count, _ := f2.snapshot()
	for w := range 4 {
		for b := range 50 {
			name := fmt.Sprintf("w%db%02d", w, b)
			_, gone := refused.Load(name)
			for i := range 10 {
				want := 1
				if gone {
					want = 0
				}
				if got := count[fmt.Sprintf("%s-%d", name, i)]; got != want {
					t.Fatalf("span %s-%d arrived %d times, want %d", name, i, got, want)
				}
			}
		}
	}
}

// TestSpillWhenBreakersOpen: while the sender says no endpoint is
// available (every breaker open), batches go to the spool at once, before
// any send of theirs failed.
func TestSpillWhenBreakersOpen(t *testing.T) {
	f := newFake(t)
	release := make(chan struct{})
	f.started = make(chan []string, 1)
	f.setFn(func(ctx context.Context, _ []string) (send.Result, error) {
		select {
		case <-release:
			return send.Result{}, nil
		case <-ctx.Done():
			return send.Result{}, ctx.Err()
		}
	})
	e := newTest(t, f, WithSpool(t.TempDir(), 0))
	export(t, e, spansNamed("b00", 10))
	<-f.started // in flight: a send that has not failed
	f.unavailable.Store(true)
	for i := 1; i <= 5; i++ {
		export(t, e, spansNamed(fmt.Sprintf("b%02d", i), 10))
	}
	waitFor(t, "the spill", func() bool { return e.Stats().Spilled == 50 })
	if st := e.Stats(); st.Retries != 0 || st.QueueSpans != 10 {
		t.Errorf("stats %+v: want no failed send yet and only the in-flight batch in memory", st)
	}
	f.mu.Lock()
	f.started = nil
	f.mu.Unlock()
	f.unavailable.Store(false)
	close(release)
	flush(t, e)
	_, count, _ := f.snapshot()
	checkExactlyOnce(t, count, 6, 10)
}
