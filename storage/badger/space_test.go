package badger

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// heldBytes sums the keys and values the store holds.
func heldBytes(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	err := s.db.View(func(txn *badgerdb.Txn) error {
		it := txn.NewIterator(badgerdb.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n += it.Item().KeySize() + it.Item().ValueSize()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestResourceStoredOnce writes 300 spans sharing one Resource with a 1 MB
// attribute, as the decoder gives them (301 MB were written before): the
// resource is stored once, and a read shares one copy.
func TestResourceStoredOnce(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir())
	res := []storage.Attribute{{Key: "service.name", Value: "big"}, {Key: "blob", Value: strings.Repeat("x", 1<<20)}}
	spans := storagetest.NewGenerator(14).Trace(time.Now().Add(-time.Minute), 300)
	for i := range spans {
		spans[i].Resource = res
		spans[i].Service = "big"
	}
	if err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	// Twice, as a retry does: still once.
	if err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	got := heldBytes(t, s)
	t.Logf("store holds %d bytes for 300 spans sharing a 1 MiB resource", got)
	if got > 2<<20 {
		t.Errorf("store holds %d bytes for 300 spans sharing a 1 MiB resource, want under 2 MiB", got)
	}
	tr, err := s.Trace(ctx, spans[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Spans) != len(spans) {
		t.Fatalf("Trace = %d spans, want %d", len(tr.Spans), len(spans))
	}
	for i := range tr.Spans {
		if &tr.Spans[i].Resource[0] != &tr.Spans[0].Resource[0] {
			t.Fatalf("span %d has its own copy of the resource", i)
		}
	}
	if d := storagetest.DiffSpans(tr.Spans, spans); d != "" {
		t.Fatalf("Trace differs:\n%s", d)
	}
}

// TestOpenAfterCrashMemtable opens a store in the state a crash can leave
// (dgraph-io/badger#2207): an empty memtable file, which Badger refuses.
func TestOpenAfterCrashMemtable(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := Open(dir, WithLogger(discard()))
	if err != nil {
		t.Fatal(err)
	}
	spans := storagetest.NewGenerator(15).Trace(time.Now().Add(-time.Minute), 5)
	if err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Badger names memtables by a five-digit file id; take one past the
	// highest id in the directory.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fid := 0
	for _, e := range entries {
		var n int
		if _, err := fmt.Sscanf(e.Name(), "%05d.", &n); err == nil && n >= fid {
			fid = n + 1
		}
	}
	empty := filepath.Join(dir, fmt.Sprintf("%05d.mem", fid))
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	tr, err := s.Trace(ctx, spans[0].TraceID)
	if err != nil {
		t.Fatalf("Trace after recovery: %v", err)
	}
	if d := storagetest.DiffSpans(tr.Spans, spans); d != "" {
		t.Fatalf("Trace after recovery differs:\n%s", d)
	}
}

// TestPurgeReclaimsValueLog: the disk that large spans took in the value
// log is freed by Purge (its value log garbage collection), once Badger's
// compactions have counted the deleted values.
func TestPurgeReclaimsValueLog(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	opts := []Option{WithLogger(discard()), WithBadgerOptions(func(o badgerdb.Options) badgerdb.Options {
		return o.WithValueLogFileSize(1 << 20).WithValueThreshold(1 << 10).WithMemTableSize(1 << 20).WithNumMemtables(1).WithNumLevelZeroTables(1).WithBaseTableSize(1 << 20).WithBaseLevelSize(1 << 20)
	})}
	s, err := Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	g := storagetest.NewGenerator(16)
	old := time.Now().Add(-48 * time.Hour)
	for i := range 16 {
		tr := g.Trace(old.Add(time.Duration(i)*time.Second), 4)
		for j := range tr {
			tr[j].Attributes = append(tr[j].Attributes, storage.Attribute{Key: "payload", Value: strings.Repeat(fmt.Sprint(i), 64<<10)})
		}
		if err := s.WriteSpans(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir, opts...); err != nil {
		t.Fatal(err)
	}
	before := vlogBytes(t, dir)
	if before < 3<<20 {
		t.Fatalf("value log holds %d bytes, want the 4 MiB of spans in it", before)
	}
	if err := s.Purge(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Let Badger's compactions count the deleted values: flush the deletes
	// (Close), then compact everything into one level.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir, opts...); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Badger compacts level 0 in the background (one table triggers it
	// here): wait until it has, bounded.
	deadline := time.Now().Add(30 * time.Second)
	for inL0(s) {
		if time.Now().After(deadline) {
			t.Fatal("Badger did not compact level 0 within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Purge(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if after := vlogBytes(t, dir); after > before/2 {
		t.Fatalf("value log holds %d bytes after Purge, %d before: not reclaimed", after, before)
	}
}

// vlogBytes is the size of the value log files in dir, the one being
// written excepted (Badger preallocates it).
func vlogBytes(t *testing.T, dir string) int64 {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for i, f := range files {
		if i == len(files)-1 {
			break
		}
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		n += st.Size()
	}
	return n
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// inL0 reports whether the store has tables at level 0.
func inL0(s *Store) bool {
	for _, tb := range s.db.Tables() {
		if tb.Level == 0 {
			return true
		}
	}
	return false
}

// TestDependencyLimit: a window whose partial minutes hold more spans than
// MaxDependencySpans is refused with ErrInvalidQuery; whole minutes are
// read from the edge aggregates and do not count.
func TestDependencyLimit(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir(), WithReaderLimits(storage.ReaderLimits{MaxDependencySpans: 5}))
	minute := time.Unix(0, floorTo(time.Now().Add(-10*time.Minute).UnixNano(), minuteNs))
	if err := s.WriteSpans(ctx, storagetest.NewGenerator(17).Trace(minute.Add(10*time.Second), 6)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dependencies(ctx, minute.Add(30*time.Second), time.Hour); !errors.Is(err, storage.ErrInvalidQuery) {
		t.Fatalf("Dependencies over 6 spans of a partial minute with MaxDependencySpans 5: err = %v, want ErrInvalidQuery", err)
	}
	if _, err := s.Dependencies(ctx, minute.Add(time.Minute-1), time.Hour); err != nil {
		t.Fatalf("Dependencies over whole minutes: %v", err)
	}
	if _, err := s.Dependencies(ctx, time.Now(), time.Second); err != nil {
		t.Fatalf("Dependencies over an empty window: %v", err)
	}
}

// TestPurgeResources: a resource goes with the last span that used it, and
// one still used stays.
func TestPurgeResources(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir())
	g := storagetest.NewGenerator(18)
	shared := []storage.Attribute{{Key: "service.name", Value: "both"}}
	gone := []storage.Attribute{{Key: "service.name", Value: "old only"}}
	old := g.Trace(time.Now().Add(-48*time.Hour), 3)
	recent := g.Trace(time.Now().Add(-time.Minute), 2)
	for i := range old {
		old[i].Resource = gone
	}
	old[0].Resource = shared
	for i := range recent {
		recent[i].Resource = shared
	}
	if err := s.WriteSpans(ctx, append(old, recent...)); err != nil {
		t.Fatal(err)
	}
	count := func() (res, uses int) {
		t.Helper()
		if err := s.db.View(func(txn *badgerTxn) error {
			res = len(keysWithPrefix(txn, []byte{pResource}))
			uses = len(keysWithPrefix(txn, []byte{pResUse}))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return res, uses
	}
	// A use is a resource and an hour of spans.
	hours := func(spans []storage.Span) int {
		seen := map[int64]bool{}
		for _, sp := range spans {
			seen[hourOf(sp.StartTime)] = true
		}
		return len(seen)
	}
	wantUses := hours(old[:1]) + hours(old[1:]) + hours(recent)
	if res, uses := count(); res != 2 || uses != wantUses {
		t.Fatalf("before Purge: %d resources, %d uses; want 2 and %d", res, uses, wantUses)
	}
	if err := s.Purge(ctx, time.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if res, uses := count(); res != 1 || uses != hours(recent) {
		t.Fatalf("after Purge: %d resources, %d uses; want 1 and %d", res, uses, hours(recent))
	}
	tr, err := s.Trace(ctx, recent[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	if d := storagetest.DiffSpans(tr.Spans, recent); d != "" {
		t.Fatalf("Trace after Purge:\n%s", d)
	}
	// Written again after its purge, a resource is stored again.
	if err := s.WriteSpans(ctx, old[1:2]); err != nil {
		t.Fatal(err)
	}
	tr, err = s.Trace(ctx, old[1].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	if d := storagetest.DiffSpans(tr.Spans, old[1:2]); d != "" {
		t.Fatalf("Trace of a span written again after its resource was purged:\n%s", d)
	}
}
