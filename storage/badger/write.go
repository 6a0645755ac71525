package badger

import (
	"crypto/sha256"
	"errors"
	"fmt"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
)

// write is one WriteSpans call.
type write struct {
	s        *Store
	spans    []storage.Span
	kept     []int // the spans to store: the last of each id, not rejected
	rejected []storage.RejectedSpan
	lists    map[string][]byte // list and resource keys to write, not known stored

	wb     *badgerdb.WriteBatch
	setErr error
	// Keys and values live in arena until Flush; a slice taken from it is
	// never written again, even when arena grows.
	arena []byte
}

func (s *Store) newWrite(spans []storage.Span) *write {
	return &write{s: s, spans: spans, wb: s.db.NewWriteBatch(), arena: make([]byte, 0, 1024*len(spans))}
}

// resource is a distinct Resource slice of the call.
type resource struct {
	id  resID
	err error // it cannot be stored: the spans that use it are rejected
}

// resIdentity is a Resource slice by identity: spans that share the slice
// (as the decoder makes them) share one entry.
type resIdentity struct {
	first *storage.Attribute
	n     int
}

func (w *write) set(k, v []byte) {
	if w.setErr != nil {
		return
	}
	n := len(w.arena)
	w.arena = append(w.arena, k...)
	w.arena = append(w.arena, v...)
	key := w.arena[n : n+len(k) : n+len(k)]
	val := w.arena[n+len(k) : len(w.arena) : len(w.arena)]
	w.setErr = w.wb.Set(key, val)
}

func (w *write) reject(i int, err error) {
	w.rejected = append(w.rejected, storage.RejectedSpan{Index: i, Err: err})
}

// list records key (with value v) to be written unless known stored.
func (w *write) list(key []byte, v []byte) {
	if _, ok := w.lists[string(key)]; ok || w.s.known(key) {
		return
	}
	if w.lists == nil {
		w.lists = make(map[string][]byte)
	}
	w.lists[string(key)] = v
}

// plan picks the spans to store, rejects the rest, and adds the spans, their
// resources and their index entries to the write batch.
func (w *write) plan() {
	spans := w.spans
	// The last span of each id wins, as if the spans were written in turn.
	var last map[[idLen]byte]int
	if len(spans) > 1 {
		last = make(map[[idLen]byte]int, len(spans))
		for i := range spans {
			last[ids(&spans[i])] = i
		}
	}
	res := make(map[resIdentity]*resource)
	var tmp []byte
	for i := range spans {
		sp := &spans[i]
		switch {
		case sp.TraceID.IsZero():
			w.reject(i, errors.New("badger: zero trace id"))
			continue
		case sp.SpanID.IsZero():
			w.reject(i, fmt.Errorf("badger: span of trace %s: zero span id", sp.TraceID))
			continue
		}
		if last != nil && last[ids(sp)] != i {
			continue // written again later in the call
		}
		var rid *resID
		if len(sp.Resource) > 0 {
			k := resIdentity{&sp.Resource[0], len(sp.Resource)}
			r := res[k]
			if r == nil {
				r = w.resource(sp.Resource)
				res[k] = r
			}
			if r.err != nil {
				w.reject(i, r.err)
				continue
			}
			rid = &r.id
		}
		n := len(w.arena)
		w.arena = spanKey(w.arena, sp.TraceID, sp.SpanID)
		k := w.arena[n:len(w.arena):len(w.arena)]
		n = len(w.arena)
		w.arena = appendSpan(w.arena, sp, rid)
		if size := len(w.arena) - n; size > w.s.maxValue {
			w.arena = w.arena[:n-len(k)]
			w.reject(i, fmt.Errorf("badger: span %s/%s encodes to %d bytes, over the limit of %d", sp.TraceID, sp.SpanID, size, w.s.maxValue))
			continue
		}
		if w.setErr == nil {
			w.setErr = w.wb.Set(k, w.arena[n:len(w.arena):len(w.arena)])
		}
		w.kept = append(w.kept, i)
		if rid != nil {
			w.list(resUseKey(nil, *rid, sp.StartTime), nil)
		}
		tmp = serviceListKey(tmp[:0], sp.Service)
		w.list(tmp, []byte(sp.Service))
		tmp = opListKey(tmp[:0], sp.Service, sp.Name, sp.Kind)
		w.list(tmp, []byte(sp.Name))
		tmp = indexKeys(tmp, sp, w.set)
	}
}

// resource encodes a distinct resource of the call, once.
func (w *write) resource(attrs []storage.Attribute) *resource {
	v := appendAttrs(nil, attrs)
	if len(v) > w.s.maxValue {
		return &resource{err: fmt.Errorf("badger: resource encodes to %d bytes, over the limit of %d", len(v), w.s.maxValue)}
	}
	h := sha256.Sum256(v)
	r := &resource{}
	copy(r.id[:], h[:])
	w.list(resKey(nil, r.id), v)
	return r
}

func ids(sp *storage.Span) [idLen]byte {
	var k [idLen]byte
	copy(k[:], sp.TraceID[:])
	copy(k[16:], sp.SpanID[:])
	return k
}

// unindexStale deletes the index entries of the stored versions of the spans
// to be written that the new versions do not have, so that a search matches
// only what Trace returns.
func (w *write) unindexStale(txn *badgerdb.Txn) error {
	res := newResources(txn)
	var key, buf []byte
	for _, i := range w.kept {
		sp := &w.spans[i]
		key = spanKey(key[:0], sp.TraceID, sp.SpanID)
		item, err := txn.Get(key)
		if errors.Is(err, badgerdb.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		old, err := spanValue(item, res)
		if err != nil {
			// A version that cannot be read has no index entries to find;
			// the new version replaces it.
			w.s.logger.Warn("stored span unreadable, overwriting", "trace", sp.TraceID, "span", sp.SpanID, "err", err)
			continue
		}
		fresh := make(map[string]struct{})
		buf = indexKeys(buf, sp, func(k, _ []byte) { fresh[string(k)] = struct{}{} })
		buf = indexKeys(buf, &old, func(k, _ []byte) {
			if _, ok := fresh[string(k)]; ok || w.setErr != nil {
				return
			}
			n := len(w.arena)
			w.arena = append(w.arena, k...)
			w.setErr = w.wb.Delete(w.arena[n:len(w.arena):len(w.arena)])
		})
	}
	return nil
}

// flush writes the batch, lists and resources included.
func (w *write) flush() error {
	defer w.wb.Cancel()
	for k, v := range w.lists {
		w.set([]byte(k), v)
	}
	if w.setErr != nil {
		return w.setErr
	}
	return w.wb.Flush()
}
