package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func open(t testing.TB, dir string, o Options) *WAL {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quiet
	}
	w, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func rec(i int) []byte {
	return []byte(fmt.Sprintf("record-%04d-%s", i, bytes.Repeat([]byte{'x'}, i%50)))
}

func appendN(t testing.TB, w *WAL, from, n int) []Offset {
	t.Helper()
	var offs []Offset
	for i := from; i < from+n; i++ {
		off, err := w.Append(context.Background(), rec(i))
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		offs = append(offs, off)
	}
	return offs
}

// readAll reads every record after `after` that is there now, maxBytes at
// a time: Read with a cancelled context returns what is there and does not
// wait.
func readAll(t testing.TB, w *WAL, after Offset, maxBytes int64) []Record {
	t.Helper()
	var all []Record
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		recs, err := w.Read(done, after, maxBytes)
		if errors.Is(err, context.Canceled) {
			return all
		}
		if err != nil {
			t.Fatalf("Read after %d: %v", after, err)
		}
		if n := dataBytes(recs); len(recs) > 1 && n > maxBytes {
			t.Fatalf("Read returned %d records of %d bytes, max %d bytes", len(recs), n, maxBytes)
		}
		for _, r := range recs {
			if r.Offset <= after {
				t.Fatalf("Read returned offset %d, not after %d", r.Offset, after)
			}
			after = r.Offset
		}
		all = append(all, recs...)
	}
}

func dataBytes(recs []Record) int64 {
	n := int64(0)
	for _, r := range recs {
		n += int64(len(r.Data))
	}
	return n
}

