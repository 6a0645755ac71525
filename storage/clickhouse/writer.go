package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/tracerdev/tracer/storage"
)

// Column lists of the writer's INSERTs. ClickHouse 18.16 needs them
// explicit for native batches.
var (
	spanInsertColumns = []string{
		"day", "trace_id", "span_id", "parent_span_id", "trace_state", "flags", "name", "kind",
		"start_time", "end_time", "status_code", "status_message", "service",
		"resource_keys", "resource_types", "resource_values", "scope_name", "scope_version",
		"attr_keys", "attr_types", "attr_values",
		"event_times", "event_names", "event_attr_keys", "event_attr_types", "event_attr_values",
		"link_trace_ids", "link_span_ids", "link_trace_states", "link_attr_keys", "link_attr_types", "link_attr_values",
		"dropped_attributes", "dropped_events", "dropped_links", "vc_nodes", "vc_counts",
	}
	indexInsertColumns = []string{
		"day", "service", "name", "kind", "start_time", "duration", "trace_id", "span_id", "parent_span_id",
		"status_code", "attr_keys", "attr_values", "resource_keys", "resource_values",
	}
	operationInsertColumns = []string{"day", "service", "name", "kind"}
)

func insertSQL(table string, cols []string) string {
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ")"
}

// Date's range on every ClickHouse version (UInt16 days since 1970).
var (
	minDay = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDay = time.Date(2105, 12, 31, 0, 0, 0, 0, time.UTC)
)

// dayOf returns the UTC day of a unix-nanosecond time, clamped to Date's
// range (the exact time stays in start_time).
func dayOf(ns int64) time.Time {
	d := time.Unix(0, ns).UTC().Truncate(24 * time.Hour)
	if d.Before(minDay) {
		return minDay
	}
	if d.After(maxDay) {
		return maxDay
	}
	return d
}

