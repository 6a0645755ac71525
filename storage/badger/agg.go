package badger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
)

// Aggregate levels: the width of a time bucket.
const (
	levelMinute byte = 0
	levelHour   byte = 1
	level10m    byte = 2
)

type aggLevel struct {
	level byte
	width int64
}

// levels are the aggregate levels, the coarsest first.
var levels = [...]aggLevel{{levelHour, hourNs}, {level10m, 10 * minuteNs}, {levelMinute, minuteNs}}

// bucketRange is the buckets [from, to) of one level.
type bucketRange struct {
	level    byte
	width    int64
	from, to int64
}

// cover splits [lo, hi) (multiples of a minute) into bucket ranges: each
// time in the coarsest level usable whose buckets the range holds whole.
// usable reports whether a level may be read (RED needs its width to
// divide the step).
func cover(lo, hi int64, usable func(aggLevel) bool) []bucketRange {
	var out []bucketRange
	var split func(lo, hi int64, ls []aggLevel)
	split = func(lo, hi int64, ls []aggLevel) {
		if lo >= hi {
			return
		}
		l := ls[0]
		if len(ls) == 1 {
			out = append(out, bucketRange{l.level, l.width, lo, hi})
			return
		}
		a, b := ceilTo(lo, l.width), floorTo(hi, l.width)
		if !usable(l) || a >= b {
			split(lo, hi, ls[1:])
			return
		}
		split(lo, a, ls[1:])
		out = append(out, bucketRange{l.level, l.width, a, b})
		split(b, hi, ls[1:])
	}
	split(lo, hi, levels[:])
	return out
}

// RED groups: per service and kind, or per service, operation and kind.
const (
	groupService byte = 0
	groupOp      byte = 1
)

// maxListed is the longest attribute key or value listed for
// autocompletion; longer ones are stored and searchable, not listed.
const maxListed = maxInlineTerm

// chunk is one transaction of a WriteSpans call: spans, their index
// entries, and the changes of the aggregates they make. Everything is read
// first (a read-write Badger transaction allows one iterator at a time, and
// reads its own writes), then written.
type chunk struct {
	w    *write
	txn  *badgerdb.Txn
	part []keptSpan
	// stored holds the stored versions read (nil: not stored); for
	// children read from the child index only the fields an edge needs.
	stored map[[idLen]byte]*node
	fresh  map[[idLen]byte]*node // the versions being written
	dels   [][]byte              // index entries of stored versions to delete
	red    map[string]*redDelta
	edges  map[string]*edgeDelta
	skew   map[string][]byte // nil: delete
	aggs   []kv              // aggregate values to write (nil: delete)
	redBuf redValue
	kbuf   []byte
	attrs  attrPending

	arena []byte
	err   error
}

type kv struct{ k, v []byte }

type redDelta struct {
	service, op string
	errors      int64
	hist        map[int]int64
}

type edgeDelta struct {
	parent, child string
	calls, errors int64
}

// attrPending is what a chunk adds to the listings of attribute keys and
// values, remembered once it is committed.
type attrPending struct {
	write  map[string][]byte
	known  map[string]struct{} // found stored, to remember
	counts map[string]int      // values stored per key prefix
}

func newChunk(w *write, txn *badgerdb.Txn, part []keptSpan) *chunk {
	return &chunk{
		w: w, txn: txn, part: part,
		stored: make(map[[idLen]byte]*node, len(part)),
		fresh:  make(map[[idLen]byte]*node, len(part)),
		red:    make(map[string]*redDelta),
		edges:  make(map[string]*edgeDelta),
		skew:   make(map[string][]byte),
		arena:  make([]byte, 0, 1024*len(part)),
	}
}

func (c *chunk) keep(b []byte) []byte {
	n := len(c.arena)
	c.arena = append(c.arena, b...)
	return c.arena[n:len(c.arena):len(c.arena)]
}

func (c *chunk) set(k, v []byte) {
	if c.err == nil {
		c.err = c.txn.Set(c.keep(k), c.keep(v))
	}
}