func wantRecords(t *testing.T, got []Record, want map[Offset][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for _, r := range got {
		w, ok := want[r.Offset]
		if !ok {
			t.Fatalf("unexpected record at offset %d: %q", r.Offset, r.Data)
		}
		if !bytes.Equal(r.Data, w) {
			t.Fatalf("offset %d: got %q, want %q", r.Offset, r.Data, w)
		}
	}
}

func expect(offs []Offset, from int) map[Offset][]byte {
	m := map[Offset][]byte{}
	for i, o := range offs {
		m[o] = rec(from + i)
	}
	return m
}

func TestAppendReadCommitReopen(t *testing.T) {
	dir := t.TempDir()
	w := open(t, dir, Options{})
	offs := appendN(t, w, 0, 10)
	for i, o := range offs {
		if o != Offset(i+1) {
			t.Fatalf("offset %d is %d, want %d", i, o, i+1)
		}
	}
	wantRecords(t, readAll(t, w, 0, 3), expect(offs, 0))
	wantRecords(t, readAll(t, w, 5, 100), expect(offs[5:], 5))
	if err := w.Commit(4); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := w.Committed(); got != 4 {
		t.Fatalf("Committed = %d, want 4", got)
	}
	if err := w.Commit(3); err != nil {
		t.Fatalf("Commit below committed: %v", err)
	}
	if err := w.Commit(11); err == nil {
		t.Fatal("Commit past the last record: no error")
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := w.Append(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}

	w2 := open(t, dir, Options{})
	if got := w2.Committed(); got != 4 {
		t.Fatalf("Committed after reopen = %d, want 4", got)
	}
	wantRecords(t, readAll(t, w2, w2.Committed(), 2), expect(offs[4:], 4))
	more := appendN(t, w2, 10, 3)
	if more[0] != 11 {
		t.Fatalf("first offset after reopen = %d, want 11", more[0])
	}
	if st := w2.Stats(); st.Records != 3 || st.Corrupted != 0 || st.TornTruncations != 0 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestReplayAfterReopenWithoutCommit(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 300, MaxBytes: 1 << 20}
	w := open(t, dir, o)
	offs := appendN(t, w, 0, 40)
	if st := w.Stats(); st.Segments < 3 {
		t.Fatalf("want several segments, got %+v", st)
	}
	w.Close()
	w2 := open(t, dir, o)
	if w2.Committed() != 0 {
		t.Fatalf("Committed = %d", w2.Committed())
	}
	wantRecords(t, readAll(t, w2, 0, 7), expect(offs, 0))
	// New records after the replayed ones come from the cache.
	more := appendN(t, w2, 40, 5)
	wantRecords(t, readAll(t, w2, 40, 7), expect(more, 40))
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	w := open(t, dir, Options{})
	offs := appendN(t, w, 0, 3)
	w.Close()
	seg := segFiles(t, dir)[0]
	fi, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the last record in the middle of its payload, as a crash during
	// the write would.
	if err := os.Truncate(seg, fi.Size()-int64(len(rec(2)))/2); err != nil {
		t.Fatal(err)
	}
	w2 := open(t, dir, Options{})
	st := w2.Stats()
	if st.TornTruncations != 1 || st.Corrupted != 0 {
		t.Fatalf("Stats = %+v, want one torn truncation", st)
	}
	wantRecords(t, readAll(t, w2, 0, 10), expect(offs[:2], 0))
	fi2, _ := os.Stat(seg)
	if want := fi.Size() - int64(headerSize+len(rec(2))); fi2.Size() != want {
		t.Fatalf("segment size after recovery %d, want %d", fi2.Size(), want)
	}
	off, err := w2.Append(context.Background(), []byte("after"))
	if err != nil || off != 3 {
		t.Fatalf("Append after recovery = %d, %v; want 3", off, err)
	}
	w2.Close()
	w3 := open(t, dir, Options{})
	got := readAll(t, w3, 0, 10)
	if len(got) != 3 || string(got[2].Data) != "after" || w3.Stats().TornTruncations != 0 {
		t.Fatalf("after second reopen: %d records, stats %+v", len(got), w3.Stats())
	}
}

func TestDamagedMiddleRecord(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   func(recStart int64) int64 // byte to flip
	}{
		{"payload", func(s int64) int64 { return s + headerSize + 3 }},
		{"length", func(s int64) int64 { return s + 5 }},
		{"magic", func(s int64) int64 { return s }},
		{"offset", func(s int64) int64 { return s + 9 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := open(t, dir, Options{})
			offs := appendN(t, w, 0, 3)
			w.Close()
			seg := segFiles(t, dir)[0]
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			second := int64(headerSize + len(rec(0)))
			b[tc.at(second)] ^= 0x40
			if err := os.WriteFile(seg, b, 0o644); err != nil {
				t.Fatal(err)
			}
			w2 := open(t, dir, Options{})
			if st := w2.Stats(); st.Corrupted != 1 || st.TornTruncations != 0 {
				t.Fatalf("Stats = %+v, want one corrupted record", st)
			}
			want := expect(offs, 0)
			delete(want, offs[1])
			wantRecords(t, readAll(t, w2, 0, 10), want)
			off, err := w2.Append(context.Background(), []byte("next"))
			if err != nil || off != 4 {
				t.Fatalf("Append after recovery = %d, %v; want 4", off, err)
			}
		})
	}
}

func TestSegmentsDeletedOnlyAfterCommit(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 200, MaxBytes: 1 << 20}
	w := open(t, dir, o)
	offs := appendN(t, w, 0, 30)
	files := segFiles(t, dir)
	if len(files) < 4 || w.Stats().Segments != len(files) {
		t.Fatalf("%d segment files, stats %+v", len(files), w.Stats())
	}
	readAll(t, w, 0, 100)
	if got := segFiles(t, dir); len(got) != len(files) {
		t.Fatalf("reading deleted segments: %d -> %d files", len(files), len(got))
	}
	// Commit up to the middle of the third segment: the first two go.
	var third Offset
	fmt.Sscanf(filepath.Base(files[2]), "%d.seg", &third)
	if err := w.Commit(third); err != nil {
		t.Fatal(err)
	}
	got := segFiles(t, dir)
	if len(got) != len(files)-2 || got[0] != files[2] {
		t.Fatalf("after Commit(%d): files %v, had %v", third, got, files)
	}
	wantRecords(t, readAll(t, w, third, 100), expect(offs[third:], int(third)))
	if err := w.Commit(offs[len(offs)-1]); err != nil {
		t.Fatal(err)
	}
	if got := segFiles(t, dir); len(got) != 0 {
		t.Fatalf("after committing everything: %v", got)
	}
	if st := w.Stats(); st.Bytes != 0 || st.Segments != 0 {
		t.Fatalf("Stats = %+v", st)
	}
	off, err := w.Append(context.Background(), []byte("again"))
	if err != nil || off != 31 {
		t.Fatalf("Append = %d, %v", off, err)
	}
	w.Close()
	w2 := open(t, dir, o)
	if w2.Committed() != 30 {
		t.Fatalf("Committed = %d", w2.Committed())
	}
	recs := readAll(t, w2, w2.Committed(), 10)
	if len(recs) != 1 || recs[0].Offset != 31 {
		t.Fatalf("replay after reopen: %+v", recs)
	}
}

