package clickhouse

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math/bits"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

// Column lists of the writer's INSERTs. ClickHouse 18.16 needs them
// explicit for native batches.
var (
	spanInsertColumns = []string{
		"day", "trace_id", "span_id", "parent_span_id", "trace_state", "flags", "name", "kind",
		"start_time", "end_time", "status_code", "status_message", "service",
		"resource_hash", "scope_name", "scope_version",
		"attr_keys", "attr_types", "attr_values",
		"event_times", "event_names", "event_attr_keys", "event_attr_types", "event_attr_values",
		"link_trace_ids", "link_span_ids", "link_trace_states", "link_attr_keys", "link_attr_types", "link_attr_values",
		"dropped_attributes", "dropped_events", "dropped_links", "written",
	}
	searchInsertColumns = []string{
		"day", "service", "start_time", "name", "kind", "duration", "status_code", "trace_id", "span_id", "parent_span_id",
		"attr_keys", "attr_values", "resource_hash",
	}
	operationInsertColumns  = []string{"day", "service", "name", "kind"}
	resourceInsertColumns   = []string{"day", "hash", "attr_keys", "attr_types", "attr_values"}
	searchAttrInsertColumns = []string{"day", "key", "value_hash", "service", "start_time"}
	attrValueInsertColumns  = []string{"day", "hour", "resource", "service", "key", "value"}
	redInsertColumns        = []string{"day", "minute", "service", "name", "kind", "calls", "errors",
		"latencyMap.bucket", "latencyMap.count"}
	redServiceInsertColumns = []string{"day", "minute", "service", "kind", "calls", "errors",
		"latencyMap.bucket", "latencyMap.count"}
	// tracer_edge_writes.at is the server's clock (DEFAULT now()).
	edgeWriteInsertColumns = []string{"day", "minute"}
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
// of them at once, within Config.WriteTimeout and ctx.
//
// A span with a zero trace or span id is refused: the others are written
// and the error is a storage.RejectedError naming the refused ones. Every
// other error (connection, server, schema, deadline) is about the
// deployment: nothing is known about what was stored and the caller retries
// the whole call, which writing idempotently allows.
func (s *Store) WriteSpans(ctx context.Context, spans []storage.Span) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var rejected []storage.RejectedSpan
	for i := range spans {
		switch {
		case spans[i].TraceID.IsZero():
			rejected = append(rejected, storage.RejectedSpan{Index: i, Err: errZeroTraceID})
		case spans[i].SpanID.IsZero():
			rejected = append(rejected, storage.RejectedSpan{Index: i, Err: errZeroSpanID})
		}
	}
	if len(rejected) > 0 {
		valid := make([]storage.Span, 0, len(spans)-len(rejected))
		next := 0
		for i := range spans {
			if next < len(rejected) && rejected[next].Index == i {
				next++
				continue
			}
			valid = append(valid, spans[i])
		}
		spans = valid
	}
	if err := s.write(ctx, spans); err != nil {
		return err
	}
	return storage.Reject(rejected...)
}

var (
	errZeroTraceID = errors.New("zero trace id")
	errZeroSpanID  = errors.New("zero span id")
)

