package badger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
)

// errClosed is returned by every method of a closed Store.
var errClosed = errors.New("badger: store closed")

// maxListCache bounds the set of service, operation and resource keys a
// Store remembers having written; past it the set is cleared (and the keys
// are written again, harmlessly).
const maxListCache = 100_000

// Store is a storage.Store on an embedded Badger database. It is safe for
// concurrent use.
type Store struct {
	db       *badgerdb.DB
	logger   *slog.Logger
	limits   storage.ReaderLimits
	maxValue int // the largest value Badger takes

	// mu guards closed and orders writes against the clean-up of lists and
	// resources in Purge: readers and writers hold it shared, Close and the
	// clean-up exclusively.
	mu     sync.RWMutex
	closed bool
	// streams counts the StreamTrace calls under way: each holds a
	// read transaction across its callbacks, which Close waits for.
	streams sync.WaitGroup

	listMu    sync.Mutex
	listCache map[string]struct{} // list and resource keys known to be stored
	attrCache map[string]struct{} // attribute listing keys known stored
	valCount  map[string]int      // listed values per attribute key prefix

	// wmu orders writes: a write reads the stored state (old versions of
	// its spans, parents, children, aggregate values) and writes what
	// changes, which must not interleave with another write or a Purge.
	wmu      sync.Mutex
	aggCache map[string][]byte // aggregate values (nil: none stored); wmu guards it
}

var _ storage.Store = (*Store)(nil)

// Open opens (creating if needed) the store in directory dir. It runs no
// goroutine of its own: retention and value log garbage collection run in
// Purge, which the caller owns.
func Open(dir string, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, errors.New("badger: empty directory")
	}
	c := defaultConfig()
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	bo := badgerdb.DefaultOptions(dir).
		WithMemTableSize(16 << 20).
		WithNumMemtables(3).
		WithBlockCacheSize(64 << 20).
		WithNumCompactors(2).
		WithValueLogFileSize(256 << 20).
		WithValueThreshold(4 << 10).
		WithDetectConflicts(false) // writes are ordered by Store.wmu
	if c.tune != nil {
		bo = c.tune(bo)
	}
	bo = bo.WithDir(dir).WithValueDir(dir).WithSyncWrites(c.syncWrites).WithLogger(badgerLogger{c.logger})
	db, err := openDB(bo, c.logger)
	if err != nil {
		return nil, fmt.Errorf("badger: open %s: %w", dir, err)
	}
	older, err := checkFormat(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("badger: open %s: %w", dir, err)
	}
	s := &Store{
		db:        db,
		logger:    c.logger,
		limits:    c.limits.WithDefaults(),
		listCache: make(map[string]struct{}),
		attrCache: make(map[string]struct{}),
		valCount:  make(map[string]int),
		aggCache:  make(map[string][]byte),
		maxValue:  int(bo.ValueLogFileSize) - 1<<10,
	}
	if older {
		if err := s.rebuild(context.Background()); err != nil {
			db.Close()
			return nil, fmt.Errorf("badger: open %s: rebuild the aggregates of a store written by an older Tracer: %w", dir, err)
		}
	}
	return s, nil
}

// Close closes the database. It is safe to call more than once. A
// StreamTrace under way stops at its next batch (with an error), and Close
// waits for it: for the callback it is in to return.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.streams.Wait()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("badger: close: %w", err)
	}
	return nil
}

// begin checks ctx and that the store is open, and takes the shared lock;
// the caller must call s.mu.RUnlock when it returns nil.
func (s *Store) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed
	}
	return nil
}

// WriteSpans stores spans, their index entries and the aggregates they
// change. With sync writes (the default) they are on disk when it returns
// nil. A span with a zero id, or one that encodes over the largest value
// Badger takes, is rejected (storage.RejectedError) and the others are
// stored. Each distinct resource is stored once and the spans refer to it.
// Writes run one at a time.
func (s *Store) WriteSpans(ctx context.Context, spans []storage.Span) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if len(spans) == 0 {
		return nil
	}
	w := s.newWrite(spans)
	w.plan()
	if len(w.rejected) == len(spans) {
		return storage.Reject(w.rejected...)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := w.store(ctx); err != nil {
		return fmt.Errorf("badger: write spans: %w", err)
	}
	return storage.Reject(w.rejected...)
}

// remember adds keys to the cache of list and resource keys known stored.
func (s *Store) remember(keys map[string][]byte) {
	if len(keys) == 0 {
		return
	}
	s.listMu.Lock()
	defer s.listMu.Unlock()
	if len(s.listCache)+len(keys) > maxListCache {
		clear(s.listCache)
	}
	for k := range keys {
		s.listCache[k] = struct{}{}
	}
}

// known reports whether key is in the cache of keys known stored.
func (s *Store) known(key []byte) bool {
	s.listMu.Lock()
	defer s.listMu.Unlock()
	_, ok := s.listCache[string(key)]
	return ok
}

