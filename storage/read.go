package storage

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// StatusFilter selects spans by status code in a Query.
type StatusFilter int8

// Status filters. AnyStatus, the zero value, does not filter.
const (
	AnyStatus StatusFilter = iota
	OnlyUnset
	OnlyOK
	OnlyError
)

// Matches reports whether a span with status code c passes the filter.
func (f StatusFilter) Matches(c StatusCode) bool {
	switch f {
	case OnlyUnset:
		return c == StatusUnset
	case OnlyOK:
		return c == StatusOK
	case OnlyError:
		return c == StatusError
	}
	return true
}

// ParseStatusFilter parses "unset", "ok" or "error"; "" is AnyStatus.
func ParseStatusFilter(s string) (StatusFilter, error) {
	switch s {
	case "":
		return AnyStatus, nil
	case "unset":
		return OnlyUnset, nil
	case "ok":
		return OnlyOK, nil
	case "error":
		return OnlyError, nil
	}
	return 0, fmt.Errorf("unknown status %q: want unset, ok or error", s)
}

// ServiceSummary counts the spans of one service in a trace.
type ServiceSummary struct {
	Service    string
	SpanCount  int
	ErrorCount int // spans with StatusError
}

// TraceSummary describes a trace without its spans: what a search result
// list shows.
type TraceSummary struct {
	ID TraceID
	// RootService and RootName are the root span's (the span without a
	// parent; the earliest-starting one when several are stored, any one of
	// them on a tie). When no root span is stored, HasRoot is false and they
	// are the earliest-starting span's.
	RootService string
	RootName    string
	HasRoot     bool
	// Start is the earliest start and End the latest end of the stored
	// spans, in unix nanoseconds.
	Start int64
	End   int64
	// SpanCount and ErrorCount count every stored span of the trace (they
	// are not capped by ReaderLimits.MaxTraceSpans).
	SpanCount  int
	ErrorCount int
	// Services has one entry per service in the trace, sorted by name.
	Services []ServiceSummary
}

// Duration is End - Start.
func (s *TraceSummary) Duration() time.Duration { return time.Duration(s.End - s.Start) }

// Summarize returns the summary of the spans of trace id. Every backend
// that summarizes spans in Go calls it, so that they summarize alike.
func Summarize(id TraceID, spans []Span) TraceSummary {
	var b SummaryBuilder
	b.Reset(id)
	for i := range spans {
		b.Add(&spans[i])
	}
	return b.Summary()
}

// SummaryBuilder builds a TraceSummary one span at a time, for backends that
// stream a trace's spans. The zero value is ready after Reset.
type SummaryBuilder struct {
	sum      TraceSummary
	rootAt   int64
	services map[string]*ServiceSummary
	any      bool
}

// Reset starts the summary of trace id.
func (b *SummaryBuilder) Reset(id TraceID) {
	clear(b.services)
	b.sum = TraceSummary{ID: id}
	b.any = false
}

// Add counts span s.
func (b *SummaryBuilder) Add(s *Span) {
	root := s.ParentSpanID.IsZero()
	switch {
	case !b.any:
		b.sum.Start, b.sum.End = s.StartTime, s.EndTime
		b.take(s, root)
	case root && !b.sum.HasRoot, root == b.sum.HasRoot && s.StartTime < b.rootAt:
		b.take(s, root)
	}
	b.any = true
	b.sum.Start = min(b.sum.Start, s.StartTime)
	b.sum.End = max(b.sum.End, s.EndTime)
	b.sum.SpanCount++
	if b.services == nil {
		b.services = make(map[string]*ServiceSummary)
	}
	ss := b.services[s.Service]
	if ss == nil {
		ss = &ServiceSummary{Service: s.Service}
		b.services[s.Service] = ss
	}
	ss.SpanCount++
	if s.StatusCode == StatusError {
		b.sum.ErrorCount++
		ss.ErrorCount++
	}
}

func (b *SummaryBuilder) take(s *Span, root bool) {
	b.sum.RootService, b.sum.RootName, b.sum.HasRoot = s.Service, s.Name, root
	b.rootAt = s.StartTime
}

