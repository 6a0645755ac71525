package clickhouse

import (
	"strings"
	"sync"
)

// maxListed bounds each set of listed: past it the set starts again empty
// (rows are then inserted once more, which the tables' engines merge).
const maxListed = 1 << 18

// listed remembers the rows of the small listing tables (tracer_operations,
// tracer_resources, tracer_attribute_values) this Store has written, so
// that a batch inserts only the rows not written before instead of every
// distinct row of the batch again: most batches then insert nothing into
// them (an insert, a part and its merges less per table). The rows are
// keyed by their day or hour, so a new day lists its rows again, and Purge
// forgets everything (a dropped day written again is listed again). A nil
// *listed remembers nothing. It is safe for concurrent use.
type listed struct {
	ops keySet[opKey]
	res keySet[resKey]
	av  keySet[avKey]
}

// keySet is a bounded set of keys.
type keySet[K comparable] struct {
	mu sync.Mutex
	m  map[K]struct{}
}

func (s *keySet[K]) has(k K) bool {
	s.mu.Lock()
	_, ok := s.m[k]
	s.mu.Unlock()
	return ok
}

func (s *keySet[K]) add(keys []K) {
	if len(keys) == 0 {
		return
	}
	s.mu.Lock()
	if s.m == nil || len(s.m)+len(keys) > maxListed {
		s.m = make(map[K]struct{}, len(keys))
	}
	for _, k := range keys {
		s.m[k] = struct{}{}
	}
	s.mu.Unlock()
}

func (s *keySet[K]) forget() {
	s.mu.Lock()
	s.m = nil
	s.mu.Unlock()
}

func (l *listed) hasOp(k opKey) bool   { return l != nil && l.ops.has(k) }
func (l *listed) hasRes(k resKey) bool { return l != nil && l.res.has(k) }
func (l *listed) hasAV(k avKey) bool   { return l != nil && l.av.has(k) }

// written marks the rows of c's listing tables that were written:
// operations, resources, attribute values.
func (l *listed) written(c *columns, ops, res, av bool) {
	if l == nil {
		return
	}
	if ops {
		// The cache outlives the batch: its strings must not keep the
		// spans' memory (a request's buffer, say) alive.
		keys := make([]opKey, len(c.opKeys))
		for i, k := range c.opKeys {
			k.service, k.name = strings.Clone(k.service), strings.Clone(k.name)
			keys[i] = k
		}
		l.ops.add(keys)
	}
	if res {
		l.res.add(c.resKeys)
	}
	if av {
		l.av.add(c.avKeys)
	}
}

// forget empties l (after a purge).
func (l *listed) forget() {
	if l == nil {
		return
	}
	l.ops.forget()
	l.res.forget()
	l.av.forget()
}
