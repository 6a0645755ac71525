package badger

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	badgerdb "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/skl"

	"github.com/tracerdev/tracer/storage"
)

// write is one WriteSpans call.
type write struct {
	s        *Store
	spans    []storage.Span
	kept     []keptSpan // the spans to store: the last of each id, not rejected
	rejected []storage.RejectedSpan
	lists    map[string][]byte // list and resource keys to write, not known stored
	// rebuild is set when the spans are stored already, written again in
	// key order to count them (see Store.rebuild): a span counts as stored
	// only once written again.
	rebuild bool

	// Keys and values live in arena until the call returns; a slice taken
	// from it is never written again, even when arena grows.
	arena []byte
}

// keptSpan is a span to store, its key and encoding.
type keptSpan struct {
	i        int // into write.spans
	key, val []byte
}

func (s *Store) newWrite(spans []storage.Span) *write {
	return &write{s: s, spans: spans, arena: make([]byte, 0, 512*len(spans))}
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

// plan picks the spans to store, rejects the rest, and encodes the spans
// and their resources.
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
		w.kept = append(w.kept, keptSpan{i: i, key: k, val: w.arena[n:len(w.arena):len(w.arena)]})
		if rid != nil {
			w.list(resUseKey(nil, *rid, sp.StartTime), nil)
		}
		tmp = serviceListKey(tmp[:0], sp.Service)
		w.list(tmp, []byte(sp.Service))
		tmp = opListKey(tmp[:0], sp.Service, sp.Name, sp.Kind)
		w.list(tmp, []byte(sp.Name))
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

// store writes the kept spans in chunks, each in one transaction with its
// index entries and the aggregates it changes, so that the aggregates
// always describe exactly the spans stored, a crash included. The caller
// holds s.wmu.
func (w *write) store(ctx context.Context) error {
	lists := true
	shrink := 1 // a chunk Badger still found too big is divided
	for done := 0; done < len(w.kept); {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := max(w.chunkLen(done)/shrink, 1)
		err := w.commit(w.kept[done:done+n], lists)
		if errors.Is(err, badgerdb.ErrTxnTooBig) && n > 1 {
			shrink *= 2
			continue
		}
		if err != nil {
			return err
		}
		if lists {
			w.s.remember(w.lists)
			lists = false
		}
		done += n
	}
	return nil
}

// chunkLen returns how many kept spans from start go in one transaction:
// as many as fit in three quarters of Badger's transaction limits (15% of the memory
// table in bytes, that over skl.MaxNodeSize in entries), by an estimate of
// the entries each span writes (the span, five indexes, the child index,
// one per attribute, and a share of the aggregates and listings) and of
// their size as Badger counts it (key, inline value, 12 bytes).
func (w *write) chunkLen(start int) int {
	o := w.s.db.Opts()
	maxSize := 15 * o.MemTableSize / 100 * 3 / 4
	maxCount := maxSize / int64(skl.MaxNodeSize)
	var size, count int64
	for i, k := range w.kept[start:] {
		sp := &w.spans[k.i]
		n := int64(8 + len(sp.Attributes) + len(sp.Resource))
		v := int64(len(k.val))
		if v >= o.ValueThreshold {
			v = 16
		}
		size += v + int64(len(k.key)) + n*(60+int64(len(sp.Service)))
		count += n
		if i > 0 && (size > maxSize || count > maxCount) {
			return i
		}
	}
	return len(w.kept) - start
}

// commit stores part in one transaction, and the lists and resources of the
// call when lists is set.
func (w *write) commit(part []keptSpan, lists bool) error {
	txn := w.s.db.NewTransaction(true)
	defer txn.Discard()
	c := newChunk(w, txn, part)
	if err := c.read(); err != nil {
		return fmt.Errorf("read stored versions: %w", err)
	}
	if err := c.aggregate(); err != nil {
		return fmt.Errorf("aggregates: %w", err)
	}
	c.index()
	if lists {
		for k, v := range w.lists {
			c.set([]byte(k), v)
		}
	}
	if c.err != nil {
		return c.err
	}
	if err := txn.Commit(); err != nil {
		// Whether it wrote anything is unknown: read the values again.
		clear(w.s.aggCache)
		return err
	}
	w.s.cacheAggregates(c.aggs)
	w.s.rememberAttrs(c.attrs)
	return nil
}
