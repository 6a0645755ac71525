package wal

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// logRecorder keeps the records logged through it.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

// count returns how many records of level have msg in their message.
func (h *logRecorder) count(level slog.Level, msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.recs {
		if r.Level == level && strings.Contains(r.Message, msg) {
			n++
		}
	}
	return n
}

func kib(n int) []byte { return bytes.Repeat([]byte{'k'}, n<<10-headerSize) }

// TestFullDiskCommitFreesSpace fills the disk (another program took the
// rest): the commit of what the sink stored must free the segments, so that
// the log accepts records again by itself.
func TestFullDiskCommitFreesSpace(t *testing.T) {
	for _, tc := range []struct {
		name string
		cow  bool
	}{
		{"overwrite in place", false},
		{"copy on write", true}, // even the checkpoint's overwrite needs space
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fs := newFaultFS()
			fs.cow = tc.cow
			o := Options{SegmentSize: 4 << 10, MaxBytes: 1 << 20, fs: fs}
			w := open(t, dir, o)
			var last Offset
			for i := 0; i < 10; i++ {
				off, err := w.Append(context.Background(), kib(1))
				if err != nil {
					t.Fatal(err)
				}
				last = off
			}
			fs.fill()
			if _, err := w.Append(context.Background(), kib(1)); err == nil {
				t.Fatal("Append on a full disk succeeded")
			}
			if err := w.Commit(last); err != nil {
				t.Fatalf("Commit on a full disk: %v", err)
			}
			if st := w.Stats(); st.Segments != 0 || st.Bytes != 0 {
				t.Fatalf("after committing everything on a full disk: %+v", st)
			}
			for i := 0; i < 8; i++ {
				if _, err := w.Append(context.Background(), kib(1)); err != nil {
					t.Fatalf("Append %d after the commit freed the disk: %v", i, err)
				}
			}
			w.Close()
			fs.unlimit()
			w2 := open(t, dir, Options{SegmentSize: 4 << 10, MaxBytes: 1 << 20})
			if got := w2.Committed(); got != last {
				t.Fatalf("Committed after reopen = %d, want %d", got, last)
			}
			if got := readAll(t, w2, w2.Committed(), 1<<20); len(got) != 8 || got[0].Offset != last+1 {
				t.Fatalf("replayed %d records, want 8 from %d", len(got), last+1)
			}
		})
	}
}

// TestCommitWithoutCheckpoint makes every checkpoint write fail: Commit
// still deletes the segments the sink has stored (and says it failed), and
// Open starts at the first remaining segment, past the old checkpoint.
func TestCommitWithoutCheckpoint(t *testing.T) {
	dir := t.TempDir()
	fs := newFaultFS()
	o := Options{SegmentSize: 4 << 10, MaxBytes: 1 << 20, fs: fs}
	w := open(t, dir, o)
	for i := 0; i < 20; i++ { // 4 records a segment: 5 segments
		if _, err := w.Append(context.Background(), kib(1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(2); err != nil {
		t.Fatal(err)
	}
	fs.mu.Lock()
	fs.writeErr, fs.writeErrName = syscall.EIO, checkpointName
	fs.mu.Unlock()
	if err := w.Commit(10); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Commit with a failing checkpoint = %v, want EIO", err)
	}
	if st := w.Stats(); st.Segments != 3 {
		t.Fatalf("Commit(10) with a failing checkpoint left %d segments, want 3 (from 9)", st.Segments)
	}
	if got := w.Committed(); got != 2 {
		t.Fatalf("Committed = %d, want the persisted 2", got)
	}
	w.Close()

	w2 := open(t, dir, Options{SegmentSize: 4 << 10, MaxBytes: 1 << 20})
	if got := w2.Committed(); got != 8 {
		t.Fatalf("Committed after reopen = %d, want 8 (before the first segment)", got)
	}
	got := readAll(t, w2, w2.Committed(), 1<<20)
	if len(got) != 12 || got[0].Offset != 9 {
		t.Fatalf("replayed %d records from %d, want 12 from 9", len(got), got[0].Offset)
	}
	if off, err := w2.Append(context.Background(), []byte("x")); err != nil || off != 21 {
		t.Fatalf("Append after reopen = %d, %v; want 21", off, err)
	}
}

// TestCheckpointSlots damages the checkpoint file as a torn write or the
// disk would.
func TestCheckpointSlots(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		want   Offset
	}{
		{"intact", func(*testing.T, string) {}, 7},
		{"newest slot torn", func(t *testing.T, path string) { flip(t, path, 3) }, 6},
		{"older slot damaged", func(t *testing.T, path string) { flip(t, path, slotStride+2) }, 7},
		{"both damaged", func(t *testing.T, path string) { flip(t, path, 2); flip(t, path, slotStride+3) }, 0},
		{"format before", func(t *testing.T, path string) {
			if err := os.WriteFile(path, appendSlot(nil, 5), 0o644); err != nil {
				t.Fatal(err)
			}
		}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := open(t, dir, Options{})
			appendN(t, w, 0, 10)
			// Slots: 0 holds 5 then 7, 1 holds 6.
			for _, off := range []Offset{5, 6, 7} {
				if err := w.Commit(off); err != nil {
					t.Fatal(err)
				}
			}
			w.Close()
			tc.damage(t, filepath.Join(dir, checkpointName))
			w2 := open(t, dir, Options{})
			if got := w2.Committed(); got != tc.want {
				t.Fatalf("Committed = %d, want %d", got, tc.want)
			}
			if err := w2.Commit(9); err != nil {
				t.Fatal(err)
			}
			w2.Close()
			if got := open(t, dir, Options{}).Committed(); got != 9 {
				t.Fatalf("Committed after a commit and reopen = %d, want 9", got)
			}
		})
	}
}