func TestFullThenCommit(t *testing.T) {
	dir := t.TempDir()
	w := open(t, dir, Options{SegmentSize: 256, MaxBytes: 1024})
	data := bytes.Repeat([]byte{'d'}, 100)
	var last Offset
	n := 0
	for ; n < 100; n++ {
		off, err := w.Append(context.Background(), data)
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		last = off
	}
	if n == 0 || n == 100 {
		t.Fatalf("appended %d records before ErrFull", n)
	}
	if st := w.Stats(); st.Bytes > 1024 {
		t.Fatalf("log holds %d bytes past MaxBytes", st.Bytes)
	}
	if _, err := w.Append(context.Background(), bytes.Repeat([]byte{'d'}, 2000)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized record: %v, want ErrTooLarge", err)
	}
	if err := w.Commit(last); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := w.Append(context.Background(), data); err != nil {
			t.Fatalf("Append %d after Commit: %v", i, err)
		}
	}
}

func TestConcurrentAppendersAndReader(t *testing.T) {
	for _, policy := range []SyncPolicy{SyncBatch, SyncInterval} {
		t.Run(fmt.Sprint(policy), func(t *testing.T) {
			w := open(t, t.TempDir(), Options{
				SegmentSize: 4096, MaxBytes: 1 << 20, CacheBytes: 2048,
				Sync: policy, SyncInterval: time.Millisecond,
			})
			const writers, each = 8, 100
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for g := 0; g < writers; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						if _, err := w.Append(context.Background(), []byte(fmt.Sprintf("%d/%d", g, i))); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			seen := map[string]bool{}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var after Offset
			for len(seen) < writers*each {
				recs, err := w.Read(ctx, after, 17)
				if err != nil {
					t.Fatalf("Read after %d with %d seen: %v", after, len(seen), err)
				}
				for _, r := range recs {
					if r.Offset <= after {
						t.Fatalf("offset %d after %d", r.Offset, after)
					}
					after = r.Offset
					if seen[string(r.Data)] {
						t.Fatalf("record %q read twice", r.Data)
					}
					seen[string(r.Data)] = true
				}
				if err := w.Commit(after); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			st := w.Stats()
			if st.Records != writers*each || st.Syncs == 0 {
				t.Fatalf("Stats = %+v", st)
			}
		})
	}
}

func TestCloseWakesRead(t *testing.T) {
	w := open(t, t.TempDir(), Options{})
	done := make(chan error, 1)
	go func() {
		_, err := w.Read(context.Background(), 0, 10)
		done <- err
	}()
	// Whether Close runs before or after Read starts to wait, Read must
	// return ErrClosed.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Read = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read still blocked after Close")
	}
}

func TestReadHonoursContext(t *testing.T) {
	w := open(t, t.TempDir(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Read(ctx, 0, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read = %v, want context.Canceled", err)
	}
	if _, err := w.Append(ctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append = %v, want context.Canceled", err)
	}
}

func TestSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, Options{})
	if w, err := Open(dir, Options{Logger: quiet}); err == nil {
		w.Close()
		t.Fatal("second Open of the same directory succeeded")
	}
}

func TestSyncIntervalCloseSyncs(t *testing.T) {
	dir := t.TempDir()
	w := open(t, dir, Options{Sync: SyncInterval, SyncInterval: time.Hour})
	offs := appendN(t, w, 0, 5)
	wantRecords(t, readAll(t, w, 0, 10), expect(offs, 0))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Syncs == 0 {
		t.Fatalf("Close did not fsync: %+v", st)
	}
	w2 := open(t, dir, Options{})
	wantRecords(t, readAll(t, w2, 0, 10), expect(offs, 0))
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{{SegmentSize: -1}, {MaxBytes: -1}, {Sync: 7}} {
		if w, err := Open(t.TempDir(), o); err == nil {
			w.Close()
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
}

// TestReadFromCache overwrites the records on disk after appending them:
// Read still returns what was appended, so it came from memory; with the
// cache too small it reads the disk and sees the overwrite skipped as damage.
func TestReadFromCache(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cache     int64
		fromCache bool
	}{
		{"cached", 1 << 20, true},
		{"disabled", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := open(t, dir, Options{CacheBytes: tc.cache})
			offs := appendN(t, w, 0, 3)
			seg := segFiles(t, dir)[0]
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			for i := headerSize; i < headerSize+len(rec(0)); i++ {
				b[i] = '#' // the first record's payload
			}
			if err := os.WriteFile(seg, b, 0o644); err != nil {
				t.Fatal(err)
			}
			got := readAll(t, w, 0, 10)
			want := expect(offs, 0)
			if !tc.fromCache {
				delete(want, offs[0]) // its CRC no longer matches
			}
			wantRecords(t, got, want)
		})
	}
}

