package badger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
)

// purgeChunk is how many spans Purge deletes per write batch.
const purgeChunk = 1000

// maxGCRounds bounds the value log files one Purge rewrites.
const maxGCRounds = 64

// Purge deletes the spans that started before t with all their index
// entries, then the aggregates of the time buckets that end at or before t
// (RED and edge minutes and hours, attribute listing hours; a bucket that
// holds t keeps counting its spans before t until a later Purge passes
// it, and an edge stays counted when its parent is purged and its child
// kept), then the service and operation list entries that no span uses any
// more and the resources that no span of a later hour refers to, and then
// runs Badger's value log garbage collection until it finds no file worth
// rewriting (at most maxGCRounds files): that is what frees the disk that
// large spans took. Badger learns what a value log file holds of deleted
// data from its compactions, so space that a Purge cannot reclaim yet is
// reclaimed by a later one.
func (s *Store) Purge(ctx context.Context, before time.Time) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	cut := before.UnixNano()
	err := s.purgeSpans(ctx, cut)
	if err == nil {
		err = s.purgeAggregates(ctx, cut)
	}
	s.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("badger: purge: %w", err)
	}
	if err := s.purgeLists(ctx, cut); err != nil {
		return fmt.Errorf("badger: purge lists: %w", err)
	}
	if err := s.gcValueLog(ctx); err != nil {
		return fmt.Errorf("badger: purge: value log gc: %w", err)
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
		s.wmu.Lock()
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
			res := newResources(txn)
			for _, k := range keys {
				dels = append(dels, k)
				sfx, ok := parseSuffix(k)
				if !ok {
					continue
				}
				sk := spanKey(nil, sfx.trace, sfx.span)
				sp, ok, err := getSpan(txn, sk, res)
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
		if err == nil && len(dels) > 0 {
			err = s.deleteKeys(dels)
		}
		s.wmu.Unlock()
		if err != nil || len(dels) == 0 {
			return err
		}
	}
}

// purgeAggregates deletes the aggregates of the buckets that end at or
// before cut, and forgets the attribute listings it had cached.
func (s *Store) purgeAggregates(ctx context.Context, cut int64) error {
	below := func(p []byte, width int64) [2][]byte {
		return [2][]byte{p, appendTime(slices.Clip(p), cut-width+1)}
	}
	var ranges [][2][]byte
	for _, l := range levels {
		for _, g := range [...]byte{groupService, groupOp} {
			ranges = append(ranges, below([]byte{pRED, l.level, g}, l.width))
		}
		ranges = append(ranges, below([]byte{pEdge, l.level}, l.width))
	}
	ranges = append(ranges, below([]byte{pSkew}, 1), below([]byte{pAttrKey}, hourNs), below([]byte{pAttrVal}, hourNs))
	for _, r := range ranges {
		if err := s.deleteRange(ctx, r[0], r[1]); err != nil {
			return err
		}
	}
	s.listMu.Lock()
	clear(s.attrCache)
	clear(s.valCount)
	s.listMu.Unlock()
	s.wmu.Lock()
	clear(s.aggCache)
	s.wmu.Unlock()
	return nil
}

// deleteRange deletes the keys with prefix that sort before stop, a chunk
// at a time, each under s.wmu.
func (s *Store) deleteRange(ctx context.Context, prefix, stop []byte) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var keys [][]byte
		s.wmu.Lock()
		err := s.db.View(func(txn *badgerdb.Txn) error {
			it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(keys) < 10*purgeChunk; it.Next() {
				if bytes.Compare(it.Item().Key(), stop) >= 0 {
					break
				}
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			return nil
		})
		if err == nil && len(keys) > 0 {
			err = s.deleteKeys(keys)
			for _, k := range keys {
				delete(s.aggCache, string(k))
			}
		}
		s.wmu.Unlock()
		if err != nil || len(keys) < 10*purgeChunk {
			return err
		}
	}
}

// purgeLists deletes the service and operation list entries with no span
// left in their index, and the resources with no use at or after the hour
// of cut. It holds the store's lock exclusively so that no write relies on
// an entry it deletes.
func (s *Store) purgeLists(ctx context.Context, cut int64) error {
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
		dels = append(dels, unusedResources(txn, hourOf(cut))...)
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

// unusedResources returns the keys of the resource uses of hours before
// hour, and of the resources left with no use.
func unusedResources(txn *badgerdb.Txn, hour int64) [][]byte {
	it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: []byte{pResUse}})
	defer it.Close()
	var dels [][]byte
	var id resID
	have, used := false, false
	done := func() {
		if have && !used {
			dels = append(dels, resKey(nil, id))
		}
	}
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) != 1+len(id)+8 {
			continue
		}
		if !have || !bytes.Equal(k[1:1+len(id)], id[:]) {
			done()
			copy(id[:], k[1:])
			have, used = true, false
		}
		if readTime(k[1+len(id):]) < hour {
			dels = append(dels, it.Item().KeyCopy(nil))
		} else {
			used = true
		}
	}
	done()
	return dels
}

// gcValueLog rewrites value log files that are mostly garbage, until Badger
// finds none or maxGCRounds files were rewritten.
func (s *Store) gcValueLog(ctx context.Context) error {
	for range maxGCRounds {
		if err := s.begin(ctx); err != nil {
			return err
		}
		err := s.db.RunValueLogGC(0.5)
		s.mu.RUnlock()
		switch {
		case errors.Is(err, badgerdb.ErrNoRewrite), errors.Is(err, badgerdb.ErrRejected):
			return nil // nothing worth rewriting; or a GC already runs
		case err != nil:
			return err
		}
	}
	return nil
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