// flip inverts a bit of the byte at pos in the file at path.
func flip(t *testing.T, path string, pos int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[pos] ^= 0x10
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCapBelowOneSegment(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		ok   bool
	}{
		{"default segment, 32 MiB cap", Options{MaxBytes: 32 << 20}, false},
		{"segment lowered to 8 MiB", Options{MaxBytes: 32 << 20, SegmentSize: 8 << 20}, true},
		{"cap one byte short", Options{MaxBytes: 4095, SegmentSize: 4096}, false},
		{"cap of one segment", Options{MaxBytes: 4096, SegmentSize: 4096}, true},
		{"defaults", Options{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.o.Validate(); tc.ok != (err == nil) {
				t.Fatalf("Validate(%+v) = %v, want ok %v", tc.o, err, tc.ok)
			}
			tc.o.Logger = quiet
			w, err := Open(t.TempDir(), tc.o)
			if err == nil {
				w.Close()
			}
			if tc.ok != (err == nil) {
				t.Fatalf("Open(%+v) = %v, want ok %v", tc.o, err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "SegmentSize") {
				t.Fatalf("error %q does not say what to change", err)
			}
		})
	}
}

// TestAppendRefusedWhenFull fills the log's cap, or the disk: Append
// returns ErrFull (backpressure) and logs once per episode.
func TestAppendRefusedWhenFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		disk bool // the disk is full, not the cap
	}{
		{"cap", false},
		{"disk", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fs := newFaultFS()
			logs := &logRecorder{}
			o := Options{SegmentSize: 4 << 10, MaxBytes: 16 << 10, fs: fs, Logger: slog.New(logs)}
			w := open(t, dir, o)
			var offs []Offset
			fill := func() {
				if tc.disk {
					fs.fill()
					return
				}
				for {
					off, err := w.Append(context.Background(), kib(1))
					if err != nil {
						return
					}
					offs = append(offs, off)
				}
			}
			for episode := 1; episode <= 2; episode++ {
				off, err := w.Append(context.Background(), kib(1))
				if err != nil {
					t.Fatalf("episode %d: first Append: %v", episode, err)
				}
				offs = append(offs, off)
				fill()
				for i := 0; i < 20; i++ {
					_, err := w.Append(context.Background(), []byte("a record"))
					if !errors.Is(err, ErrFull) {
						t.Fatalf("episode %d: Append %d = %v, want ErrFull", episode, i, err)
					}
					if tc.disk && !errors.Is(err, syscall.ENOSPC) {
						t.Fatalf("Append on a full disk = %v, does not say ENOSPC", err)
					}
				}
				if got := logs.count(slog.LevelWarn, "full"); got != episode {
					t.Fatalf("after %d full episodes: %d warnings", episode, got)
				}
				fs.unlimit()
				if err := w.Commit(offs[len(offs)-1]); err != nil {
					t.Fatal(err)
				}
			}
			if got := logs.count(slog.LevelInfo, "accepting"); got != 1 {
				t.Fatalf("%d logs of accepting again, want 1 (between the episodes)", got)
			}
			// Refused writes left nothing behind.
			w.Close()
			w2 := open(t, dir, Options{SegmentSize: 4 << 10, MaxBytes: 16 << 10})
			if st := w2.Stats(); st.TornTruncations != 0 || st.Corrupted != 0 {
				t.Fatalf("refused appends left damage: %+v", st)
			}
			if off, err := w2.Append(context.Background(), []byte("x")); err != nil || off != offs[len(offs)-1]+1 {
				t.Fatalf("Append after reopen = %d, %v; want %d", off, err, offs[len(offs)-1]+1)
			}
		})
	}
}