func (c *chunk) del(k []byte) {
	if c.err == nil {
		c.err = c.txn.Delete(k)
	}
}

// read reads the stored versions of the spans and finds the index entries
// that the new versions do not have, so that a search matches only what
// Trace returns.
func (c *chunk) read() error {
	res := newResources(c.txn)
	var buf []byte
	for _, k := range c.part {
		sp := &c.w.spans[k.i]
		id := ids(sp)
		c.fresh[id] = nodeOf(sp)
		if c.w.rebuild {
			c.stored[id] = nil
			continue
		}
		item, err := c.txn.Get(k.key)
		if errors.Is(err, badgerdb.ErrKeyNotFound) {
			c.stored[id] = nil
			continue
		}
		if err != nil {
			return err
		}
		old, err := spanValue(item, res)
		if err != nil {
			// A version that cannot be read has no index entries to find,
			// nor counts to take back; the new version replaces it.
			c.w.s.logger.Warn("stored span unreadable, overwriting", "trace", sp.TraceID, "span", sp.SpanID, "err", err)
			c.stored[id] = nil
			continue
		}
		c.stored[id] = nodeOf(&old)
		fresh := make(map[string]struct{})
		buf = indexKeys(buf, sp, func(k, _ []byte) { fresh[string(k)] = struct{}{} })
		buf = indexKeys(buf, &old, func(k, _ []byte) {
			if _, ok := fresh[string(k)]; !ok {
				c.dels = append(c.dels, c.keep(k))
			}
		})
	}
	return nil
}

// index adds the spans, their index entries and every change computed to
// the transaction.
func (c *chunk) index() {
	for _, k := range c.dels {
		c.del(k)
	}
	var buf []byte
	for _, k := range c.part {
		if c.err == nil {
			c.err = c.txn.Set(k.key, k.val)
		}
		buf = indexKeys(buf, &c.w.spans[k.i], c.set)
	}
	for k, v := range c.skew {
		if v == nil {
			c.del([]byte(k))
		} else {
			c.set([]byte(k), v)
		}
	}
	for _, a := range c.aggs {
		if a.v == nil {
			c.del(a.k)
		} else {
			c.set(a.k, a.v)
		}
	}
	for k, v := range c.attrs.write {
		c.set([]byte(k), v)
	}
}