// write stores valid spans, in batches.
func (s *Store) write(ctx context.Context, spans []storage.Span) error {
	if len(spans) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
	defer cancel()
	hashes := hashResources(spans)
	size := s.cfg.BatchSize
	if len(spans) <= size {
		return s.writeBatch(ctx, spans, hashes)
	}
	sem := make(chan struct{}, s.cfg.MaxConcurrentBatches)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for start := 0; start < len(spans); start += size {
		end := min(start+size, len(spans))
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return errors.Join(append(errs, ctx.Err())...)
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.writeBatch(ctx, spans[start:end], hashes[start:end]); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// writeBatch writes one batch to the tables: resources first, then spans,
// so that a stored span's resource is always there.
func (s *Store) writeBatch(ctx context.Context, spans []storage.Span, hashes []resourceHash) error {
	err := s.sendBatch(ctx, spans, hashes)
	if err == nil {
		return nil
	}
	if cerr := contextError(ctx); cerr != nil {
		// Cancelled or past its deadline: say so, whatever clickhouse-go
		// saw of it (it closes the connection of a batch in flight, or the
		// connection's deadline, set from ctx's, fired first).
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

// contextError returns ctx.Err(), or context.DeadlineExceeded once ctx's
// deadline has passed even if its timer has not fired yet.
func contextError(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

func (s *Store) sendBatch(ctx context.Context, spans []storage.Span, hashes []resourceHash) error {
	ctx = s.writeContext(ctx)
	c := s.getColumns()
	defer s.putColumns(c)
	c.listed = s.listed
	c.fill(spans, hashes, uint64(time.Now().UnixNano()))
	if len(c.resHash) > 0 {
		if err := s.send(ctx, tableResources, resourceInsertColumns, c.resourceColumns(), len(c.resHash), c); err != nil {
			return err
		}
		s.listed.written(c, false, true, false)
	}
	if err := s.send(ctx, tableSpans, spanInsertColumns, c.spanColumns(), c.rows, c); err != nil {
		return err
	}
	if err := s.send(ctx, tableSearch, searchInsertColumns, c.searchColumns(), c.rows, c); err != nil {
		return err
	}
	if len(c.opName) > 0 {
		if err := s.send(ctx, tableOperations, operationInsertColumns, c.operationColumns(), len(c.opName), c); err != nil {
			return err
		}
		s.listed.written(c, true, false, false)
	}
	if len(c.atKey) > 0 {
		if err := s.send(ctx, tableSearchAttr, searchAttrInsertColumns, c.searchAttrColumns(), len(c.atKey), c); err != nil {
			return err
		}
	}
	if len(c.avKey) > 0 {
		if err := s.send(ctx, tableAttrValues, attrValueInsertColumns, c.attrValueColumns(), len(c.avKey), c); err != nil {
			return err
		}
		s.listed.written(c, false, false, true)
	}
	if err := s.send(ctx, tableRED, redInsertColumns, c.redColumns(), len(c.redMinute), c); err != nil {
		return err
	}
	if err := s.send(ctx, tableREDSvc, redServiceInsertColumns, c.redServiceColumns(), len(c.rsMinute), c); err != nil {
		return err
	}
	// Last: a minute marked here has every span of the batch visible
	// (see clickhouse.sql on dependencies).
	return s.send(ctx, tableEdgeWrites, edgeWriteInsertColumns, c.edgeWriteColumns(), len(c.ewMinute), c)
}

// getColumns returns spare columns, or new ones when none is spare.
func (s *Store) getColumns() *columns {
	select {
	case c := <-s.spare:
		return c
	default:
		return new(columns)
	}
}

// putColumns keeps c for a later batch if there is room, else drops it.
func (s *Store) putColumns(c *columns) {
	select {
	case s.spare <- c:
	default:
	}
}

// blockRows is the most rows send puts in one block of an INSERT. A batch
// of more rows goes as several blocks of one INSERT: the server squashes
// them into one part per table (min_insert_block_size_rows), while the
// client's batch columns stay small: clickhouse-go makes them anew for each
// INSERT, empty, and keeps them across its blocks, so at 50,000 rows in one
// block they grew to tens of MiB per batch (copied at each growth, the
// memory faulted in again and again) and cost the collector more CPU per
// span than batches of 8,192 did.
const blockRows = 8192

// send inserts whole columns in one INSERT, in blocks of at most
// blockRows rows. Plain columns go through clickhouse-go's Append, which
// takes a slice per column at once. Array columns are built as offsets plus
// flat values (strings kept ready-encoded, strValues), encoded in the
// native format into c.wire and decoded into the batch's columns:
// clickhouse-go's Array.Append walks its argument row by row with
// reflection and boxes every element, several allocations per span, while
// Decode fills the column from the flat encoding.
func (s *Store) send(ctx context.Context, table string, names []string, cols []any, rows int, c *columns) error {
	b, err := s.prepareBatch(ctx, insertSQL(table, names))
	if err != nil {
		return fmt.Errorf("prepare %s batch: %w", table, err)
	}
	for lo := 0; ; lo += blockRows {
		hi := min(lo+blockRows, rows)
		if err := appendColumns(b, table, names, cols, lo, hi, c); err != nil {
			// The table does not have the columns this writer sends (a
			// schema changed under it, say): a deployment problem, retried.
			_ = b.Abort()
			return err
		}
		if hi == rows {
			break
		}
		if err := b.Flush(); err != nil {
			_ = b.Abort()
			return fmt.Errorf("send %s block: %w", table, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("send %s batch: %w", table, err)
	}
	return nil
}

// appendColumns fills the batch b with rows lo to hi (exclusive) of cols
// (see send).
func appendColumns(b driver.Batch, table string, names []string, cols []any, lo, hi int, c *columns) error {
	bcols := b.Columns()
	if len(bcols) != len(cols) {
		return fmt.Errorf("%s batch has %d columns, want %d", table, len(bcols), len(cols))
	}
	c.wire.Buf = c.wire.Buf[:0]
	for i, col := range cols {
		if e, ok := col.(nativeEncoder); ok {
			e.encodeRows(&c.wire, lo, hi)
			continue
		}
		part, err := rowRange(col, lo, hi)
		if err != nil {
			return fmt.Errorf("append %s.%s: %w", table, names[i], err)
		}
		if err := b.Column(i).Append(part); err != nil {
			return fmt.Errorf("append %s.%s: %w", table, names[i], err)
		}
	}
	// The reader (its 128 KiB buffer) is kept across batches; it is
	// dropped when a decode fails or leaves bytes behind.
	c.wireReader.Reset(c.wire.Buf)
	if c.reader == nil {
		c.reader = proto.NewReader(&c.wireReader)
	}
	if err := decodeArrays(c, bcols, table, names, cols, hi-lo); err != nil {
		c.reader = nil
		return err
	}
	return nil
}

// rowRange returns rows lo to hi (exclusive) of the plain column col.
func rowRange(col any, lo, hi int) (any, error) {
	switch v := col.(type) {
	case []time.Time:
		return v[lo:hi], nil
	case []string:
		return v[lo:hi], nil
	case []int8:
		return v[lo:hi], nil
	case []uint8:
		return v[lo:hi], nil
	case []uint32:
		return v[lo:hi], nil
	case []int64:
		return v[lo:hi], nil
	case []uint64:
		return v[lo:hi], nil
	}
	return nil, fmt.Errorf("column of %T cannot be sent in blocks", col)
}

// decodeArrays decodes c.wire into the batch columns of cols' Array
// columns, in order, and checks that it used every byte and that each
// column holds rows rows.
func decodeArrays(c *columns, bcols []column.Interface, table string, names []string, cols []any, rows int) error {
	for i, col := range cols {
		if _, ok := col.(nativeEncoder); !ok {
			continue
		}
		if n := bcols[i].Rows(); n != 0 {
			return fmt.Errorf("append %s.%s: column already holds %d rows", table, names[i], n)
		}
		if err := bcols[i].Decode(c.reader, rows); err != nil {
			return fmt.Errorf("append %s.%s: %w", table, names[i], err)
		}
		if n := bcols[i].Rows(); n != rows {
			return fmt.Errorf("append %s.%s: column holds %d rows, want %d", table, names[i], n, rows)
		}
	}
	var rest [1]byte
	if n, err := c.reader.Read(rest[:]); n != 0 || !errors.Is(err, io.EOF) {
		return fmt.Errorf("append %s: native encoding of array columns not fully decoded", table)
	}
	return nil
}

// writeContext adds the settings writes need: synchronous inserts into
// Distributed tables, so that the storage contract (visible on return)
// holds on a cluster.
func (s *Store) writeContext(ctx context.Context) context.Context { return writeSettings(ctx, s.cfg) }

// writeSettings is writeContext for a Config.
func writeSettings(ctx context.Context, c Config) context.Context {
	if !c.Cluster.Distributed {
		return ctx
	}
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
}

// nativeEncoder is a column that writes itself in ClickHouse's native
// format (the Array columns below), whole or a range of its rows.
type nativeEncoder interface {
	EncodeColumn(b *proto.Buffer)
	encodeRows(b *proto.Buffer, lo, hi int)
}

// array is an Array(T) column built value by value: add the values of a
// row, then end the row. The native format is the rows' end offsets
// followed by all values.
type array[T any] struct {
	offsets proto.ColUInt64
	values  arrayValues[T]
}

// arrayValues is the flat value column of an array.
type arrayValues[T any] interface {
	Append(v T)
	Rows() int
	Reset()
	// encodeRange writes values lo to hi (exclusive) in the native format.
	encodeRange(b *proto.Buffer, lo, hi int)
}

// strValues is a String value column kept in the native encoding (each
// value's length as a uvarint, then its bytes), so that encoding it is one
// copy instead of a pass over every value as with proto.ColStr; ends holds
// where each value's encoding ends, for ranges.
type strValues struct {
	wire []byte
	ends []int
}

func (v *strValues) Append(s string) {
	v.wire = binary.AppendUvarint(v.wire, uint64(len(s)))
	v.wire = append(v.wire, s...)
	v.ends = append(v.ends, len(v.wire))
}

func (v *strValues) Rows() int { return len(v.ends) }
func (v *strValues) Reset()    { v.wire, v.ends = v.wire[:0], v.ends[:0] }

func (v *strValues) encodeRange(b *proto.Buffer, lo, hi int) {
	if lo == hi {
		return
	}
	from := 0
	if lo > 0 {
		from = v.ends[lo-1]
	}
	b.Buf = append(b.Buf, v.wire[from:v.ends[hi-1]]...)
}

// numValues is a fixed-size value column (UInt8, UInt16, Int64, UInt64)
// and enc its native encoding (ch-go's).
type numValues[T any] struct {
	v   []T
	enc func(b *proto.Buffer, v []T)
}

func (v *numValues[T]) Append(x T)                              { v.v = append(v.v, x) }
func (v *numValues[T]) Rows() int                               { return len(v.v) }
func (v *numValues[T]) Reset()                                  { v.v = v.v[:0] }
func (v *numValues[T]) encodeRange(b *proto.Buffer, lo, hi int) { v.enc(b, v.v[lo:hi]) }

func uint8Values() *numValues[uint8] {
	return &numValues[uint8]{enc: func(b *proto.Buffer, v []uint8) { proto.ColUInt8(v).EncodeColumn(b) }}
}

func uint16Values() *numValues[uint16] {
	return &numValues[uint16]{enc: func(b *proto.Buffer, v []uint16) { proto.ColUInt16(v).EncodeColumn(b) }}
}

func uint64Values() *numValues[uint64] {
	return &numValues[uint64]{enc: func(b *proto.Buffer, v []uint64) { proto.ColUInt64(v).EncodeColumn(b) }}
}

func int64Values() *numValues[int64] {
	return &numValues[int64]{enc: func(b *proto.Buffer, v []int64) { proto.ColInt64(v).EncodeColumn(b) }}
}

// fixedValues is a FixedString(size) value column.
type fixedValues struct {
	buf  []byte
	size int
}

func (v *fixedValues) Append(x []byte) { v.buf = append(v.buf, x...) }
func (v *fixedValues) Rows() int       { return len(v.buf) / v.size }
func (v *fixedValues) Reset()          { v.buf = v.buf[:0] }

func (v *fixedValues) encodeRange(b *proto.Buffer, lo, hi int) {
	b.Buf = append(b.Buf, v.buf[lo*v.size:hi*v.size]...)
}

func newArray[T any](values arrayValues[T]) *array[T] { return &array[T]{values: values} }

func (a *array[T]) add(v T) { a.values.Append(v) }
func (a *array[T]) end()    { a.offsets = append(a.offsets, uint64(a.values.Rows())) }
func (a *array[T]) reset()  { a.offsets = a.offsets[:0]; a.values.Reset() }

// EncodeColumn writes a in the native format.
func (a *array[T]) EncodeColumn(b *proto.Buffer) { a.encodeRows(b, 0, len(a.offsets)) }

// encodeRows writes rows lo to hi (exclusive) of a in the native format:
// their offsets made relative to the first row's values, then the values.
func (a *array[T]) encodeRows(b *proto.Buffer, lo, hi int) {
	from, to := encodeOffsets(b, a.offsets, lo, hi)
	a.values.encodeRange(b, from, to)
}

// encodeOffsets writes the end offsets of rows lo to hi (exclusive),
// relative to the end of row lo-1, and returns the range of values (or
// inner arrays) the rows hold.
func encodeOffsets(b *proto.Buffer, offsets proto.ColUInt64, lo, hi int) (from, to int) {
	var base uint64
	if lo > 0 {
		base = offsets[lo-1]
	}
	if base == 0 {
		offsets[lo:hi].EncodeColumn(b)
	} else {
		for _, o := range offsets[lo:hi] {
			b.Buf = binary.LittleEndian.AppendUint64(b.Buf, o-base)
		}
	}
	to = int(base)
	if hi > lo {
		to = int(offsets[hi-1])
	}
	return int(base), to
}

// array2 is an Array(Array(T)) column: rows of inner arrays.
type array2[T any] struct {
	offsets proto.ColUInt64
	inner   *array[T]
}

func newArray2[T any](values arrayValues[T]) *array2[T] {
	return &array2[T]{inner: newArray(values)}
}

// end ends a row of inner arrays (each ended with inner.end).
func (a *array2[T]) end()   { a.offsets = append(a.offsets, uint64(len(a.inner.offsets))) }
func (a *array2[T]) reset() { a.offsets = a.offsets[:0]; a.inner.reset() }

// EncodeColumn writes a in the native format.
func (a *array2[T]) EncodeColumn(b *proto.Buffer) { a.encodeRows(b, 0, len(a.offsets)) }

// encodeRows writes rows lo to hi (exclusive) of a in the native format.
func (a *array2[T]) encodeRows(b *proto.Buffer, lo, hi int) {
	from, to := encodeOffsets(b, a.offsets, lo, hi)
	a.inner.encodeRows(b, from, to)
}

// attrArrays are the parallel key, type and value arrays of an attribute
// list.
type attrArrays struct {
	keys, values *array[string]
	types        *array[uint8]
}

func newAttrArrays() attrArrays {
	return attrArrays{
		keys:   newArray[string](new(strValues)),
		types:  newArray[uint8](uint8Values()),
		values: newArray[string](new(strValues)),
	}
}

func (a attrArrays) add(attrs []storage.Attribute) {
	for i := range attrs {
		at := &attrs[i]
		a.keys.add(at.Key)
		a.types.add(uint8(at.Type))
		a.values.add(at.Value)
	}
	a.keys.end()
	a.types.end()
	a.values.end()
}

func (a attrArrays) reset() { a.keys.reset(); a.types.reset(); a.values.reset() }

// attrArrays2 are attribute lists of events or links, one list per event
// or link, one row of lists per span.
type attrArrays2 struct {
	keys, values *array2[string]
	types        *array2[uint8]
}

func newAttrArrays2() attrArrays2 {
	return attrArrays2{
		keys:   newArray2[string](new(strValues)),
		types:  newArray2[uint8](uint8Values()),
		values: newArray2[string](new(strValues)),
	}
}

// inner returns the attribute arrays of one event or link.
func (a attrArrays2) inner() attrArrays {
	return attrArrays{keys: a.keys.inner, types: a.types.inner, values: a.values.inner}
}

func (a attrArrays2) end()   { a.keys.end(); a.types.end(); a.values.end() }
func (a attrArrays2) reset() { a.keys.reset(); a.types.reset(); a.values.reset() }

// columns holds one batch in columnar form. A columns is reused across
// batches (Store.spare): fill resets it.
type columns struct {
	rows                                 int
	day, dayOp                           []time.Time
	traceID, spanID, parentID            []string
	traceState, name, statusMsg, service []string
	flags                                []uint32
	kind, status                         []int8
	start, end, duration                 []int64
	scopeName, scopeVersion              []string
	dropA, dropE, dropL                  []uint32
	opService, opName                    []string
	opKind                               []int8
	ids                                  []byte
	// listed skips the listing rows written before (nil: none); opKeys,
	// resKeys and avKeys are the keys of the batch's listing rows.
	listed  *listed
	opKeys  []opKey
	resKeys []resKey
	avKeys  []avKey
	spanRes []string // resource hash per span
	written []uint64
	resDay  []time.Time
	resHash []string

	// tracer_search_attributes
	atDay   []time.Time
	atKey   []string
	atHash  []uint64
	atStart []int64
	atSvc   []string
	// tracer_attribute_values
	avDay             []time.Time
	avHour            []int64
	avRes             []uint8
	avSvc, avKey, avV []string
	seenAV            map[avKey]struct{}
	seenResHour       map[resHourKey]struct{}
	// tracer_red
	red                 redAcc
	redDay              []time.Time
	redMinute           []int64
	redSvc, redName     []string
	redKind             []int8
	redCalls, redErrors []uint64
	redBuckets          *array[uint16]
	redCounts           *array[uint64]
	// tracer_red_services
	redSvc2           redAcc // name ""
	rsDay             []time.Time
	rsMinute          []int64
	rsSvc             []string
	rsKind            []int8
	rsCalls, rsErrors []uint64
	rsB               *array[uint16]
	rsC               *array[uint64]
	// tracer_edge_writes
	seenMinutes map[int64]struct{}
	ewDay       []time.Time
	ewMinute    []int64

	made             bool
	res, attrs       attrArrays // res: tracer_resources rows
	evTimes          *array[int64]
	evNames, lnState *array[string]
	evAttrs, lnAttrs attrArrays2
	lnTrace, lnSpan  *array[[]byte]
	seen             map[opKey]struct{}
	seenRes          map[resKey]struct{}
	wire             proto.Buffer
	wireReader       bytes.Reader
	reader           *proto.Reader
}

type resKey struct {
	day  int64
	hash resourceHash
}

// avKey identifies a tracer_attribute_values row of a batch by a hash of
// its strings (a collision leaves one value out of a listing).
type avKey struct {
	hour     int64
	resource bool
	h        uint64
}

type resHourKey struct {
	hour    int64
	service string
	hash    resourceHash
}

type redKey struct {
	minute        int64
	service, name string
	kind          storage.SpanKind
}

type opKey struct {
	day           int64
	service, name string
	kind          storage.SpanKind
}

// reset empties c, keeping its buffers, and makes its array columns the
// first time.
func (c *columns) reset() {
	c.rows = 0
	c.day, c.dayOp = c.day[:0], c.dayOp[:0]
	c.traceID, c.spanID, c.parentID = c.traceID[:0], c.spanID[:0], c.parentID[:0]
	c.traceState, c.name, c.statusMsg, c.service = c.traceState[:0], c.name[:0], c.statusMsg[:0], c.service[:0]
	c.flags = c.flags[:0]
	c.kind, c.status = c.kind[:0], c.status[:0]
	c.start, c.end, c.duration = c.start[:0], c.end[:0], c.duration[:0]
	c.scopeName, c.scopeVersion = c.scopeName[:0], c.scopeVersion[:0]
	c.dropA, c.dropE, c.dropL = c.dropA[:0], c.dropE[:0], c.dropL[:0]
	c.opService, c.opName, c.opKind = c.opService[:0], c.opName[:0], c.opKind[:0]
	c.spanRes, c.written, c.resDay, c.resHash = c.spanRes[:0], c.written[:0], c.resDay[:0], c.resHash[:0]
	c.atDay, c.atKey, c.atHash, c.atStart, c.atSvc = c.atDay[:0], c.atKey[:0], c.atHash[:0], c.atStart[:0], c.atSvc[:0]
	c.rsDay, c.rsMinute, c.rsSvc, c.rsKind, c.rsCalls, c.rsErrors = c.rsDay[:0], c.rsMinute[:0], c.rsSvc[:0], c.rsKind[:0], c.rsCalls[:0], c.rsErrors[:0]
	c.avDay, c.avHour, c.avRes, c.avSvc, c.avKey, c.avV = c.avDay[:0], c.avHour[:0], c.avRes[:0], c.avSvc[:0], c.avKey[:0], c.avV[:0]
	c.redDay, c.redMinute, c.redSvc, c.redName, c.redKind = c.redDay[:0], c.redMinute[:0], c.redSvc[:0], c.redName[:0], c.redKind[:0]
	c.redCalls, c.redErrors = c.redCalls[:0], c.redErrors[:0]
	c.ewDay, c.ewMinute = c.ewDay[:0], c.ewMinute[:0]
	c.opKeys, c.resKeys, c.avKeys = c.opKeys[:0], c.resKeys[:0], c.avKeys[:0]
	c.red.reset()
	c.redSvc2.reset()
	if !c.made {
		c.made = true
		c.res, c.attrs = newAttrArrays(), newAttrArrays()
		c.evTimes = newArray[int64](int64Values())
		c.evNames = newArray[string](new(strValues))
		c.lnState = newArray[string](new(strValues))
		c.evAttrs, c.lnAttrs = newAttrArrays2(), newAttrArrays2()
		c.lnTrace = newArray[[]byte](&fixedValues{size: len(storage.TraceID{})})
		c.lnSpan = newArray[[]byte](&fixedValues{size: len(storage.SpanID{})})
		c.seen = make(map[opKey]struct{})
		c.seenRes = make(map[resKey]struct{})
		c.seenAV = make(map[avKey]struct{})
		c.seenResHour = make(map[resHourKey]struct{})
		c.redBuckets = newArray[uint16](uint16Values())
		c.redCounts = newArray[uint64](uint64Values())
		c.rsB = newArray[uint16](uint16Values())
		c.rsC = newArray[uint64](uint64Values())
		c.seenMinutes = make(map[int64]struct{})
		return
	}
	c.redBuckets.reset()
	c.redCounts.reset()
	c.rsB.reset()
	c.rsC.reset()
	clear(c.seenAV)
	clear(c.seenResHour)
	clear(c.seenMinutes)
	c.res.reset()
	c.attrs.reset()
	c.evTimes.reset()
	c.evNames.reset()
	c.lnState.reset()
	c.evAttrs.reset()
	c.lnAttrs.reset()
	c.lnTrace.reset()
	c.lnSpan.reset()
	clear(c.seen)
	clear(c.seenRes)
}

// fill makes c the columns of spans, whose resources hash to hashes (one
// per span), written at written (the writer's clock, in nanoseconds).
func (c *columns) fill(spans []storage.Span, hashes []resourceHash, written uint64) {
	c.reset()
	n := len(spans)
	c.rows = n
	// All ids of the batch in one string, handed out as substrings.
	const idLen = 16 + 8 + 8 + len(resourceHash{})
	buf := slices.Grow(c.ids[:0], n*idLen)
	for i := range spans {
		buf = append(buf, spans[i].TraceID[:]...)
		buf = append(buf, spans[i].SpanID[:]...)
		buf = append(buf, spans[i].ParentSpanID[:]...)
		buf = append(buf, hashes[i][:]...)
	}
	c.ids = buf
	ids := string(buf)
	for i := range spans {
		sp := &spans[i]
		day := dayOf(sp.StartTime)
		c.day = append(c.day, day)
		id := ids[i*idLen : (i+1)*idLen]
		c.traceID = append(c.traceID, id[:16])
		c.spanID = append(c.spanID, id[16:24])
		c.parentID = append(c.parentID, id[24:32])
		c.spanRes = append(c.spanRes, id[32:])
		c.written = append(c.written, written)
		if h := hashes[i]; !h.isZero() {
			if k := (resKey{day.Unix(), h}); !has(c.seenRes, k) {
				c.seenRes[k] = struct{}{}
				if !c.listed.hasRes(k) {
					c.resKeys = append(c.resKeys, k)
					c.resDay = append(c.resDay, day)
					c.resHash = append(c.resHash, id[32:])
					c.res.add(sp.Resource)
				}
			}
		}
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
		c.scopeName = append(c.scopeName, sp.ScopeName)
		c.scopeVersion = append(c.scopeVersion, sp.ScopeVersion)
		c.attrs.add(sp.Attributes)

		evAttrs := c.evAttrs.inner()
		for j := range sp.Events {
			e := &sp.Events[j]
			c.evTimes.add(e.Time)
			c.evNames.add(e.Name)
			evAttrs.add(e.Attributes)
		}
		c.evTimes.end()
		c.evNames.end()
		c.evAttrs.end()

		lnAttrs := c.lnAttrs.inner()
		for j := range sp.Links {
			l := &sp.Links[j]
			c.lnTrace.add(l.TraceID[:])
			c.lnSpan.add(l.SpanID[:])
			c.lnState.add(l.TraceState)
			lnAttrs.add(l.Attributes)
		}
		c.lnTrace.end()
		c.lnSpan.end()
		c.lnState.end()
		c.lnAttrs.end()

		c.dropA = append(c.dropA, sp.DroppedAttributes)
		c.dropE = append(c.dropE, sp.DroppedEvents)
		c.dropL = append(c.dropL, sp.DroppedLinks)

		key := opKey{day: day.Unix(), service: sp.Service, name: sp.Name, kind: sp.Kind}
		if _, ok := c.seen[key]; !ok {
			c.seen[key] = struct{}{}
			if !c.listed.hasOp(key) {
				c.opKeys = append(c.opKeys, key)
				c.dayOp = append(c.dayOp, day)
				c.opService = append(c.opService, sp.Service)
				c.opName = append(c.opName, sp.Name)
				c.opKind = append(c.opKind, int8(sp.Kind))
			}
		}
		c.addSearchRows(sp, day, hashes[i])
	}
	c.finishAggregates()
}

// maxListedValue is the longest attribute value tracer_attribute_values
// lists.
const maxListedValue = 256

// maxParentMinutes bounds the minutes a span marks in tracer_edge_writes:
// the children of a span start within it, and a parent that started more
// than a day before its child is beyond what Dependencies promises.
const maxParentMinutes = 24 * 60

// addSearchRows adds span sp's rows of tracer_search_attributes,
// tracer_attribute_values, tracer_red and tracer_edge_writes; res is the
// hash of its resource.
func (c *columns) addSearchRows(sp *storage.Span, day time.Time, res resourceHash) {
	hour := floorDiv(sp.StartTime, int64(time.Hour)) * 3600
	for j := range sp.Attributes {
		a := &sp.Attributes[j]
		c.addListed(day, hour, false, sp.Service, a.Key, a.Value)
		if !indexed(a.Key) {
			continue
		}
		c.atDay = append(c.atDay, day)
		c.atKey = append(c.atKey, a.Key)
		c.atHash = append(c.atHash, valueHash(a.Value))
		c.atStart = append(c.atStart, sp.StartTime)
		c.atSvc = append(c.atSvc, sp.Service)
	}
	if len(sp.Resource) > 0 {
		if k := (resHourKey{hour, sp.Service, res}); !has(c.seenResHour, k) {
			c.seenResHour[k] = struct{}{}
			for j := range sp.Resource {
				c.addListed(day, hour, true, sp.Service, sp.Resource[j].Key, sp.Resource[j].Value)
			}
		}
	}
	minute := floorDiv(sp.StartTime, int64(time.Minute))
	bucket := storage.LatencyBucket(time.Duration(sp.EndTime - sp.StartTime))
	isErr := sp.StatusCode == storage.StatusError
	c.red.add(redKey{minute: minute * 60, service: sp.Service, name: sp.Name, kind: sp.Kind}, isErr, bucket)
	c.redSvc2.add(redKey{minute: minute * 60, service: sp.Service, kind: sp.Kind}, isErr, bucket)
	last := floorDiv(sp.EndTime, int64(time.Minute))
	last = min(max(last, minute), minute+maxParentMinutes)
	for m := minute; m <= last; m++ {
		if !has(c.seenMinutes, m) {
			c.seenMinutes[m] = struct{}{}
			c.ewDay = append(c.ewDay, dayOf(m*int64(time.Minute)))
			c.ewMinute = append(c.ewMinute, m*60)
		}
	}
}

func (c *columns) addListed(day time.Time, hour int64, resource bool, service, key, value string) {
	if len(value) > maxListedValue {
		return
	}
	k := avKey{hour, resource, listedHash(service, key, value)}
	if has(c.seenAV, k) {
		return
	}
	c.seenAV[k] = struct{}{}
	if c.listed.hasAV(k) {
		return
	}
	c.avKeys = append(c.avKeys, k)
	var r uint8
	if resource {
		r = 1
	}
	c.avDay = append(c.avDay, day)
	c.avHour = append(c.avHour, hour)
	c.avRes = append(c.avRes, r)
	c.avSvc = append(c.avSvc, service)
	c.avKey = append(c.avKey, key)
	c.avV = append(c.avV, value)
}

// finishAggregates turns the RED aggregates of the batch into columns.
func (c *columns) finishAggregates() {
	c.red.finish(c.redBuckets, c.redCounts)
	for i, k := range c.red.keys {
		c.redDay = append(c.redDay, dayOf(k.minute*int64(time.Second)))
		c.redMinute = append(c.redMinute, k.minute)
		c.redSvc = append(c.redSvc, k.service)
		c.redName = append(c.redName, k.name)
		c.redKind = append(c.redKind, int8(k.kind))
		c.redCalls = append(c.redCalls, c.red.calls[i])
		c.redErrors = append(c.redErrors, c.red.errors[i])
	}
	c.redSvc2.finish(c.rsB, c.rsC)
	for i, k := range c.redSvc2.keys {
		c.rsDay = append(c.rsDay, dayOf(k.minute*int64(time.Second)))
		c.rsMinute = append(c.rsMinute, k.minute)
		c.rsSvc = append(c.rsSvc, k.service)
		c.rsKind = append(c.rsKind, int8(k.kind))
		c.rsCalls = append(c.rsCalls, c.redSvc2.calls[i])
		c.rsErrors = append(c.rsErrors, c.redSvc2.errors[i])
	}
}

// redAcc accumulates the RED rows of a batch: an index per key with its
// calls and errors, and a (key index, latency bucket) pair per span,
// sorted and counted once at the end (no histogram per key).
type redAcc struct {
	index         map[redKey]int
	keys          []redKey
	calls, errors []uint64
	pairs         []uint64 // index<<16 | bucket
}

func (a *redAcc) reset() {
	if a.index == nil {
		a.index = make(map[redKey]int)
	}
	clear(a.index)
	a.keys, a.calls, a.errors, a.pairs = a.keys[:0], a.calls[:0], a.errors[:0], a.pairs[:0]
}

func (a *redAcc) add(k redKey, isErr bool, bucket int) {
	i, ok := a.index[k]
	if !ok {
		i = len(a.keys)
		a.index[k] = i
		a.keys = append(a.keys, k)
		a.calls = append(a.calls, 0)
		a.errors = append(a.errors, 0)
	}
	a.calls[i]++
	if isErr {
		a.errors[i]++
	}
	a.pairs = append(a.pairs, uint64(i)<<16|uint64(bucket))
}

// finish writes each key's histogram, in key order, as a row of buckets
// and counts.
func (a *redAcc) finish(buckets *array[uint16], counts *array[uint64]) {
	slices.Sort(a.pairs)
	p := a.pairs
	for i := range a.keys {
		for len(p) > 0 && int(p[0]>>16) == i {
			b, n := p[0], uint64(0)
			for len(p) > 0 && p[0] == b {
				n++
				p = p[1:]
			}
			buckets.add(uint16(b & 0xffff))
			counts.add(n)
		}
		buckets.end()
		counts.end()
	}
}

// indexed reports whether tracer_search_attributes holds attribute key: not the
// vector clock's per-span values (see clickhouse.sql).
func indexed(key string) bool {
	switch key {
	case vclock.AttrTick, vclock.AttrEndTick, vclock.AttrDeps, vclock.AttrEndDeps:
		return false
	}
	return true
}

// floorDiv is a / b rounded towards minus infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// valueHash is the FNV-1a hash of an attribute value, tracer_search_attributes'
// value_hash.
func valueHash(v string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(v); i++ {
		h ^= uint64(v[i])
		h *= fnvPrime
	}
	return h
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// listedSeed seeds listedHash. avKey lives only in this process (a batch's
// columns and the listed cache), so the seed need not be stable.
var listedSeed = maphash.MakeSeed()

// listedHash is the hash of a tracer_attribute_values row's strings: the
// runtime's AES-based hash of each (hash/maphash), mixed. It replaced an
// FNV-1a pass over every byte, a fifth of columns.fill's time (it runs for
// every attribute of every span).
func listedHash(service, key, value string) uint64 {
	h := maphash.String(listedSeed, service)
	h = mix64(h, maphash.String(listedSeed, key))
	return mix64(h, maphash.String(listedSeed, value))
}

// mix64 combines two hashes into one: the 128-bit product of both, each
// xored with a constant, folded (wyhash's mum), so that the order counts.
func mix64(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a^0x9e3779b97f4a7c15, b^0xc2b2ae3d27d4eb4f)
	return hi ^ lo
}

func (c *columns) spanColumns() []any {
	return []any{
		c.day, c.traceID, c.spanID, c.parentID, c.traceState, c.flags, c.name, c.kind,
		c.start, c.end, c.status, c.statusMsg, c.service,
		c.spanRes, c.scopeName, c.scopeVersion,
		c.attrs.keys, c.attrs.types, c.attrs.values,
		c.evTimes, c.evNames, c.evAttrs.keys, c.evAttrs.types, c.evAttrs.values,
		c.lnTrace, c.lnSpan, c.lnState, c.lnAttrs.keys, c.lnAttrs.types, c.lnAttrs.values,
		c.dropA, c.dropE, c.dropL, c.written,
	}
}

func (c *columns) searchColumns() []any {
	return []any{
		c.day, c.service, c.start, c.name, c.kind, c.duration, c.status, c.traceID, c.spanID, c.parentID,
		c.attrs.keys, c.attrs.values, c.spanRes,
	}
}

func (c *columns) resourceColumns() []any {
	return []any{c.resDay, c.resHash, c.res.keys, c.res.types, c.res.values}
}

func has[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}

func (c *columns) operationColumns() []any {
	return []any{c.dayOp, c.opService, c.opName, c.opKind}
}

func (c *columns) searchAttrColumns() []any {
	return []any{c.atDay, c.atKey, c.atHash, c.atSvc, c.atStart}
}

func (c *columns) redServiceColumns() []any {
	return []any{c.rsDay, c.rsMinute, c.rsSvc, c.rsKind, c.rsCalls, c.rsErrors, c.rsB, c.rsC}
}

func (c *columns) attrValueColumns() []any {
	return []any{c.avDay, c.avHour, c.avRes, c.avSvc, c.avKey, c.avV}
}

func (c *columns) redColumns() []any {
	return []any{c.redDay, c.redMinute, c.redSvc, c.redName, c.redKind, c.redCalls, c.redErrors, c.redBuckets, c.redCounts}
}

func (c *columns) edgeWriteColumns() []any {
	return []any{c.ewDay, c.ewMinute}
}

// prepareBatch is conn.PrepareBatch, tried once more on another connection
// when the first fails on a connection the server had closed while it sat
// in the pool (clickhouse-go hands those out; its issue #1263). Preparing
// sends only the INSERT's text and reads the table's header, so nothing was
// written and trying again cannot write twice.
func (s *Store) prepareBatch(ctx context.Context, query string) (driver.Batch, error) {
	b, err := s.conn.PrepareBatch(ctx, query)
	if err != nil && staleConn(err) && ctx.Err() == nil {
		b, err = s.conn.PrepareBatch(ctx, query)
	}
	return b, err
}

// staleConn reports whether err is a pooled connection found closed.
func staleConn(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
