package badger

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
)

// recentWindow is the window AttributeKeys and AttributeValues list when
// the query gives no start.
const recentWindow = 24 * time.Hour

// AttributeKeys lists the keys recorded on write, per hour of span start
// and service: the hours that overlap [Start, End] are read.
func (s *Store) AttributeKeys(ctx context.Context, q storage.AttributeQuery) ([]string, error) {
	limit, lo, hi, err := s.attrQuery(&q)
	if err != nil {
		return nil, fmt.Errorf("badger: attribute keys: %w", err)
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	found := make(map[string]struct{})
	err = s.db.View(func(txn *badgerdb.Txn) error {
		it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: []byte{pAttrKey}, PrefetchValues: true})
		defer it.Close()
		var p []byte
		for h, ok := nextHour(it, pAttrKey, lo, hi); ok; h, ok = nextHour(it, pAttrKey, h+hourNs, hi) {
			if err := ctx.Err(); err != nil {
				return err
			}
			p = append(appendTime(append(p[:0], pAttrKey), h), boolByte(q.Resource))
			if q.Service != "" {
				p = appendTerm(p, q.Service)
			}
			for it.Seek(p); it.ValidForPrefix(p); it.Next() {
				if err := it.Item().Value(func(v []byte) error {
					if strings.HasPrefix(string(v), q.Prefix) {
						found[string(v)] = struct{}{}
					}
					return nil
				}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: attribute keys: %w", err)
	}
	return sortedFirst(found, limit), nil
}

// AttributeValues lists the values of q.Key recorded on write (at most
// ReaderLimits.MaxAttributeValues per key, service and hour, none over
// maxListed bytes), per hour of span start and service.
func (s *Store) AttributeValues(ctx context.Context, q storage.AttributeQuery) ([]string, error) {
	if q.Key == "" {
		return nil, fmt.Errorf("badger: attribute values: empty key: %w", storage.ErrInvalidQuery)
	}
	limit, lo, hi, err := s.attrQuery(&q)
	if err != nil {
		return nil, fmt.Errorf("badger: attribute values: %w", err)
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	found := make(map[string]struct{})
	err = s.db.View(func(txn *badgerdb.Txn) error {
		it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: []byte{pAttrVal}})
		defer it.Close()
		values := func(p []byte) error {
			for it.Seek(p); it.ValidForPrefix(p); it.Next() {
				if err := it.Item().Value(func(v []byte) error {
					if strings.HasPrefix(string(v), q.Prefix) {
						found[string(v)] = struct{}{}
					}
					return nil
				}); err != nil {
					return err
				}
			}
			return nil
		}
		var hp, p []byte
		for h, ok := nextHour(it, pAttrVal, lo, hi); ok; h, ok = nextHour(it, pAttrVal, h+hourNs, hi) {
			if err := ctx.Err(); err != nil {
				return err
			}
			hp = append(appendTime(append(hp[:0], pAttrVal), h), boolByte(q.Resource))
			if q.Service != "" {
				if err := values(appendTerm(appendTerm(append(p[:0], hp...), q.Service), q.Key)); err != nil {
					return err
				}
				continue
			}
			// Each service of the hour in turn.
			for it.Seek(hp); it.ValidForPrefix(hp); {
				k := it.Item().Key()
				n := parseTerm(k[len(hp):])
				if n < 0 {
					return fmt.Errorf("bad attribute value key %x", k)
				}
				svc := append([]byte(nil), k[:len(hp)+n]...)
				if err := values(appendTerm(append(p[:0], svc...), q.Key)); err != nil {
					return err
				}
				it.Seek(append(svc, 0xff)) // past the service's keys
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: attribute values: %w", err)
	}
	return sortedFirst(found, limit), nil
}

// nextHour seeks the first hour at or after from, up to hi, that holds keys
// of prefix.
func nextHour(it *badgerdb.Iterator, prefix byte, from, hi int64) (int64, bool) {
	if from > hi {
		return 0, false
	}
	it.Seek(appendTime([]byte{prefix}, from))
	if !it.Valid() {
		return 0, false
	}
	k := it.Item().Key()
	if len(k) < 9 || k[0] != prefix {
		return 0, false
	}
	h := readTime(k[1:])
	return h, h <= hi
}

// attrQuery checks q's limit and returns it with the hours to read.
func (s *Store) attrQuery(q *storage.AttributeQuery) (limit int, lo, hi int64, err error) {
	limit = q.Limit
	switch {
	case limit < 0 || limit > s.limits.MaxAttributeValues:
		return 0, 0, 0, fmt.Errorf("limit %d: want 0 to %d: %w", limit, s.limits.MaxAttributeValues, storage.ErrInvalidQuery)
	case limit == 0:
		limit = min(storage.DefaultAttributeLimit, s.limits.MaxAttributeValues)
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.End.Before(q.Start) {
		return 0, 0, 0, fmt.Errorf("end %s before start %s: %w", q.End.Format(time.RFC3339Nano), q.Start.Format(time.RFC3339Nano), storage.ErrInvalidQuery)
	}
	hi = math.MaxInt64
	end := time.Now()
	if !q.End.IsZero() {
		end = q.End
		hi = hourOf(end.UnixNano())
	}
	lo = hourOf(end.Add(-recentWindow).UnixNano())
	if !q.Start.IsZero() {
		lo = hourOf(q.Start.UnixNano())
	}
	return limit, lo, hi, nil
}

func sortedFirst(set map[string]struct{}, limit int) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out[:min(len(out), limit)]
}