// storedNode returns the stored version of span id, reading it once.
func (c *chunk) storedNode(id [idLen]byte) (*node, error) {
	if n, ok := c.stored[id]; ok {
		return n, nil
	}
	var tid storage.TraceID
	var sid storage.SpanID
	copy(tid[:], id[:16])
	copy(sid[:], id[16:])
	key := spanKey(nil, tid, sid)
	if c.w.rebuild && bytes.Compare(key, c.part[0].key) >= 0 {
		c.stored[id] = nil // not written again yet
		return nil, nil
	}
	item, err := c.txn.Get(key)
	if errors.Is(err, badgerdb.ErrKeyNotFound) {
		c.stored[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var n *node
	err = item.Value(func(v []byte) error {
		var err error
		n, err = decodeNode(v)
		return err
	})
	if err != nil {
		c.w.s.logger.Warn("stored span unreadable", "trace", tid, "span", sid, "err", err)
		n = nil
	}
	c.stored[id] = n
	return n, nil
}

func parentID(id [idLen]byte, parent storage.SpanID) [idLen]byte {
	copy(id[16:], parent[:])
	return id
}

// aggregate computes how the chunk changes the RED aggregates, the
// dependency edges and the attribute listings, and reads the aggregate
// values it changes.
func (c *chunk) aggregate() error {
	affected, err := c.children()
	if err != nil {
		return err
	}
	for _, k := range c.part {
		id := ids(&c.w.spans[k.i])
		old, nw := c.stored[id], c.fresh[id]
		if old != nil && old.parent == nw.parent && old.service == nw.service && old.start == nw.start && old.status == nw.status {
			// Its edge changes only with its parent, if that is written too.
			if _, ok := c.fresh[parentID(id, nw.parent)]; nw.parent.IsZero() || !ok {
				continue
			}
		}
		if err := c.edge(id); err != nil {
			return err
		}
	}
	for _, id := range affected {
		if err := c.edge(id); err != nil {
			return err
		}
	}
	for _, k := range c.part {
		id := ids(&c.w.spans[k.i])
		old, nw := c.stored[id], c.fresh[id]
		if old != nil && sameRED(old, nw) {
			continue
		}
		if old != nil {
			c.addRED(old, -1)
		}
		c.addRED(nw, 1)
	}
	if err := c.readAggregates(); err != nil {
		return err
	}
	return c.listAttrs()
}

// children returns the stored children, not in the chunk, of the spans
// that are new or changed service or start time: their edges change.
func (c *chunk) children() ([][idLen]byte, error) {
	it := c.txn.NewIterator(badgerdb.IteratorOptions{})
	defer it.Close()
	traces := make(map[storage.TraceID]bool)
	seen := make(map[[idLen]byte]struct{})
	var out [][idLen]byte
	var prefix []byte
	for _, k := range c.part {
		sp := &c.w.spans[k.i]
		old := c.stored[ids(sp)]
		if old != nil && old.service == sp.Service && old.start == sp.StartTime {
			continue
		}
		has, ok := traces[sp.TraceID]
		if !ok {
			prefix = append(append(prefix[:0], pChild), sp.TraceID[:]...)
			it.Seek(prefix)
			has = it.ValidForPrefix(prefix)
			traces[sp.TraceID] = has
		}
		if !has {
			continue
		}
		prefix = append(append(append(prefix[:0], pChild), sp.TraceID[:]...), sp.SpanID[:]...)
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			key := item.Key()
			if len(key) != childKeyLen {
				continue
			}
			var cid [idLen]byte
			copy(cid[:16], sp.TraceID[:])
			copy(cid[16:], key[1+16+8:])
			if _, ok := c.fresh[cid]; ok {
				continue
			}
			if _, ok := seen[cid]; ok {
				continue
			}
			err := item.Value(func(v []byte) error {
				if len(v) < 9 {
					return fmt.Errorf("child index value of %d bytes", len(v))
				}
				c.stored[cid] = &node{parent: sp.SpanID, start: readTime(v), status: storage.StatusCode(v[8]), service: string(v[9:])}
				return nil
			})
			if err != nil {
				return nil, err
			}
			seen[cid] = struct{}{}
			out = append(out, cid)
		}
	}
	return out, nil
}

// edgeRef is the edge one child span counts.
type edgeRef struct {
	start, pstart int64
	parent, child string
	err           bool
}

func edgeOf(ch, p *node) (edgeRef, bool) {
	if ch == nil || p == nil || ch.parent.IsZero() || p.service == ch.service {
		return edgeRef{}, false
	}
	return edgeRef{start: ch.start, pstart: p.start, parent: p.service, child: ch.service, err: ch.status == storage.StatusError}, true
}

// edge takes back the edge that span id counted in the stored state and
// counts the one it counts once the chunk is written.
func (c *chunk) edge(id [idLen]byte) error {
	old := c.stored[id]
	nw, ok := c.fresh[id]
	if !ok {
		nw = old
	}
	var pOld, pNew *node
	var err error
	if old != nil && !old.parent.IsZero() {
		if pOld, err = c.storedNode(parentID(id, old.parent)); err != nil {
			return err
		}
	}
	if nw != nil && !nw.parent.IsZero() {
		pid := parentID(id, nw.parent)
		var ok bool
		if pNew, ok = c.fresh[pid]; !ok {
			if pNew, err = c.storedNode(pid); err != nil {
				return err
			}
		}
	}
	eo, okOld := edgeOf(old, pOld)
	en, okNew := edgeOf(nw, pNew)
	if okOld == okNew && eo == en {
		return nil
	}
	if okOld {
		c.addEdge(id, eo, -1)
	}
	if okNew {
		c.addEdge(id, en, 1)
	}
	return nil
}

// addEdge counts e (sign -1: takes it back). An edge whose parent started
// no later than the child is counted in the child's buckets of each level, so that
// any window holding the child counts it; one whose parent started later
// (clock skew) is kept per child with the parent's start, for Dependencies
// to test against the window's end.
func (c *chunk) addEdge(id [idLen]byte, e edgeRef, sign int64) {
	if e.pstart > e.start {
		k := string(append(appendTime([]byte{pSkew}, e.start), id[:]...))
		if sign < 0 {
			c.skew[k] = nil
			return
		}
		v := appendTime(nil, e.pstart)
		v = append(v, 0)
		if e.err {
			v[8] = byte(storage.StatusError)
		}
		v = appendString(appendString(v, e.parent), e.child)
		c.skew[k] = v
		return
	}
	for _, l := range levels {
		k := appendTime(append(c.kbuf[:0], pEdge, l.level), floorTo(e.start, l.width))
		k = appendTerm(appendTerm(k, e.parent), e.child)
		c.kbuf = k
		d := c.edges[string(k)]
		if d == nil {
			d = &edgeDelta{parent: e.parent, child: e.child}
			c.edges[string(k)] = d
		}
		d.calls += sign
		if e.err {
			d.errors += sign
		}
	}
}

func sameRED(a, b *node) bool {
	return a.service == b.service && a.name == b.name && a.kind == b.kind &&
		floorTo(a.start, minuteNs) == floorTo(b.start, minuteNs) &&
		storage.LatencyBucket(time.Duration(a.end-a.start)) == storage.LatencyBucket(time.Duration(b.end-b.start)) &&
		(a.status == storage.StatusError) == (b.status == storage.StatusError)
}

// redKey is the key of the RED aggregate of span n at a level and group.
func redKey(b []byte, level, group byte, bucket int64, service, op string, kind storage.SpanKind) []byte {
	b = appendTime(append(b, pRED, level, group), bucket)
	b = appendTerm(b, service)
	if group == groupOp {
		b = appendTerm(b, op)
	}
	return append(b, byte(kind))
}

func (c *chunk) addRED(n *node, sign int64) {
	bucket := storage.LatencyBucket(time.Duration(n.end - n.start))
	for _, l := range levels {
		for _, g := range [...]byte{groupService, groupOp} {
			c.kbuf = redKey(c.kbuf[:0], l.level, g, floorTo(n.start, l.width), n.service, n.name, n.kind)
			d := c.red[string(c.kbuf)]
			if d == nil {
				d = &redDelta{service: n.service, hist: make(map[int]int64, 1)}
				if g == groupOp {
					d.op = n.name
				}
				c.red[string(c.kbuf)] = d
			}
			d.hist[bucket] += sign
			if n.status == storage.StatusError {
				d.errors += sign
			}
		}
	}
}

// readAggregates reads the aggregate values the chunk changes and computes
// their new values.
func (c *chunk) readAggregates() error {
	for k, d := range c.red {
		zero := d.errors == 0
		for _, n := range d.hist {
			zero = zero && n == 0
		}
		if zero {
			continue
		}
		cur := &c.redBuf
		cur.hist = cur.hist[:0]
		cur.errors = 0
		if err := c.aggValue(k, cur.decode); err != nil {
			return fmt.Errorf("red aggregate: %w", err)
		}
		cur.service, cur.op = d.service, d.op
		cur.errors = addClamped(cur.errors, d.errors)
		for b, n := range d.hist {
			for len(cur.hist) <= b {
				cur.hist = append(cur.hist, 0)
			}
			cur.hist[b] = addClamped(cur.hist[b], n)
		}
		var v []byte
		if cur.hist.Count() > 0 {
			v = cur.encode(nil)
		}
		c.aggs = append(c.aggs, kv{[]byte(k), v})
	}
	for k, d := range c.edges {
		if d.calls == 0 && d.errors == 0 {
			continue
		}
		var cur edgeValue
		if err := c.aggValue(k, cur.decode); err != nil {
			return fmt.Errorf("edge aggregate: %w", err)
		}
		cur.parent, cur.child = d.parent, d.child
		cur.calls = addClamped(cur.calls, d.calls)
		cur.errors = addClamped(cur.errors, d.errors)
		var v []byte
		if cur.calls > 0 {
			v = cur.encode(nil)
		}
		c.aggs = append(c.aggs, kv{[]byte(k), v})
	}
	return nil
}

// maxAggCache bounds the aggregate values a Store keeps in memory; past it
// the cache is cleared.
const maxAggCache = 50_000

// aggValue calls fn with the current value of aggregate k, if any, from
// the store's cache of aggregate values (which s.wmu guards, like every
// write) or the transaction.
func (c *chunk) aggValue(k string, fn func(v []byte) error) error {
	if v, ok := c.w.s.aggCache[k]; ok {
		if v == nil {
			return nil
		}
		return fn(v)
	}
	return c.value([]byte(k), fn)
}

// cacheAggregates remembers the aggregate values of a committed chunk. The
// caller holds s.wmu.
func (s *Store) cacheAggregates(aggs []kv) {
	if len(s.aggCache)+len(aggs) > maxAggCache {
		clear(s.aggCache)
	}
	for _, a := range aggs {
		s.aggCache[string(a.k)] = a.v
	}
}

// value calls fn with the stored value of k, if any.
func (c *chunk) value(k []byte, fn func(v []byte) error) error {
	item, err := c.txn.Get(k)
	if errors.Is(err, badgerdb.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return item.Value(fn)
}

func addClamped(u uint64, d int64) uint64 {
	if d < 0 && uint64(-d) > u {
		return 0
	}
	return uint64(int64(u) + d)
}

// redValue is a stored RED aggregate: the names (a key may hold them
// hashed), the errors, and the latency histogram (calls are its count).
type redValue struct {
	service, op string
	errors      uint64
	hist        storage.Histogram
}

func (r *redValue) encode(b []byte) []byte {
	b = appendString(appendString(b, r.service), r.op)
	b = binary.AppendUvarint(b, r.errors)
	var n uint64
	for _, c := range r.hist {
		if c > 0 {
			n++
		}
	}
	b = binary.AppendUvarint(b, n)
	last := 0
	for i, c := range r.hist {
		if c > 0 {
			b = binary.AppendUvarint(b, uint64(i-last))
			b = binary.AppendUvarint(b, c)
			last = i
		}
	}
	return b
}

func (r *redValue) decode(v []byte) error {
	d := decoder{s: string(v)}
	r.service, r.op = d.string(), d.string()
	r.errors = d.uvarint()
	n := d.count(2)
	if cap(r.hist) < storage.NumLatencyBuckets {
		r.hist = make(storage.Histogram, 0, storage.NumLatencyBuckets)
	}
	r.hist = r.hist[:0]
	at := 0
	for range n {
		at += int(d.uvarint())
		c := d.uvarint()
		if d.err == nil && (at < 0 || at >= storage.NumLatencyBuckets) {
			d.fail(fmt.Errorf("latency bucket %d out of range", at))
		}
		if d.err != nil {
			break
		}
		r.hist.AddBucket(at, c)
	}
	if d.err != nil {
		return fmt.Errorf("decode red aggregate: %w", d.err)
	}
	return nil
}

// edgeValue is a stored edge aggregate.
type edgeValue struct {
	parent, child string
	calls, errors uint64
}

func (e *edgeValue) encode(b []byte) []byte {
	b = appendString(appendString(b, e.parent), e.child)
	b = binary.AppendUvarint(b, e.calls)
	return binary.AppendUvarint(b, e.errors)
}

func (e *edgeValue) decode(v []byte) error {
	d := decoder{s: string(v)}
	e.parent, e.child = d.string(), d.string()
	e.calls, e.errors = d.uvarint(), d.uvarint()
	if d.err != nil {
		return fmt.Errorf("decode edge aggregate: %w", d.err)
	}
	return nil
}

// attrKeyPrefix appends the key of a listed attribute key.
func attrKeyKey(b []byte, hour int64, resource bool, service, key string) []byte {
	b = appendTime(append(b, pAttrKey), hour)
	b = append(b, boolByte(resource))
	return appendTerm(appendTerm(b, service), key)
}

// attrValPrefix appends the prefix of the listed values of a key.
func attrValPrefix(b []byte, hour int64, resource bool, service, key string) []byte {
	b = appendTime(append(b, pAttrVal), hour)
	b = append(b, boolByte(resource))
	return appendTerm(appendTerm(b, service), key)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// listAttrs records the attribute keys the spans carry, per hour and
// service, and their values, at most ReaderLimits.MaxAttributeValues per
// key, service and hour.
func (c *chunk) listAttrs() error {
	s := c.w.s
	s.listMu.Lock()
	defer s.listMu.Unlock()
	p := &c.attrs
	var kb, vb []byte
	for _, k := range c.part {
		sp := &c.w.spans[k.i]
		hour := hourOf(sp.StartTime)
		for _, list := range [...]struct {
			res   bool
			attrs []storage.Attribute
		}{{false, sp.Attributes}, {true, sp.Resource}} {
			for i := range list.attrs {
				a := &list.attrs[i]
				if len(a.Key) > maxListed {
					continue
				}
				kb = attrKeyKey(kb[:0], hour, list.res, sp.Service, a.Key)
				if !p.has(s, kb) {
					p.add(kb, []byte(a.Key))
				}
				if !indexedAttr(a.Key) || len(a.Value) > maxListed {
					continue
				}
				vb = attrValPrefix(vb[:0], hour, list.res, sp.Service, a.Key)
				n := len(vb)
				vb = appendTerm(vb, a.Value)
				if p.has(s, vb) {
					continue
				}
				pk := vb[:n]
				count, ok := p.counts[string(pk)]
				if !ok {
					if count, ok = s.valCount[string(pk)]; !ok {
						var err error
						if count, err = c.countPrefix(pk, s.limits.MaxAttributeValues); err != nil {
							return err
						}
					}
				}
				if count >= s.limits.MaxAttributeValues {
					if _, ok := p.counts[string(pk)]; !ok {
						p.count(string(pk), count)
					}
					continue
				}
				prefix := string(pk)
				stored := false
				if err := c.value(vb, func([]byte) error { stored = true; return nil }); err != nil {
					return err
				}
				if stored {
					if p.known == nil {
						p.known = make(map[string]struct{})
					}
					p.known[string(vb)] = struct{}{}
					p.count(prefix, count)
					continue
				}
				p.add(vb, []byte(a.Value))
				p.count(prefix, count+1)
			}
		}
	}
	return nil
}

// countPrefix counts the keys with prefix, up to max.
func (c *chunk) countPrefix(prefix []byte, max int) (int, error) {
	it := c.txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid() && n < max; it.Next() {
		n++
	}
	return n, nil
}

// has reports whether key is known stored or to be written. The caller holds
// s.listMu.
func (p *attrPending) has(s *Store, key []byte) bool {
	if _, ok := p.write[string(key)]; ok {
		return true
	}
	_, ok := s.attrCache[string(key)]
	return ok
}

func (p *attrPending) add(k, v []byte) {
	if p.write == nil {
		p.write = make(map[string][]byte)
	}
	p.write[string(k)] = v
}

func (p *attrPending) count(prefix string, n int) {
	if p.counts == nil {
		p.counts = make(map[string]int)
	}
	p.counts[prefix] = n
}

// rememberAttrs adds what a committed chunk listed to the caches.
func (s *Store) rememberAttrs(p attrPending) {
	if len(p.write) == 0 && len(p.known) == 0 && len(p.counts) == 0 {
		return
	}
	s.listMu.Lock()
	defer s.listMu.Unlock()
	if len(s.attrCache)+len(p.write)+len(p.known) > maxListCache || len(s.valCount)+len(p.counts) > maxListCache {
		clear(s.attrCache)
		clear(s.valCount)
	}
	for k := range p.write {
		s.attrCache[k] = struct{}{}
	}
	for k := range p.known {
		s.attrCache[k] = struct{}{}
	}
	for k, n := range p.counts {
		s.valCount[k] = n
	}
}
