package badger

import (
	"context"
	"fmt"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
)

// StreamTrace reads the trace's spans in key order, storage.MaxStreamBatch
// at a time, all from one read transaction (a snapshot: the versions
// written before the call), each batch with an iterator of its own that
// resumes after the last key of the one before. Neither spans nor the
// store's lock are held across fn, so a slow caller holds back no write and
// no Purge; Close stops the stream at its next batch and waits for fn to
// return.
func (s *Store) StreamTrace(ctx context.Context, id storage.TraceID, fn func([]storage.Span) error) (bool, error) {
	if err := s.begin(ctx); err != nil {
		return false, err
	}
	s.streams.Add(1)
	s.mu.RUnlock()
	defer s.streams.Done()
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	prefix := append([]byte{pSpan}, id[:]...)
	var after []byte
	total := 0
	for {
		want := min(storage.MaxStreamBatch, s.limits.MaxTraceSpans-total)
		batch, last, more, err := s.streamBatch(ctx, txn, prefix, after, want)
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

// streamBatch reads from txn up to n spans with prefix after key after
// (from the start when nil), and says whether more follow.
func (s *Store) streamBatch(ctx context.Context, txn *badgerdb.Txn, prefix, after []byte, n int) (batch []storage.Span, last []byte, more bool, err error) {
	if err := s.begin(ctx); err != nil {
		return nil, nil, false, err
	}
	defer s.mu.RUnlock()
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
			return batch, last, true, nil
		}
		if len(batch)%256 == 255 {
			if err := ctx.Err(); err != nil {
				return nil, nil, false, err
			}
		}
		item := it.Item()
		sp, err := spanValue(item, res)
		if err != nil {
			return nil, nil, false, err
		}
		batch = append(batch, sp)
		last = item.KeyCopy(last[:0])
	}
	return batch, last, false, nil
}
