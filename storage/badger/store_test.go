package badger

import (
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/storagetest"
)

func open(t testing.TB, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(dir, append([]Option{WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, limits storage.ReaderLimits) storage.Store {
		return open(t, t.TempDir(), WithReaderLimits(limits))
	})
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	g := storagetest.NewGenerator(7)
	tr := g.Trace(time.Now().Add(-time.Minute), 20)
	if err := s.WriteSpans(ctx, tr); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.WriteSpans(ctx, tr); err == nil {
		t.Fatal("WriteSpans after Close: no error")
	}

	s = open(t, dir)
	got, err := s.Trace(ctx, tr[0].TraceID)
	if err != nil {
		t.Fatalf("Trace after reopen: %v", err)
	}
	if d := storagetest.DiffSpans(got.Spans, tr); d != "" {
		t.Fatalf("Trace after reopen differs:\n%s", d)
	}
	svcs, err := s.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := storagetest.SortedServices(tr); len(svcs) != len(want) {
		t.Fatalf("Services after reopen = %q, want %q", svcs, want)
	}
}

func TestPurgeForgetsServices(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir())
	old := time.Now().Add(-48 * time.Hour)
	mk := func(id byte, svc, op string, start time.Time) storage.Span {
		return storage.Span{
			TraceID: storage.TraceID{1, id}, SpanID: storage.SpanID{1}, Service: svc, Name: op,
			Kind: storage.KindServer, StartTime: start.UnixNano(), EndTime: start.UnixNano() + 1,
		}
	}
	if err := s.WriteSpans(ctx, []storage.Span{mk(1, "gone", "x", old), mk(2, "kept", "old-op", old), mk(3, "kept", "new-op", time.Now())}); err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx, time.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	svcs, err := s.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) != 1 || svcs[0] != "kept" {
		t.Errorf("Services after Purge = %q, want [kept]", svcs)
	}
	ops, err := s.Operations(ctx, "kept", storage.KindUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 1 || ops[0].Name != "new-op" {
		t.Errorf("Operations after Purge = %+v, want [new-op]", ops)
	}
	// A service written again after its entry was purged is listed again.
	if err := s.WriteSpans(ctx, []storage.Span{mk(4, "gone", "x", time.Now())}); err != nil {
		t.Fatal(err)
	}
	if svcs, _ := s.Services(ctx); len(svcs) != 2 {
		t.Errorf("Services after a new write = %q, want [gone kept]", svcs)
	}
	// Every key of the purged spans is gone: only the live spans' remain,
	// and the format version.
	var keys int
	live := 1
	for _, sp := range []storage.Span{mk(3, "kept", "new-op", time.Now()), mk(4, "gone", "x", time.Now())} {
		indexKeys(nil, &sp, func(_, _ []byte) { live++ })
		live += 1 + 2 + 6 // span, service list, operation list, RED per minute, ten minutes and hour, per service and operation
	}
	if err := s.db.View(func(txn *badgerTxn) error {
		keys = len(keysWithPrefix(txn, nil))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if keys != live {
		t.Errorf("store holds %d keys after Purge, want %d", keys, live)
	}
}

func TestCorruptValue(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir())
	id := storage.TraceID{9}
	if err := s.db.Update(func(txn *badgerTxn) error {
		return txn.Set(spanKey(nil, id, storage.SpanID{1}), []byte{spanVersion, 1, 2})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Trace(ctx, id); err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Trace(corrupt span): err = %v, want a decode error", err)
	}
}

func TestOpenEmptyDir(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Fatal("Open(\"\"): no error")
	}
}

// TestOpenNewDir: a directory that does not exist yet is created, as on a
// first start (the crash recovery's look for empty memtables must not
// refuse it).
func TestOpenNewDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "badger")
	s := open(t, dir)
	if err := s.WriteSpans(t.Context(), storagetest.NewGenerator(1).Trace(time.Now(), 2)); err != nil {
		t.Fatal(err)
	}
}

// TestSpanTooBig: a span over Badger's value limit is rejected by name, and
// its batch-mates are stored.
func TestSpanTooBig(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir(), WithBadgerOptions(func(o badgerdb.Options) badgerdb.Options {
		return o.WithValueLogFileSize(1 << 20) // Badger's minimum
	}))
	spans := storagetest.NewGenerator(13).Trace(time.Now().Add(-time.Minute), 3)
	spans[1].Attributes = append(spans[1].Attributes, storage.Attribute{Key: "big", Value: strings.Repeat("x", 2<<20)})
	err := s.WriteSpans(ctx, spans)
	var rej *storage.RejectedError
	if !errors.As(err, &rej) || len(rej.Spans) != 1 || rej.Spans[0].Index != 1 {
		t.Fatalf("WriteSpans(span 1 over the value limit): err = %v, want span 1 rejected", err)
	}
	got, err := s.Trace(ctx, spans[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	if d := storagetest.DiffSpans(got.Spans, []storage.Span{spans[0], spans[2]}); d != "" {
		t.Fatalf("batch-mates of the rejected span:\n%s", d)
	}
	// A search finds nothing of the rejected span.
	found, err := s.FindTraces(ctx, storage.Query{Service: spans[1].Service, Operation: spans[1].Name})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range found {
		for _, sp := range tr.Spans {
			if sp.SpanID == spans[1].SpanID {
				t.Fatal("the rejected span is stored")
			}
		}
	}
}

// TestRenamedOperation: Badger drops a renamed span's old name from
// Operations (the contract allows keeping it; Badger promises more).
func TestRenamedOperation(t *testing.T) {
	storagetest.RenamedOperation(t, open(t, t.TempDir()))
}
