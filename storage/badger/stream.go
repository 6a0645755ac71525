package badger

import (
	"context"
	"fmt"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
)

// StreamTrace reads the trace's spans in key order, storage.MaxStreamBatch
// at a time: each batch is read in a transaction of its own that resumes
// after the last key of the one before, so that neither memory nor the
// store's lock is held across fn (a slow client does not hold back Close
// or Purge). Each batch is the store as it is when the batch is read: a span
// of a later batch rewritten while the trace streams comes as its new
// version, and one written meanwhile may be passed too (the contract asks
// for the versions written before the call, which needs one transaction
// held across fn); none is passed twice.
func (s *Store) StreamTrace(ctx context.Context, id storage.TraceID, fn func([]storage.Span) error) (bool, error) {
	prefix := append([]byte{pSpan}, id[:]...)
	var after []byte
	total := 0
	for {
		want := min(storage.MaxStreamBatch, s.limits.MaxTraceSpans-total)
		batch, last, more, err := s.streamBatch(ctx, prefix, after, want)
		if err != nil {
			return false, fmt.Errorf("badger: stream trace %s: %w", id, err)
		}
		if total == 0 && len(batch) == 0 {
			return false, storage.ErrNotFound
		}
		if len(batch) > 0 {
			total += len(batch)
			if err := fn(batch); err != nil {
				return false, err
			}
		}
		if !more {
			return false, nil
		}
		if total >= s.limits.MaxTraceSpans {
			return true, nil
		}
		after = last
	}
}

// streamBatch reads up to n spans with prefix after key after (from the
// start when nil), and says whether more follow.
func (s *Store) streamBatch(ctx context.Context, prefix, after []byte, n int) (batch []storage.Span, last []byte, more bool, err error) {
	if err := s.begin(ctx); err != nil {
		return nil, nil, false, err
	}
	defer s.mu.RUnlock()
	err = s.db.View(func(txn *badgerdb.Txn) error {
		res := newResources(txn)
		it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		if after == nil {
			it.Rewind()
		} else {
			it.Seek(append(after, 0)) // the first key after
		}
		batch = make([]storage.Span, 0, min(n, 64))
		for ; it.Valid(); it.Next() {
			if len(batch) == n {
				more = true
				return nil
			}
			if len(batch)%256 == 255 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			item := it.Item()
			sp, err := spanValue(item, res)
			if err != nil {
				return err
			}
			batch = append(batch, sp)
			last = item.KeyCopy(last[:0])
		}
		return nil
	})
	return batch, last, more, err
}
