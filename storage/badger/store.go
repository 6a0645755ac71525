package badger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

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

	listMu    sync.Mutex
	listCache map[string]struct{} // list and resource keys known to be stored
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
		WithValueThreshold(4 << 10)
	if c.tune != nil {
		bo = c.tune(bo)
	}
	bo = bo.WithDir(dir).WithValueDir(dir).WithSyncWrites(c.syncWrites).WithLogger(badgerLogger{c.logger})
	db, err := openDB(bo, c.logger)
	if err != nil {
		return nil, fmt.Errorf("badger: open %s: %w", dir, err)
	}
	return &Store{
		db:        db,
		logger:    c.logger,
		limits:    c.limits.WithDefaults(),
		listCache: make(map[string]struct{}),
		maxValue:  int(bo.ValueLogFileSize) - 1<<10,
	}, nil
}

// Close closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
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

// WriteSpans stores spans and their index entries. With sync writes (the
// default) they are on disk when it returns nil. A span with a zero id, or
// one that encodes over the largest value Badger takes, is rejected
// (storage.RejectedError) and the others are stored. Each distinct resource
// is stored once and the spans refer to it.
func (s *Store) WriteSpans(ctx context.Context, spans []storage.Span) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if len(spans) == 0 {
		return nil
	}
	w := s.newWrite(spans)
	defer w.wb.Cancel()
	w.plan()
	if len(w.rejected) == len(spans) {
		return storage.Reject(w.rejected...)
	}
	if err := s.db.View(w.unindexStale); err != nil {
		return fmt.Errorf("badger: write spans: read stored versions: %w", err)
	}
	if err := w.flush(); err != nil {
		return fmt.Errorf("badger: write spans: %w", err)
	}
	s.remember(w.lists)
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

// Dependencies scans the start-time index over the window, then reads the
// spans of parents that started before it, and counts with a
// storage.DependencyCounter. A window of more than
// ReaderLimits.MaxDependencySpans spans is refused.
func (s *Store) Dependencies(ctx context.Context, end time.Time, lookback time.Duration) ([]storage.Dependency, error) {
	c, err := storage.NewDependencyCounter(end, lookback)
	if err != nil {
		return nil, fmt.Errorf("badger: %w", err)
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	type node struct {
		service  string
		parent   storage.SpanID
		start    int64
		status   storage.StatusCode
		inWindow bool // a child to count; false for parents read from before
	}
	type ids struct {
		t storage.TraceID
		s storage.SpanID
	}
	nodes := make(map[ids]node)
	intern := make(map[string]string)
	lo, hi := c.Window()
	err = s.db.View(func(txn *badgerdb.Txn) error {
		it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: []byte{pTime}})
		defer func() {
			if it != nil {
				it.Close()
			}
		}()
		n := 0
		for it.Seek(appendTime([]byte{pTime}, lo)); it.Valid(); it.Next() {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			item := it.Item()
			sfx, ok := parseSuffix(item.Key())
			if !ok {
				continue
			}
			if sfx.start > hi {
				break
			}
			if len(nodes) >= s.limits.MaxDependencySpans {
				return fmt.Errorf("more than %d spans in the window, ask for a shorter lookback: %w", s.limits.MaxDependencySpans, storage.ErrInvalidQuery)
			}
			err := item.Value(func(v []byte) error {
				if len(v) < 9 {
					return fmt.Errorf("time index value of %d bytes", len(v))
				}
				nd := node{status: storage.StatusCode(v[8]), start: sfx.start, inWindow: true}
				copy(nd.parent[:], v[:8])
				svc, ok := intern[string(v[9:])]
				if !ok {
					svc = string(v[9:])
					intern[svc] = svc
				}
				nd.service = svc
				nodes[ids{sfx.trace, sfx.span}] = nd
				return nil
			})
			if err != nil {
				return err
			}
		}
		it.Close()
		it = nil
		// Parents that started before the window: read their spans.
		var key []byte
		var before []ids
		for id, nd := range nodes {
			pid := ids{id.t, nd.parent}
			if _, ok := nodes[pid]; ok || nd.parent.IsZero() || !nd.inWindow {
				continue
			}
			before = append(before, pid)
		}
		for _, pid := range before {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if _, ok := nodes[pid]; ok {
				continue
			}
			key = spanKey(key[:0], pid.t, pid.s)
			sp, ok, err := getSpan(txn, key, nil)
			if err != nil {
				return err
			}
			if ok {
				nodes[pid] = node{service: sp.Service, parent: sp.ParentSpanID, start: sp.StartTime}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: dependencies: %w", err)
	}
	for id, nd := range nodes {
		if nd.parent.IsZero() || !nd.inWindow {
			continue
		}
		if p, ok := nodes[ids{id.t, nd.parent}]; ok {
			c.Count(p.service, p.start, nd.service, nd.status)
		}
	}
	return c.Dependencies(), nil
}