// Summary returns the summary of the spans added since Reset.
func (b *SummaryBuilder) Summary() TraceSummary {
	sum := b.sum
	sum.Services = make([]ServiceSummary, 0, len(b.services))
	for _, ss := range b.services {
		sum.Services = append(sum.Services, *ss)
	}
	slices.SortFunc(sum.Services, func(a, b ServiceSummary) int {
		switch {
		case a.Service < b.Service:
			return -1
		case a.Service > b.Service:
			return 1
		}
		return 0
	})
	return sum
}

// SearchReader finds traces without reading them whole.
type SearchReader interface {
	// FindTraceIDs returns the ids of the traces FindTraces would return
	// for q, in the same order, with the same limits.
	FindTraceIDs(ctx context.Context, q Query) ([]TraceID, error)
	// FindTraceSummaries returns the summaries of the traces FindTraces
	// would return for q, in the same order, with the same limits. Each
	// summary covers every stored span of its trace, as Summarize does,
	// however many there are (ReaderLimits.MaxTraceSpans does not apply).
	FindTraceSummaries(ctx context.Context, q Query) ([]TraceSummary, error)
}

// MaxStreamBatch is the most spans one StreamTrace callback receives.
const MaxStreamBatch = 1000

// TraceStreamer reads a trace in bounded memory.
type TraceStreamer interface {
	// StreamTrace calls fn with the stored spans of the trace, in
	// non-empty batches of at most MaxStreamBatch spans, in no particular
	// order, each span once, as the last version written before the call.
	// The batch is the caller's: the reader never uses it after fn returns
	// (fn may keep it). When more than ReaderLimits.MaxTraceSpans spans are
	// stored it passes exactly that many and returns truncated true;
	// otherwise it passes them all and returns false. It returns
	// ErrNotFound, without calling fn, when no span of the trace is stored.
	// When fn returns an error it calls fn no more and returns an error
	// that wraps fn's (errors.Is). Memory held by the reader is bounded by
	// the batch size, not the trace's (a backend that holds the trace in
	// memory anyway may hold references to it).
	StreamTrace(ctx context.Context, id TraceID, fn func([]Span) error) (truncated bool, err error)
}

// REDResolution is the finest step of RED series: backends may aggregate
// per minute on write.
const REDResolution = time.Minute

// REDQuery selects the spans that RED series are computed over: spans that
// started in [Start, End) and match every set field.
type REDQuery struct {
	// Services, when set, are the services to include; empty means all.
	Services []string
	// Kinds, when set, are the span kinds to include; empty means all.
	Kinds []SpanKind
	// Operation, when set, is the only span name included.
	Operation string
	// GroupByOperation gives one series per service and operation instead
	// of one per service.
	GroupByOperation bool
	Start            time.Time
	End              time.Time
	// Step is the width of each point: a positive multiple of
	// REDResolution. Points start at multiples of Step since the Unix
	// epoch (UTC), so the first point may start before Start; it counts
	// only spans in [Start, End) nonetheless when Start is a multiple of
	// REDResolution (backends that aggregate per minute round Start and End
	// down to the minute).
	Step time.Duration
}

// Matches reports whether span s is counted by q: it started in [Start,
// End) and passes every set filter. Times are compared in unix nanoseconds.
func (q *REDQuery) Matches(s *Span) bool {
	switch {
	case s.StartTime < q.Start.UnixNano() || s.StartTime >= q.End.UnixNano(),
		q.Operation != "" && s.Name != q.Operation,
		len(q.Services) > 0 && !slices.Contains(q.Services, s.Service),
		len(q.Kinds) > 0 && !slices.Contains(q.Kinds, s.Kind):
		return false
	}
	return true
}

// PointTime returns the start of the step that holds start (unix
// nanoseconds): the greatest multiple of q.Step since the epoch not after
// it. q.Step must be positive (see Validate).
func (q *REDQuery) PointTime(start int64) int64 {
	step := int64(q.Step)
	r := start % step
	if r < 0 {
		r += step
	}
	return start - r
}

// Validate checks q: a bad step or an empty or inverted range is an error
// wrapping ErrInvalidQuery.
func (q *REDQuery) Validate() error {
	switch {
	case q.Step <= 0 || q.Step%REDResolution != 0:
		return fmt.Errorf("step %s: must be a positive multiple of %s: %w", q.Step, REDResolution, ErrInvalidQuery)
	case q.Start.IsZero() || q.End.IsZero() || !q.Start.Before(q.End):
		return fmt.Errorf("time range [%s, %s): start must be before end: %w", q.Start.Format(time.RFC3339), q.End.Format(time.RFC3339), ErrInvalidQuery)
	}
	return nil
}

