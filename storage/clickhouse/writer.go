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

func splitAttrs(attrs []storage.Attribute) (keys []string, types []uint8, values []string) {
	keys = make([]string, len(attrs))
	types = make([]uint8, len(attrs))
	values = make([]string, len(attrs))
	for i, a := range attrs {
		keys[i], types[i], values[i] = a.Key, uint8(a.Type), a.Value
	}
	return keys, types, values
}

func (c *columns) fill(spans []storage.Span) {
	n := len(spans)
	c.day = make([]time.Time, 0, n)
	seen := make(map[opKey]struct{})
	for i := range spans {
		sp := &spans[i]
		day := dayOf(sp.StartTime)
		c.day = append(c.day, day)
		c.traceID = append(c.traceID, string(sp.TraceID[:]))
		c.spanID = append(c.spanID, string(sp.SpanID[:]))
		c.parentID = append(c.parentID, string(sp.ParentSpanID[:]))
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
		k, t, v := splitAttrs(sp.Resource)
		c.resKeys, c.resTypes, c.resValues = append(c.resKeys, k), append(c.resTypes, t), append(c.resValues, v)
		c.scopeName = append(c.scopeName, sp.ScopeName)
		c.scopeVersion = append(c.scopeVersion, sp.ScopeVersion)
		k, t, v = splitAttrs(sp.Attributes)
		c.attrKeys, c.attrTypes, c.attrValues = append(c.attrKeys, k), append(c.attrTypes, t), append(c.attrValues, v)

		et := make([]int64, len(sp.Events))
		en := make([]string, len(sp.Events))
		ek := make([][]string, len(sp.Events))
		ety := make([][]uint8, len(sp.Events))
		ev := make([][]string, len(sp.Events))
		for j, e := range sp.Events {
			et[j], en[j] = e.Time, e.Name
			ek[j], ety[j], ev[j] = splitAttrs(e.Attributes)
		}
		c.evTimes, c.evNames = append(c.evTimes, et), append(c.evNames, en)
		c.evKeys, c.evTypes, c.evValues = append(c.evKeys, ek), append(c.evTypes, ety), append(c.evValues, ev)

		lt := make([]string, len(sp.Links))
		ls := make([]string, len(sp.Links))
		lst := make([]string, len(sp.Links))
		lk := make([][]string, len(sp.Links))
		lty := make([][]uint8, len(sp.Links))
		lv := make([][]string, len(sp.Links))
		for j, l := range sp.Links {
			lt[j], ls[j], lst[j] = string(l.TraceID[:]), string(l.SpanID[:]), l.TraceState
			lk[j], lty[j], lv[j] = splitAttrs(l.Attributes)
		}
		c.lnTrace, c.lnSpan, c.lnState = append(c.lnTrace, lt), append(c.lnSpan, ls), append(c.lnState, lst)
		c.lnKeys, c.lnTypes, c.lnValues = append(c.lnKeys, lk), append(c.lnTypes, lty), append(c.lnValues, lv)

		c.dropA = append(c.dropA, sp.DroppedAttributes)
		c.dropE = append(c.dropE, sp.DroppedEvents)
		c.dropL = append(c.dropL, sp.DroppedLinks)

		var nodes []string
		var counts []uint64
		if clock, ok := sp.Clock(); ok {
			entries := clock.Entries()
			nodes = make([]string, len(entries))
			counts = make([]uint64, len(entries))
			for j, e := range entries {
				nodes[j], counts[j] = e.Node, e.Count
			}
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