// Trace returns every stored span of the trace: one prefix scan.
func (s *Store) Trace(ctx context.Context, id storage.TraceID) (storage.Trace, error) {
	if err := s.begin(ctx); err != nil {
		return storage.Trace{}, err
	}
	defer s.mu.RUnlock()
	var tr storage.Trace
	err := s.db.View(func(txn *badgerdb.Txn) error {
		var err error
		tr, err = loadTrace(ctx, txn, id, s.limits.MaxTraceSpans, newResources(txn))
		return err
	})
	if err != nil {
		return storage.Trace{}, fmt.Errorf("badger: %w", err)
	}
	if len(tr.Spans) == 0 {
		return storage.Trace{}, storage.ErrNotFound
	}
	return tr, nil
}

// loadTrace reads the spans of trace id, at most max of them, resolving
// resources through res.
func loadTrace(ctx context.Context, txn *badgerdb.Txn, id storage.TraceID, max int, res *resources) (storage.Trace, error) {
	tr := storage.Trace{ID: id}
	prefix := append([]byte{pSpan}, id[:]...)
	it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if len(tr.Spans) == max {
			tr.Truncated = true
			break
		}
		if len(tr.Spans)%256 == 255 {
			if err := ctx.Err(); err != nil {
				return tr, err
			}
		}
		sp, err := spanValue(it.Item(), res)
		if err != nil {
			return tr, fmt.Errorf("trace %s: %w", id, err)
		}
		tr.Spans = append(tr.Spans, sp)
	}
	return tr, nil
}

func spanValue(item *badgerdb.Item, res resolver) (storage.Span, error) {
	var sp storage.Span
	err := item.Value(func(v []byte) error {
		var err error
		sp, err = decodeSpan(v, res)
		return err
	})
	return sp, err
}

// getSpan reads one span; ok is false when it is not stored. A nil res
// leaves the span's Resource out.
func getSpan(txn *badgerdb.Txn, key []byte, res resolver) (storage.Span, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badgerdb.ErrKeyNotFound) {
		return storage.Span{}, false, nil
	}
	if err != nil {
		return storage.Span{}, false, err
	}
	sp, err := spanValue(item, res)
	if err != nil {
		return storage.Span{}, false, err
	}
	return sp, true, nil
}

// resources reads stored resources in one transaction, each once: the
// spans of one resource in one result share its slice.
type resources struct {
	txn  *badgerdb.Txn
	byID map[resID][]storage.Attribute
}

func newResources(txn *badgerdb.Txn) *resources {
	return &resources{txn: txn, byID: make(map[resID][]storage.Attribute)}
}

func (r *resources) resource(id resID) ([]storage.Attribute, error) {
	if a, ok := r.byID[id]; ok {
		return a, nil
	}
	item, err := r.txn.Get(resKey(nil, id))
	if err != nil {
		return nil, fmt.Errorf("resource %x: %w", id, err)
	}
	var a []storage.Attribute
	err = item.Value(func(v []byte) error {
		var err error
		a, err = decodeAttrs(v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("resource %x: %w", id, err)
	}
	r.byID[id] = a
	return a, nil
}

// Services returns the services seen, sorted.
func (s *Store) Services(ctx context.Context) ([]string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	out := []string{}
	err := s.db.View(func(txn *badgerdb.Txn) error {
		return scanValues(txn, []byte{pServices}, func(k, v []byte) {
			// A service whose spans were all written again under another
			// service has no index entry left.
			if hasPrefix(txn, append([]byte{pService}, k[1:]...)) {
				out = append(out, string(v))
			}
		})
	})
	if err != nil {
		return nil, fmt.Errorf("badger: services: %w", err)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Operations returns service's operations, sorted by name then kind.
func (s *Store) Operations(ctx context.Context, service string, kind storage.SpanKind) ([]storage.Operation, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	var out []storage.Operation
	prefix := appendTerm([]byte{pOps}, service)
	err := s.db.View(func(txn *badgerdb.Txn) error {
		return scanValues(txn, prefix, func(k, v []byte) {
			op := storage.Operation{Name: string(v), Kind: storage.SpanKind(k[len(k)-1])}
			if kind != storage.KindUnspecified && op.Kind != kind {
				return
			}
			// An operation whose spans were all written again under another
			// name has no index entry left.
			if hasPrefix(txn, append([]byte{pOp}, k[1:len(k)-1]...)) {
				out = append(out, op)
			}
		})
	})
	if err != nil {
		return nil, fmt.Errorf("badger: operations: %w", err)
	}
	storage.SortOperations(out)
	return slices.Compact(out), nil
}

func scanValues(txn *badgerdb.Txn, prefix []byte, fn func(k, v []byte)) error {
	it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 100})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if err := item.Value(func(v []byte) error {
			fn(item.Key(), v)
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
