package demo

import (
	"container/list"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/examples/demo/demopb"
)

// The simulated database, as its client spans name it: an SQL database
// Tracer does not know by name.
const (
	dbSystem    = "other_sql"
	dbNamespace = "demo"
	dbTable     = "records"
	// dbMaxRecords bounds the database: a new key past it evicts an
	// arbitrary record, never one of the seed.
	dbMaxRecords = 4096
)

// The words the database starts with, each with seedPerWord records keyed
// word:0, word:1, ...: what searches find.
var seedWords = []string{
	"alpha", "beta", "gamma", "delta", "example", "trace", "span", "clock",
	"cache", "query", "service", "tracer",
}

const seedPerWord = 5

// database is service-c's simulated SQL database: records in memory behind
// queries with a realistic latency, some slow, some failing.
type database struct {
	tracer              trace.Tracer
	errorRate, slowRate float64
	draw                func() float64

	seeded map[string]bool // the keys it started with

	mu      sync.Mutex
	records map[string]*demopb.Record
}

func newDatabase(tracer trace.Tracer, errorRate, slowRate float64, draw func() float64) *database {
	d := &database{tracer: tracer, errorRate: errorRate, slowRate: slowRate, draw: draw,
		records: make(map[string]*demopb.Record, len(seedWords)*seedPerWord),
		seeded:  make(map[string]bool, len(seedWords)*seedPerWord)}
	for _, w := range seedWords {
		for i := range seedPerWord {
			key := fmt.Sprintf("%s:%d", w, i)
			d.records[key] = &demopb.Record{Key: key, Value: fmt.Sprintf("%s, record %d", w, i), Version: 1}
			d.seeded[key] = true
		}
	}
	return d
}

// get reads one record; nil when there is none.
func (d *database) get(ctx context.Context, key string) (*demopb.Record, error) {
	var rec *demopb.Record
	err := d.query(ctx, "SELECT", "SELECT key, value, version FROM records WHERE key = $1", func() int {
		d.mu.Lock()
		defer d.mu.Unlock()
		if r, ok := d.records[key]; ok {
			rec = proto.Clone(r).(*demopb.Record)
			return 1
		}
		return 0
	})
	return rec, err
}

// put writes one record and returns its new version.
func (d *database) put(ctx context.Context, key, value string) (int64, error) {
	var version int64
	err := d.query(ctx, "INSERT", "INSERT INTO records (key, value, version) VALUES ($1, $2, 1) "+
		"ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = records.version + 1 RETURNING version", func() int {
		d.mu.Lock()
		defer d.mu.Unlock()
		old, ok := d.records[key]
		if !ok && len(d.records) >= dbMaxRecords {
			for k := range d.records {
				if !d.seeded[k] {
					delete(d.records, k)
					break
				}
			}
		}
		version = old.GetVersion() + 1
		d.records[key] = &demopb.Record{Key: key, Value: value, Version: version}
		return 1
	})
	return version, err
}

// scan reads up to n records whose key has the prefix and comes after the
// key after, in key order (keyset pagination).
func (d *database) scan(ctx context.Context, prefix, after string, n int) ([]*demopb.Record, error) {
	var page []*demopb.Record
	err := d.query(ctx, "SELECT", "SELECT key, value, version FROM records WHERE key LIKE $1 || '%' AND key > $2 ORDER BY key LIMIT $3", func() int {
		d.mu.Lock()
		defer d.mu.Unlock()
		var keys []string
		for k := range d.records {
			if strings.HasPrefix(k, prefix) && k > after {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys[:min(n, len(keys))] {
			page = append(page, proto.Clone(d.records[k]).(*demopb.Record))
		}
		return len(page)
	})
	return page, err
}

// cache is a least-recently-used cache of records whose entries expire.
type cache struct {
	size int
	ttl  time.Duration

	mu    sync.Mutex
	order *list.List // of *cacheEntry, most recent first
	byKey map[string]*list.Element
}

type cacheEntry struct {
	rec     *demopb.Record
	expires time.Time
}

func newCache(size int, ttl time.Duration) *cache {
	return &cache{size: size, ttl: ttl, order: list.New(), byKey: make(map[string]*list.Element, size)}
}

// get returns a copy of the record cached under key.
func (c *cache) get(key string) (*demopb.Record, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if time.Now().After(e.expires) {
		c.order.Remove(el)
		delete(c.byKey, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return proto.Clone(e.rec).(*demopb.Record), true
}

// put caches a copy of rec, evicting the least recently used entry when
// the cache is full.
func (c *cache) put(rec *demopb.Record) {
	e := &cacheEntry{rec: proto.Clone(rec).(*demopb.Record), expires: time.Now().Add(c.ttl)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[rec.GetKey()]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	if c.order.Len() >= c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*cacheEntry).rec.GetKey())
	}
	c.byKey[rec.GetKey()] = c.order.PushFront(e)
}

// remove drops key from the cache.
func (c *cache) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.order.Remove(el)
		delete(c.byKey, key)
	}
}