// TestReadByteBudget: Read returns at most maxBytes of records, or one
// record larger than that, from the cache and from disk alike.
func TestReadByteBudget(t *testing.T) {
	sizes := []int{100, 100, 100, 500, 100, 30, 30}
	const budget = 250
	want := [][]int{{100, 100}, {100}, {500}, {100, 30, 30}}
	for _, tc := range []struct {
		name  string
		cache int64
	}{
		{"cache", 1 << 20},
		{"disk", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := open(t, t.TempDir(), Options{CacheBytes: tc.cache})
			for _, n := range sizes {
				if _, err := w.Append(context.Background(), make([]byte, n)); err != nil {
					t.Fatal(err)
				}
			}
			var after Offset
			for i, wantSizes := range want {
				recs, err := w.Read(context.Background(), after, budget)
				if err != nil {
					t.Fatal(err)
				}
				var got []int
				for _, r := range recs {
					got = append(got, len(r.Data))
					after = r.Offset
				}
				if fmt.Sprint(got) != fmt.Sprint(wantSizes) {
					t.Fatalf("Read %d returned records of %v bytes, want %v", i, got, wantSizes)
				}
			}
			if _, err := w.Read(context.Background(), 0, 0); err == nil {
				t.Fatal("Read with a budget of 0: no error")
			}
		})
	}
}

// TestReadLargeRecords: 64 large records are not read at once (the issue
// saw 64 records of 8 MiB, 512 MiB, in one Read), but one at a time with a
// budget below their size. 256 KiB records keep the test cheap; sizes do
// not change the logic.
func TestReadLargeRecords(t *testing.T) {
	const n, size, budget = 64, 256 << 10, 128 << 10
	for _, tc := range []struct {
		name  string
		cache int64
	}{
		{"cache", 1 << 30},
		{"disk", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := open(t, t.TempDir(), Options{CacheBytes: tc.cache, Sync: SyncInterval, SyncInterval: time.Hour})
			data := make([]byte, size)
			for i := 0; i < n; i++ {
				if _, err := w.Append(context.Background(), data); err != nil {
					t.Fatal(err)
				}
			}
			var after Offset
			for reads := 1; after < n; reads++ {
				recs, err := w.Read(context.Background(), after, budget)
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) != 1 {
					t.Fatalf("Read %d returned %d records of 256 KiB with a budget of 128 KiB", reads, len(recs))
				}
				after = recs[0].Offset
			}
		})
	}
}

// TestOldestSegmentEnd fills a log, then makes room the way a spool does:
// committing OldestSegmentEnd deletes exactly the oldest segment, and the
// records after it are still read back in order.
func TestOldestSegmentEnd(t *testing.T) {
	w := open(t, t.TempDir(), Options{SegmentSize: 256, MaxBytes: 1024})
	if got := w.OldestSegmentEnd(); got != 0 {
		t.Fatalf("OldestSegmentEnd of an empty log = %d, want 0", got)
	}
	data := bytes.Repeat([]byte{'d'}, 100)
	var offs []Offset
	for {
		off, err := w.Append(context.Background(), data)
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, off)
	}
	segs := w.Stats().Segments
	if segs < 2 {
		t.Fatalf("%d segments before ErrFull, want several", segs)
	}
	// 100-byte records plus their header: two to a 256-byte segment.
	end := w.OldestSegmentEnd()
	if end != offs[1] {
		t.Fatalf("OldestSegmentEnd = %d, want %d (the second record)", end, offs[1])
	}
	if err := w.Commit(end); err != nil {
		t.Fatal(err)
	}
	if got := w.Stats().Segments; got != segs-1 {
		t.Fatalf("%d segments after committing the oldest, want %d", got, segs-1)
	}
	if _, err := w.Append(context.Background(), data); err != nil {
		t.Fatalf("Append after dropping the oldest segment: %v", err)
	}
	recs := readAll(t, w, w.Committed(), 1<<20)
	if len(recs) != len(offs)-2+1 || recs[0].Offset != offs[2] {
		t.Fatalf("read %d records from %d, want %d from %d", len(recs), recs[0].Offset, len(offs)-1, offs[2])
	}
	// With one segment left it names the last record: committing it
	// empties the log.
	for w.Stats().Segments > 1 {
		if err := w.Commit(w.OldestSegmentEnd()); err != nil {
			t.Fatal(err)
		}
	}
	last := recs[len(recs)-1].Offset
	if got := w.OldestSegmentEnd(); got != last {
		t.Fatalf("OldestSegmentEnd with one segment = %d, want the last record %d", got, last)
	}
	if err := w.Commit(last); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Segments != 0 || st.Bytes != 0 {
		t.Fatalf("after committing everything: %+v", st)
	}
}
