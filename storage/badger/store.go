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

// maxListCache bounds the set of service and operation list keys a Store
// remembers having written; past it the set is cleared (and the keys are
// written again, harmlessly).
const maxListCache = 100_000

// Store is a storage.Store on an embedded Badger database. It is safe for
// concurrent use.
type Store struct {
	db       *badgerdb.DB
	logger   *slog.Logger
	maxValue int // the largest encoded span Badger takes

	// mu guards closed and orders writes against the list clean-up of
	// Purge: readers and writers hold it shared, Close and the list
	// clean-up exclusively.
	mu     sync.RWMutex
	closed bool

	listMu    sync.Mutex
	listCache map[string]struct{} // list keys known to be stored

	stop    context.CancelFunc
	wg      sync.WaitGroup
	closeMu sync.Mutex
}

var _ storage.Store = (*Store)(nil)

// Open opens (creating if needed) the store in directory dir.
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
	db, err := badgerdb.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("badger: open %s: %w", dir, err)
	}
	s := &Store{db: db, logger: c.logger, listCache: make(map[string]struct{}), maxValue: int(bo.ValueLogFileSize) - 1<<10}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	if c.retention > 0 {
		interval := c.purgeInterval
		if interval == 0 {
			interval = min(max(c.retention/24, time.Minute), time.Hour)
		}
		s.wg.Go(func() { s.retain(ctx, c.retention, interval) })
	}
	return s, nil
}

// Close stops retention and closes the database. It is safe to call more
// than once.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	s.stop()
	s.wg.Wait()
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
// default) they are on disk when it returns nil.
func (s *Store) WriteSpans(ctx context.Context, spans []storage.Span) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if len(spans) == 0 {
		return nil
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	// Keys and values live in arena until Flush; a slice taken from it is
	// never written again, even when arena grows.
	arena := make([]byte, 0, 1024*len(spans))
	var setErr error
	set := func(k, v []byte) {
		if setErr != nil {
			return
		}
		n := len(arena)
		arena = append(arena, k...)
		arena = append(arena, v...)
		key := arena[n : n+len(k) : n+len(k)]
		val := arena[n+len(k) : len(arena) : len(arena)]
		setErr = wb.Set(key, val)
	}
	var lists map[string]string // list key -> value, not yet known stored
	s.listMu.Lock()
	var tmp []byte
	for i := range spans {
		sp := &spans[i]
		tmp = serviceListKey(tmp[:0], sp.Service)
		if _, ok := s.listCache[string(tmp)]; !ok {
			if lists == nil {
				lists = make(map[string]string)
			}
			lists[string(tmp)] = sp.Service
		}
		tmp = opListKey(tmp[:0], sp.Service, sp.Name, sp.Kind)
		if _, ok := s.listCache[string(tmp)]; !ok {
			if lists == nil {
				lists = make(map[string]string)
			}
			lists[string(tmp)] = sp.Name
		}
	}
	s.listMu.Unlock()

	for i := range spans {
		sp := &spans[i]
		n := len(arena)
		arena = spanKey(arena, sp.TraceID, sp.SpanID)
		k := arena[n:len(arena):len(arena)]
		n = len(arena)
		arena = appendSpan(arena, sp)
		if size := len(arena) - n; size > s.maxValue {
			return storage.Permanent(fmt.Errorf("badger: write spans: span %s/%s encodes to %d bytes, over the limit of %d", sp.TraceID, sp.SpanID, size, s.maxValue))
		}
		if setErr == nil {
			setErr = wb.Set(k, arena[n:len(arena):len(arena)])
		}
		tmp = indexKeys(tmp, sp, set)
	}
	for k, v := range lists {
		set([]byte(k), []byte(v))
	}
	if setErr != nil {
		return fmt.Errorf("badger: write spans: %w", setErr)
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("badger: write spans: %w", err)
	}
	if len(lists) > 0 {
		s.listMu.Lock()
		if len(s.listCache)+len(lists) > maxListCache {
			clear(s.listCache)
		}
		for k := range lists {
			s.listCache[k] = struct{}{}
		}
		s.listMu.Unlock()
	}
	return nil
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
		tr, err = loadTrace(ctx, txn, id)
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

func loadTrace(ctx context.Context, txn *badgerdb.Txn, id storage.TraceID) (storage.Trace, error) {
	tr := storage.Trace{ID: id}
	prefix := append([]byte{pSpan}, id[:]...)
	it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if len(tr.Spans)%256 == 255 {
			if err := ctx.Err(); err != nil {
				return tr, err
			}
		}
		sp, err := spanValue(it.Item())
		if err != nil {
			return tr, fmt.Errorf("trace %s: %w", id, err)
		}
		tr.Spans = append(tr.Spans, sp)
	}
	return tr, nil
}

