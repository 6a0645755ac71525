package badger

import (
	"context"
	"errors"
	"fmt"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
)

// formatVersion is the version of the key layout. Version 1 (no record)
// had spans and indexes without the aggregates (RED, dependency edges,
// attribute listings), the child index that keeps them, and the override
// entries of the attribute index; Open rebuilds those from the spans of a
// version 1 directory (see rebuild).
const formatVersion = 2

var formatKey = []byte{pMeta, 'f', 'o', 'r', 'm', 'a', 't'}

// checkFormat records the format version in a new store, reports whether
// the store is of version 1 (its aggregates must be rebuilt), and refuses
// a store of another version with an error that says what to do.
func checkFormat(db *badgerdb.DB) (older bool, err error) {
	err = db.Update(func(txn *badgerdb.Txn) error {
		item, err := txn.Get(formatKey)
		if errors.Is(err, badgerdb.ErrKeyNotFound) {
			it := txn.NewIterator(badgerdb.IteratorOptions{})
			it.Rewind()
			older = it.Valid()
			it.Close()
			if older {
				return nil
			}
			return txn.Set(formatKey, []byte{formatVersion})
		}
		if err != nil {
			return fmt.Errorf("read format version: %w", err)
		}
		return item.Value(func(v []byte) error {
			if len(v) != 1 || v[0] != formatVersion {
				return fmt.Errorf("the directory holds data in format version %v, this Tracer reads version %d: open it with the Tracer that wrote it, or move it aside and start with an empty one", v, formatVersion)
			}
			return nil
		})
	})
	return older, err
}

// rebuildBatch is how many stored spans rebuild reads per write.
const rebuildBatch = 1000

// rebuild makes a version 1 store a version 2 one: it deletes whatever a
// rebuild that did not finish left of the derived keys, writes every stored
// span again through the write path in key order, treating the spans not
// yet written again as absent (so that each edge and RED count is counted
// once, when the later of child and parent is written), and records the
// format version last: a crash restarts it.
func (s *Store) rebuild(ctx context.Context) error {
	start := time.Now()
	s.logger.Warn("the store was written by an older Tracer: rebuilding its RED, dependency and attribute aggregates from its spans; this takes about as long as writing them did")
	for _, p := range []byte{pChild, pRED, pEdge, pSkew, pAttrKey, pAttrVal} {
		if err := s.deleteRange(ctx, []byte{p}, []byte{p + 1}); err != nil {
			return fmt.Errorf("delete partial aggregates: %w", err)
		}
	}
	var after []byte
	n := 0
	for {
		var spans []storage.Span
		read := 0
		err := s.db.View(func(txn *badgerdb.Txn) error {
			res := newResources(txn)
			it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: []byte{pSpan}, PrefetchValues: true, PrefetchSize: 100})
			defer it.Close()
			if after == nil {
				it.Rewind()
			} else {
				it.Seek(append(after, 0))
			}
			for ; it.Valid() && read < rebuildBatch; it.Next() {
				read++
				after = it.Item().KeyCopy(after[:0])
				sp, err := spanValue(it.Item(), res)
				if err != nil {
					s.logger.Warn("stored span unreadable, left out of the aggregates", "key", fmt.Sprintf("%x", after), "err", err)
					continue
				}
				spans = append(spans, sp)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read spans: %w", err)
		}
		if read == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		w := s.newWrite(spans)
		w.rebuild = true
		w.plan()
		s.wmu.Lock()
		err = w.store(ctx)
		s.wmu.Unlock()
		if err != nil {
			return fmt.Errorf("write spans again: %w", err)
		}
		n += len(spans)
	}
	if err := s.db.Update(func(txn *badgerdb.Txn) error { return txn.Set(formatKey, []byte{formatVersion}) }); err != nil {
		return fmt.Errorf("record format version: %w", err)
	}
	s.logger.Warn("rebuilt the aggregates of an older store", "spans", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
