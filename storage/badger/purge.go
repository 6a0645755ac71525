package badger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
)

// purgeChunk is how many spans Purge deletes per write batch.
const purgeChunk = 1000

// Purge deletes the spans that started before t with all their index
// entries, then the service and operation list entries that no span uses any
// more. Badger reclaims the disk space in later compactions and value log
// garbage collection (which retention runs).
func (s *Store) Purge(ctx context.Context, before time.Time) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	err := s.purgeSpans(ctx, before.UnixNano())
	s.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("badger: purge: %w", err)
	}
	if err := s.purgeLists(ctx); err != nil {
		return fmt.Errorf("badger: purge lists: %w", err)
	}
	return nil
}

func (s *Store) purgeSpans(ctx context.Context, cut int64) error {
	end := appendTime([]byte{pTime}, cut)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var dels [][]byte
		err := s.db.View(func(txn *badgerdb.Txn) error {
			it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: []byte{pTime}})
			defer it.Close()
			var keys [][]byte
			for it.Rewind(); it.Valid() && len(keys) < purgeChunk; it.Next() {
				k := it.Item().Key()
				if bytes.Compare(k, end) >= 0 {
					break
				}
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			var buf []byte
			for _, k := range keys {
				dels = append(dels, k)
				sfx, ok := parseSuffix(k)
				if !ok {
					continue
				}
				sk := spanKey(nil, sfx.trace, sfx.span)
				sp, ok, err := getSpan(txn, sk)
				if err != nil {
					return err
				}
				// The span may have been written again with another start
				// time: then only this stale index entry goes.
				if !ok || sp.StartTime >= cut {
					continue
				}
				dels = append(dels, sk)
				buf = indexKeys(buf, &sp, func(k, _ []byte) {
					dels = append(dels, bytes.Clone(k))
				})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(dels) == 0 {
			return nil
		}
		if err := s.deleteKeys(dels); err != nil {
			return err
		}
	}
}

// purgeLists deletes the service and operation list entries with no span
// left in their index. It holds the store's lock exclusively so that no
// write relies on an entry it deletes.
func (s *Store) purgeLists(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	var dels [][]byte
	err := s.db.View(func(txn *badgerdb.Txn) error {
		lists := append(keysWithPrefix(txn, []byte{pServices}), keysWithPrefix(txn, []byte{pOps})...)
		for _, k := range lists {
			var index []byte
			if k[0] == pServices {
				index = append([]byte{pService}, k[1:]...)
			} else {
				index = append([]byte{pOp}, k[1:len(k)-1]...) // without the kind
			}
			if !hasPrefix(txn, index) {
				dels = append(dels, k)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(dels) == 0 {
		return nil
	}
	if err := s.deleteKeys(dels); err != nil {
		return err
	}
	s.listMu.Lock()
	for _, k := range dels {
		delete(s.listCache, string(k))
	}
	s.listMu.Unlock()
	return nil
}

func hasPrefix(txn *badgerdb.Txn, prefix []byte) bool {
	it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

func keysWithPrefix(txn *badgerdb.Txn, prefix []byte) [][]byte {
	it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var keys [][]byte
	for it.Rewind(); it.Valid(); it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	return keys
}

// retain purges spans older than period every interval until ctx ends.
func (s *Store) retain(ctx context.Context, period, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Purge(ctx, time.Now().Add(-period)); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.logger.Warn("retention purge failed", "err", err)
		} else {
			s.gcValueLog(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// gcValueLog rewrites value log files that are mostly garbage, a few at a
// time.
func (s *Store) gcValueLog(ctx context.Context) {
	for range 8 {
		if err := s.begin(ctx); err != nil {
			return
		}
		err := s.db.RunValueLogGC(0.5)
		s.mu.RUnlock()
		if err != nil {
			if !errors.Is(err, badgerdb.ErrNoRewrite) && !errors.Is(err, badgerdb.ErrRejected) {
				s.logger.Warn("value log gc failed", "err", err)
			}
			return
		}
	}
}

var _ storage.Purger = (*Store)(nil)

// deleteKeys deletes keys in one write batch.
func (s *Store) deleteKeys(keys [][]byte) error {
	wb := s.db.NewWriteBatch()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			wb.Cancel()
			return err
		}
	}
	return wb.Flush()
}