// REDPoint is the rate, errors and duration of the spans that started in
// one step.
type REDPoint struct {
	Time    int64 // start of the step, unix nanoseconds
	Calls   uint64
	Errors  uint64 // spans with StatusError
	Latency Histogram
}

// REDSeries is the points of one service (and operation, when grouped).
type REDSeries struct {
	Service   string
	Operation string // "" unless REDQuery.GroupByOperation
	// Points are in time order; steps without spans are left out.
	Points []REDPoint
}

// REDReader computes RED (rate, errors, duration) series.
type REDReader interface {
	// RED returns the series for q, sorted by Service then Operation, with
	// the spans REDQuery.Matches selects: each counts in the point
	// REDQuery.PointTime gives its start, its duration in bucket
	// LatencyBucket of the histogram. An invalid q (see REDQuery.Validate),
	// or one whose answer would hold more than ReaderLimits.MaxREDPoints
	// points (the points returned, not the steps of the range), is an error
	// wrapping ErrInvalidQuery.
	//
	// A span written more than once counts once, as its last version, like
	// every read. A backend that aggregates on write may document instead
	// that a span written n times (a retried batch) counts n times, each
	// time as the version then written; the conformance suite is told so
	// (storagetest.REDCountsEachWrite).
	RED(ctx context.Context, q REDQuery) ([]REDSeries, error)
}

// SortRED puts series in the order REDReader.RED returns: each series'
// points by time, the series by Service then Operation.
func SortRED(series []REDSeries) {
	for i := range series {
		slices.SortFunc(series[i].Points, func(a, b REDPoint) int { return cmp.Compare(a.Time, b.Time) })
	}
	slices.SortFunc(series, func(a, b REDSeries) int {
		if c := cmp.Compare(a.Service, b.Service); c != 0 {
			return c
		}
		return cmp.Compare(a.Operation, b.Operation)
	})
}

// AttributeQuery selects attribute keys or values to list.
type AttributeQuery struct {
	// Resource lists resource attributes instead of span attributes.
	Resource bool
	// Service, when set, lists only what spans of this service carry.
	Service string
	// Key is the attribute whose values AttributeValues lists; unused by
	// AttributeKeys.
	Key string
	// Prefix, when set, keeps only keys (or values) that start with it.
	Prefix string
	// Start and End bound the spans' start times, inclusive; a zero
	// Start or End means the backend's recent window on that side (at
	// least the last hour up to now). A backend that keeps listings by
	// period may widen the window to whole periods of at most a day. An
	// End before Start (both set) is an error wrapping ErrInvalidQuery.
	Start time.Time
	End   time.Time
	// Limit caps the answer, which keeps the first Limit in sorted order;
	// 0 means DefaultAttributeLimit, or ReaderLimits.MaxAttributeValues
	// when that is less. A negative limit or one above
	// ReaderLimits.MaxAttributeValues is an error wrapping
	// ErrInvalidQuery.
	Limit int
}

// DefaultAttributeLimit is the number of keys or values listed when
// AttributeQuery.Limit is 0.
const DefaultAttributeLimit = 100

// AttributeReader lists the attribute keys and values seen, for
// autocompletion. Span attributes are the spans' own (not their events' or
// links'), and never include the resource's. Sorted means in byte order
// (Go's string order). As with Reader.Operations, a span written again may
// leave what only its old version carried listed.
type AttributeReader interface {
	// AttributeKeys returns distinct keys, sorted, at most q.Limit.
	AttributeKeys(ctx context.Context, q AttributeQuery) ([]string, error)
	// AttributeValues returns distinct values (canonical string form, see
	// Attribute) of q.Key, sorted, at most q.Limit. An empty q.Key is an
	// error wrapping ErrInvalidQuery.
	AttributeValues(ctx context.Context, q AttributeQuery) ([]string, error)
}

// ReadStore is everything the query API reads.
type ReadStore interface {
	Reader
	SearchReader
	TraceStreamer
	DependencyReader
	REDReader
	AttributeReader
}