// TestFsyncFailureIsSticky: after a failed fsync the log refuses appends
// with ErrFailed, without another fsync or log line, and says so in Err.
func TestFsyncFailureIsSticky(t *testing.T) {
	fs := newFaultFS()
	logs := &logRecorder{}
	w := open(t, t.TempDir(), Options{fs: fs, Logger: slog.New(logs)})
	offs := appendN(t, w, 0, 3)
	if err := w.Err(); err != nil {
		t.Fatalf("Err of a healthy log = %v", err)
	}
	fs.mu.Lock()
	fs.syncErr = syscall.EIO
	fs.mu.Unlock()
	if _, err := w.Append(context.Background(), rec(3)); !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append with a failing fsync = %v, want ErrFailed and EIO", err)
	}
	if err := w.Err(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Err = %v, want ErrFailed", err)
	}
	syncs := fs.syncCount()
	fs.mu.Lock()
	fs.syncErr = nil // even with the disk back, nothing is trusted
	fs.mu.Unlock()
	for i := 0; i < 10; i++ {
		if _, err := w.Append(context.Background(), rec(4+i)); !errors.Is(err, ErrFailed) {
			t.Fatalf("Append %d after the failure = %v, want ErrFailed", i, err)
		}
	}
	if got := fs.syncCount(); got != syncs {
		t.Fatalf("%d fsyncs after the failure", got-syncs)
	}
	if got := logs.count(slog.LevelError, "failed"); got != 1 {
		t.Fatalf("%d error logs, want 1", got)
	}
	// What was durable before the failure is still served and committed.
	wantRecords(t, readAll(t, w, 0, 1<<20), expect(offs, 0))
	if err := w.Commit(offs[2]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Close = %v, want ErrFailed", err)
	}
}

// TestDamageCountedAndLogged: a torn tail of the last segment is what a
// crash leaves (a warning); a torn tail of an older segment, or a damaged
// record, is acknowledged data lost (an error), and each is in Stats.
func TestDamageCountedAndLogged(t *testing.T) {
	type want struct {
		torn, tornBytes, lostTails, lostRecords, corrupted int64
		errors, warnings                                   int
	}
	// Five segments of four 1 KiB records; records 1-4 are committed.
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, segs []string)
		want   want
	}{
		{"torn tail of the last segment", func(t *testing.T, segs []string) {
			truncate(t, segs[4], 3<<10+100)
		}, want{torn: 1, tornBytes: 100, warnings: 1}},
		{"torn tail of an older segment", func(t *testing.T, segs []string) {
			truncate(t, segs[2], 2<<10+100) // records 11, 12
		}, want{torn: 1, tornBytes: 100, lostTails: 1, lostRecords: 2, errors: 1}},
		{"torn tail of a committed segment", func(t *testing.T, segs []string) {
			truncate(t, segs[0], 2<<10+100)
		}, want{}},
		{"damaged record", func(t *testing.T, segs []string) {
			flip(t, segs[1], 1<<10+headerSize+5)
		}, want{corrupted: 1, errors: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := Options{SegmentSize: 4 << 10, MaxBytes: 1 << 20}
			w := open(t, dir, o)
			for i := 0; i < 20; i++ {
				if _, err := w.Append(context.Background(), kib(1)); err != nil {
					t.Fatal(err)
				}
			}
			// Keep the committed first segment: Commit deletes it.
			w.Close()
			segs := segFiles(t, dir)
			if len(segs) != 5 {
				t.Fatalf("%d segments, want 5", len(segs))
			}
			tc.damage(t, segs)
			writeCheckpointAt(t, dir, 4)
			logs := &logRecorder{}
			o.Logger = slog.New(logs)
			w2 := open(t, dir, o)
			st := w2.Stats()
			got := want{
				torn: st.TornTruncations, tornBytes: st.TornBytes, lostTails: st.LostTails,
				lostRecords: st.LostRecords, corrupted: st.Corrupted,
				errors: logs.count(slog.LevelError, "lost acknowledged"), warnings: logs.count(slog.LevelWarn, "torn"),
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// writeCheckpointAt makes the checkpoint in dir say off, as a Commit would
// have.
func writeCheckpointAt(t *testing.T, dir string, off Offset) {
	t.Helper()
	b := make([]byte, checkpointSize)
	appendSlot(b[:0], off)
	appendSlot(b[slotStride:slotStride], off)
	if err := os.WriteFile(filepath.Join(dir, checkpointName), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