func spanValue(item *badgerdb.Item) (storage.Span, error) {
	var sp storage.Span
	err := item.Value(func(v []byte) error {
		var err error
		sp, err = decodeSpan(v)
		return err
	})
	return sp, err
}

// getSpan reads one span; ok is false when it is not stored.
func getSpan(txn *badgerdb.Txn, key []byte) (storage.Span, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badgerdb.ErrKeyNotFound) {
		return storage.Span{}, false, nil
	}
	if err != nil {
		return storage.Span{}, false, err
	}
	sp, err := spanValue(item)
	if err != nil {
		return storage.Span{}, false, err
	}
	return sp, true, nil
}

// Services returns the services seen, sorted.
func (s *Store) Services(ctx context.Context) ([]string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	out := []string{}
	err := s.db.View(func(txn *badgerdb.Txn) error {
		return scanValues(txn, []byte{pServices}, func(_, v []byte) {
			out = append(out, string(v))
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
			if kind == storage.KindUnspecified || op.Kind == kind {
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
// spans of parents that started before it.
func (s *Store) Dependencies(ctx context.Context, end time.Time, lookback time.Duration) ([]storage.Dependency, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	type node struct {
		service  string
		parent   storage.SpanID
		isErr    bool
		inWindow bool // a child to count; false for parents read from before
	}
	type ids struct {
		t storage.TraceID
		s storage.SpanID
	}
	nodes := make(map[ids]node)
	intern := make(map[string]string)
	lo, hi := end.Add(-lookback).UnixNano(), end.UnixNano()
	err := s.db.View(func(txn *badgerdb.Txn) error {
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
			err := item.Value(func(v []byte) error {
				if len(v) < 9 {
					return fmt.Errorf("time index value of %d bytes", len(v))
				}
				nd := node{isErr: storage.StatusCode(v[8]) == storage.StatusError, inWindow: true}
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
		for id, nd := range nodes {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			pid := ids{id.t, nd.parent}
			if _, ok := nodes[pid]; ok || nd.parent.IsZero() || !nd.inWindow {
				continue
			}
			key = spanKey(key[:0], pid.t, pid.s)
			sp, ok, err := getSpan(txn, key)
			if err != nil {
				return err
			}
			if ok && sp.StartTime <= hi {
				nodes[pid] = node{service: sp.Service, parent: sp.ParentSpanID}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: dependencies: %w", err)
	}
	type edge struct{ parent, child string }
	counts := make(map[edge]*storage.Dependency)
	for id, nd := range nodes {
		if nd.parent.IsZero() || !nd.inWindow {
			continue
		}
		p, ok := nodes[ids{id.t, nd.parent}]
		if !ok || p.service == nd.service {
			continue
		}
		e := edge{p.service, nd.service}
		d := counts[e]
		if d == nil {
			d = &storage.Dependency{Parent: e.parent, Child: e.child}
			counts[e] = d
		}
		d.CallCount++
		if nd.isErr {
			d.ErrorCount++
		}
	}
	out := make([]storage.Dependency, 0, len(counts))
	for _, d := range counts {
		out = append(out, *d)
	}
	storage.SortDependencies(out)
	return out, nil
}