// WriteSpans stores spans: synchronously (every table is written when it
// returns nil) and idempotently (see the package doc). It splits spans into
// batches of Config.BatchSize and sends up to Config.MaxConcurrentBatches
// of them at once. A span with a zero trace or span id is rejected with a
// permanent error and nothing is written.
func (s *Store) WriteSpans(ctx context.Context, spans []storage.Span) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i := range spans {
		if spans[i].TraceID.IsZero() {
			return storage.Permanent(fmt.Errorf("span %d: zero trace id", i))
		}
		if spans[i].SpanID.IsZero() {
			return storage.Permanent(fmt.Errorf("span %d (trace %s): zero span id", i, spans[i].TraceID))
		}
	}
	if len(spans) == 0 {
		return nil
	}
	size := s.cfg.BatchSize
	if len(spans) <= size {
		return s.writeBatch(ctx, spans)
	}
	sem := make(chan struct{}, s.cfg.MaxConcurrentBatches)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for start := 0; start < len(spans); start += size {
		chunk := spans[start:min(start+size, len(spans))]
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return errors.Join(append(errs, ctx.Err())...)
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.writeBatch(ctx, chunk); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// writeBatch writes one batch to the three tables, spans first.
func (s *Store) writeBatch(ctx context.Context, spans []storage.Span) error {
	ctx = s.writeContext(ctx)
	var c columns
	c.fill(spans)
	if err := s.send(ctx, tableSpans, spanInsertColumns, c.spanColumns()); err != nil {
		return err
	}
	if err := s.send(ctx, tableIndex, indexInsertColumns, c.indexColumns()); err != nil {
		return err
	}
	return s.send(ctx, tableOperations, operationInsertColumns, c.operationColumns())
}

// send inserts whole columns in one native batch.
func (s *Store) send(ctx context.Context, table string, names []string, cols []any) error {
	b, err := s.conn.PrepareBatch(ctx, insertSQL(table, names))
	if err != nil {
		return fmt.Errorf("prepare %s batch: %w", table, err)
	}
	for i, col := range cols {
		if err := b.Column(i).Append(col); err != nil {
			_ = b.Abort()
			return storage.Permanent(fmt.Errorf("append %s.%s: %w", table, names[i], err))
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("send %s batch: %w", table, err)
	}
	return nil
}

// writeContext adds the settings writes need: synchronous inserts into
// Distributed tables, so that the storage contract (visible on return)
// holds on a cluster.
func (s *Store) writeContext(ctx context.Context) context.Context {
	if !s.cfg.Cluster.Distributed {
		return ctx
	}
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
}

// columns holds one batch in columnar form.
type columns struct {
	day, dayOp                               []time.Time
	traceID, spanID, parentID                []string
	traceState, name, statusMsg, service     []string
	flags                                    []uint32
	kind, status                             []int8
	start, end, duration                     []int64
	resKeys, resValues, attrKeys, attrValues [][]string
	resTypes, attrTypes                      [][]uint8
	scopeName, scopeVersion                  []string
	evTimes                                  [][]int64
	evNames                                  [][]string
	evKeys, evValues                         [][][]string
	evTypes                                  [][][]uint8
	lnTrace, lnSpan, lnState                 [][]string
	lnKeys, lnValues                         [][][]string
	lnTypes                                  [][][]uint8
	dropA, dropE, dropL                      []uint32
	vcNodes                                  [][]string
	vcCounts                                 [][]uint64
	opService, opName                        []string
	opKind                                   []int8
}

type opKey struct {
	day           int64
	service, name string
	kind          storage.SpanKind
}

// arena hands out the per-span attribute arrays of a batch as sub-slices
// of a few large arrays, so that a batch costs a handful of allocations
// instead of several per span.
type arena struct {
	keys, values []string
	types        []uint8
}

func newArena(n int) *arena {
	return &arena{keys: make([]string, 0, n), values: make([]string, 0, n), types: make([]uint8, 0, n)}
}

func (a *arena) split(attrs []storage.Attribute) (keys []string, types []uint8, values []string) {
	start := len(a.keys)
	for _, at := range attrs {
		a.keys = append(a.keys, at.Key)
		a.types = append(a.types, uint8(at.Type))
		a.values = append(a.values, at.Value)
	}
	end := len(a.keys)
	return a.keys[start:end:end], a.types[start:end:end], a.values[start:end:end]
}

// countAttrs returns how many attributes spans hold in all.
func countAttrs(spans []storage.Span) int {
	n := 0
	for i := range spans {
		sp := &spans[i]
		n += len(sp.Resource) + len(sp.Attributes)
		for _, e := range sp.Events {
			n += len(e.Attributes)
		}
		for _, l := range sp.Links {
			n += len(l.Attributes)
		}
	}
	return n
}

func (c *columns) fill(spans []storage.Span) {
	n := len(spans)
	c.alloc(n)
	a := newArena(countAttrs(spans))
	// All ids of the batch in one string, handed out as substrings.
	const idLen = 16 + 8 + 8
	buf := make([]byte, 0, n*idLen)
	for i := range spans {
		buf = append(buf, spans[i].TraceID[:]...)
		buf = append(buf, spans[i].SpanID[:]...)
		buf = append(buf, spans[i].ParentSpanID[:]...)
	}
	ids := string(buf)
	// Clock entries of the batch, handed out as sub-slices; growing them
	// leaves earlier sub-slices valid (they keep the old array).
	vcNodes, vcCounts := make([]string, 0, n*2), make([]uint64, 0, n*2)
	seen := make(map[opKey]struct{})
	for i := range spans {
		sp := &spans[i]
		day := dayOf(sp.StartTime)
		c.day = append(c.day, day)
		id := ids[i*idLen : (i+1)*idLen]
		c.traceID = append(c.traceID, id[:16])
		c.spanID = append(c.spanID, id[16:24])
		c.parentID = append(c.parentID, id[24:])
		c.traceState = append(c.traceState, sp.TraceState)
		c.flags = append(c.flags, sp.Flags)
		c.name = append(c.name, sp.Name)
		c.kind = append(c.kind, int8(sp.Kind))
		c.start = append(c.start, sp.StartTime)
		c.end = append(c.end, sp.EndTime)
		c.duration = append(c.duration, sp.EndTime-sp.StartTime)
		c.status = append(c.status, int8(sp.StatusCode))
		c.statusMsg = append(c.statusMsg, sp.StatusMessage)
		c.service = append(c.service, sp.Service)
		k, t, v := a.split(sp.Resource)
		c.resKeys, c.resTypes, c.resValues = append(c.resKeys, k), append(c.resTypes, t), append(c.resValues, v)
		c.scopeName = append(c.scopeName, sp.ScopeName)
		c.scopeVersion = append(c.scopeVersion, sp.ScopeVersion)
		k, t, v = a.split(sp.Attributes)
		c.attrKeys, c.attrTypes, c.attrValues = append(c.attrKeys, k), append(c.attrTypes, t), append(c.attrValues, v)

		var (
			et     []int64
			en     []string
			ek, ev [][]string
			ety    [][]uint8
		)
		if ne := len(sp.Events); ne > 0 {
			et, en = make([]int64, ne), make([]string, ne)
			ek, ety, ev = make([][]string, ne), make([][]uint8, ne), make([][]string, ne)
		}
		for j, e := range sp.Events {
			et[j], en[j] = e.Time, e.Name
			ek[j], ety[j], ev[j] = a.split(e.Attributes)
		}
		c.evTimes, c.evNames = append(c.evTimes, et), append(c.evNames, en)
		c.evKeys, c.evTypes, c.evValues = append(c.evKeys, ek), append(c.evTypes, ety), append(c.evValues, ev)

		var (
			lt, ls, lst []string
			lk, lv      [][]string
			lty         [][]uint8
		)
		if nl := len(sp.Links); nl > 0 {
			lt, ls, lst = make([]string, nl), make([]string, nl), make([]string, nl)
			lk, lty, lv = make([][]string, nl), make([][]uint8, nl), make([][]string, nl)
		}
		for j, l := range sp.Links {
			lt[j], ls[j], lst[j] = string(l.TraceID[:]), string(l.SpanID[:]), l.TraceState
			lk[j], lty[j], lv[j] = a.split(l.Attributes)
		}
		c.lnTrace, c.lnSpan, c.lnState = append(c.lnTrace, lt), append(c.lnSpan, ls), append(c.lnState, lst)
		c.lnKeys, c.lnTypes, c.lnValues = append(c.lnKeys, lk), append(c.lnTypes, lty), append(c.lnValues, lv)

		c.dropA = append(c.dropA, sp.DroppedAttributes)
		c.dropE = append(c.dropE, sp.DroppedEvents)
		c.dropL = append(c.dropL, sp.DroppedLinks)

		var nodes []string
		var counts []uint64
		if clock, ok := sp.Clock(); ok {
			start := len(vcNodes)
			for _, e := range clock.Entries() {
				vcNodes, vcCounts = append(vcNodes, e.Node), append(vcCounts, e.Count)
			}
			end := len(vcNodes)
			nodes, counts = vcNodes[start:end:end], vcCounts[start:end:end]
		}
		c.vcNodes, c.vcCounts = append(c.vcNodes, nodes), append(c.vcCounts, counts)

		key := opKey{day: day.Unix(), service: sp.Service, name: sp.Name, kind: sp.Kind}
		if _, ok := seen[key]; !ok {
			seen[key] = struct{}{}
			c.dayOp = append(c.dayOp, day)
			c.opService = append(c.opService, sp.Service)
			c.opName = append(c.opName, sp.Name)
			c.opKind = append(c.opKind, int8(sp.Kind))
		}
	}
}

// alloc sizes the per-span columns for n spans.
func (c *columns) alloc(n int) {
	c.day = make([]time.Time, 0, n)
	c.traceID, c.spanID, c.parentID = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	c.traceState, c.name, c.statusMsg, c.service = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	c.flags = make([]uint32, 0, n)
	c.kind, c.status = make([]int8, 0, n), make([]int8, 0, n)
	c.start, c.end, c.duration = make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
	c.resKeys, c.resValues, c.attrKeys, c.attrValues = make([][]string, 0, n), make([][]string, 0, n), make([][]string, 0, n), make([][]string, 0, n)
	c.resTypes, c.attrTypes = make([][]uint8, 0, n), make([][]uint8, 0, n)
	c.scopeName, c.scopeVersion = make([]string, 0, n), make([]string, 0, n)
	c.evTimes, c.evNames = make([][]int64, 0, n), make([][]string, 0, n)
	c.evKeys, c.evValues, c.evTypes = make([][][]string, 0, n), make([][][]string, 0, n), make([][][]uint8, 0, n)
	c.lnTrace, c.lnSpan, c.lnState = make([][]string, 0, n), make([][]string, 0, n), make([][]string, 0, n)
	c.lnKeys, c.lnValues, c.lnTypes = make([][][]string, 0, n), make([][][]string, 0, n), make([][][]uint8, 0, n)
	c.dropA, c.dropE, c.dropL = make([]uint32, 0, n), make([]uint32, 0, n), make([]uint32, 0, n)
	c.vcNodes, c.vcCounts = make([][]string, 0, n), make([][]uint64, 0, n)
}

func (c *columns) spanColumns() []any {
	return []any{
		c.day, c.traceID, c.spanID, c.parentID, c.traceState, c.flags, c.name, c.kind,
		c.start, c.end, c.status, c.statusMsg, c.service,
		c.resKeys, c.resTypes, c.resValues, c.scopeName, c.scopeVersion,
		c.attrKeys, c.attrTypes, c.attrValues,
		c.evTimes, c.evNames, c.evKeys, c.evTypes, c.evValues,
		c.lnTrace, c.lnSpan, c.lnState, c.lnKeys, c.lnTypes, c.lnValues,
		c.dropA, c.dropE, c.dropL, c.vcNodes, c.vcCounts,
	}
}

func (c *columns) indexColumns() []any {
	return []any{
		c.day, c.service, c.name, c.kind, c.start, c.duration, c.traceID, c.spanID, c.parentID,
		c.status, c.attrKeys, c.attrValues, c.resKeys, c.resValues,
	}
}

func (c *columns) operationColumns() []any {
	return []any{c.dayOp, c.opService, c.opName, c.opKind}
}
