package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrNotFound is returned by Reader.Trace when no span of the trace is stored.
var ErrNotFound = errors.New("trace not found")

// Writer stores spans.
//
// WriteSpans is synchronous and idempotent: when it returns nil the spans are
// stored and visible to readers, and writing a span again (same trace id and
// span id) never makes it show twice; the last version written is the one
// readers see and searches match. The only permanent error is a
// *RejectedError (see Reject): it names the spans the backend refused, and
// every other span of the call is stored. Any other error means nothing is
// known to be stored and the caller retries the whole call. The writer does
// not keep the spans slice, nor anything the spans refer to, after it
// returns.
//
// The spans are read-only to the writer, and their slices may be shared:
// a decoder gives all the spans of one resource the same Resource slice (same
// backing array), and a backend may use that to store the resource once.
type Writer interface {
	WriteSpans(ctx context.Context, spans []Span) error
}

// Trace is the spans of one trace, in no particular order.
type Trace struct {
	ID    TraceID
	Spans []Span
	// Truncated says that more spans of the trace are stored than Spans
	// holds: the reader returned ReaderLimits.MaxTraceSpans of them.
	Truncated bool
}

// ReaderLimits caps what a Reader returns, so that no request can make a
// reader take unbounded memory. Backends take them in their configuration;
// a zero field means its default.
type ReaderLimits struct {
	// MaxTraceSpans is the most spans returned of one trace, by Trace and
	// by FindTraces; a longer trace comes back with Truncated set.
	MaxTraceSpans int `yaml:"max_trace_spans"`
	// MaxTraces is the largest Query.Limit accepted; a larger one is an
	// error wrapping ErrInvalidQuery.
	MaxTraces int `yaml:"max_traces"`
	// MaxDependencySpans bounds the spans one Dependencies call reads; a
	// window holding more is an error wrapping ErrInvalidQuery that says to
	// ask for a shorter lookback (a backend that aggregates without holding
	// spans may ignore it).
	MaxDependencySpans int `yaml:"max_dependency_spans"`
	// MaxREDPoints is the most points (over all series) one RED call
	// returns; a query that would return more is an error wrapping
	// ErrInvalidQuery that says to ask for a longer step or a shorter range.
	MaxREDPoints int `yaml:"max_red_points"`
	// MaxAttributeValues is the largest AttributeQuery.Limit accepted.
	MaxAttributeValues int `yaml:"max_attribute_values"`
}

// Default reader limits.
const (
	DefaultMaxTraceSpans      = 100_000
	DefaultMaxTraces          = 1_500 // the Jaeger UI's largest search limit
	DefaultMaxDependencySpans = 10_000_000
	DefaultMaxREDPoints       = 50_000
	DefaultMaxAttributeValues = 1_000
)

// WithDefaults returns l with its zero fields set to the defaults.
func (l ReaderLimits) WithDefaults() ReaderLimits {
	if l.MaxTraceSpans <= 0 {
		l.MaxTraceSpans = DefaultMaxTraceSpans
	}
	if l.MaxTraces <= 0 {
		l.MaxTraces = DefaultMaxTraces
	}
	if l.MaxDependencySpans <= 0 {
		l.MaxDependencySpans = DefaultMaxDependencySpans
	}
	if l.MaxREDPoints <= 0 {
		l.MaxREDPoints = DefaultMaxREDPoints
	}
	if l.MaxAttributeValues <= 0 {
		l.MaxAttributeValues = DefaultMaxAttributeValues
	}
	return l
}

// Query selects traces. A trace matches when one of its spans satisfies every
// set field at once. Zero fields are not applied.
type Query struct {
	Service   string
	Operation string
	Kind      SpanKind // KindUnspecified: any kind
	// Attributes must all match on the span: each key's value equals the
	// span attribute's or, when the span has no such key, the resource
	// attribute's (in canonical string form, see Attribute).
	Attributes map[string]string
	// ResourceAttributes must all match the span's resource attributes
	// (only those).
	ResourceAttributes map[string]string
	// Status, when set, must match the span's status code.
	Status      StatusFilter
	DurationMin time.Duration
	DurationMax time.Duration
	// StartMin and StartMax bound the span's start time, inclusive.
	StartMin time.Time
	StartMax time.Time
	// Limit caps the number of traces; 0 means DefaultLimit. A negative
	// limit, or one above the reader's ReaderLimits.MaxTraces, is an error
	// wrapping ErrInvalidQuery.
	Limit int
}

// DefaultLimit is the number of traces a Query returns when Limit is 0.
const DefaultLimit = 20

// Operation is a span name with the kind it was seen with.
type Operation struct {
	Name string
	Kind SpanKind
}

// Reader finds stored spans. Results are copies the caller owns, never
// shared with the store or with another result; within one result the spans
// of one resource may share one Resource slice, so a caller that modifies a
// span's Resource copies it first.
//
// Readers honour their ReaderLimits: Trace and FindTraces return at most
// MaxTraceSpans spans of a trace (with Trace.Truncated set when more are
// stored), a Query.Limit above MaxTraces or below zero is an error wrapping
// ErrInvalidQuery, and Dependencies bounds its working set by
// MaxDependencySpans.
type Reader interface {
	// Trace returns every stored span of the trace, or ErrNotFound.
	Trace(ctx context.Context, id TraceID) (Trace, error)
	// FindTraces returns the whole traces that match q, the most recently
	// started matching span first, at most q.Limit of them.
	FindTraces(ctx context.Context, q Query) ([]Trace, error)
	// Services returns the service names seen, sorted.
	Services(ctx context.Context) ([]string, error)
	// Operations returns the operations seen for service, sorted by name
	// then kind; kind KindUnspecified means every kind. A span written
	// again under a new name may leave its old name listed (it was seen;
	// ClickHouse keeps it, the embedded stores drop it), but searches
	// match only the stored version.
	Operations(ctx context.Context, service string, kind SpanKind) ([]Operation, error)
}

// Dependency is an edge of the service graph: spans of Child whose parent
// span belongs to Parent.
type Dependency struct {
	Parent     string
	Child      string
	CallCount  uint64
	ErrorCount uint64 // child spans with StatusError
}

// DependencyReader computes the service graph.
type DependencyReader interface {
	// Dependencies returns the edges between distinct services over spans
	// that started in [end-lookback, end], sorted by Parent then Child.
	// Each such child span whose parent span is stored counts once; the
	// parent may have started before the window (a backend may bound how
	// long before, by no less than a day) but not after end. A negative
	// lookback is an error wrapping ErrInvalidQuery. DependencyCounter
	// owns the counting.
	Dependencies(ctx context.Context, end time.Time, lookback time.Duration) ([]Dependency, error)
}

// Purger applies retention.
type Purger interface {
	// Purge deletes spans that started before t. A backend may keep data
	// up to its deletion granularity (a day partition, say) past t; it never
	// deletes spans that started at or after t.
	Purge(ctx context.Context, before time.Time) error
}

// Store is a whole backend.
type Store interface {
	Writer
	ReadStore
	Purger
	Close() error
}

// RejectedSpan is one span of a WriteSpans call that the backend refused.
type RejectedSpan struct {
	Index int   // into the spans passed to WriteSpans
	Err   error // why; storing this span again will fail the same way
}

// RejectedError is the only permanent write error: it names the spans of a
// WriteSpans call that the backend could not store, and why. Every span of
// the call that it does not name is stored. Any other error from WriteSpans
// is about the deployment (connection, server, schema, disk, deadline) and
// the caller retries the whole call.
type RejectedError struct {
	Spans []RejectedSpan
}

func (e *RejectedError) Error() string {
	switch len(e.Spans) {
	case 0:
		return "no span rejected"
	case 1:
		return fmt.Sprintf("span %d rejected: %v", e.Spans[0].Index, e.Spans[0].Err)
	}
	return fmt.Sprintf("%d spans rejected, first span %d: %v", len(e.Spans), e.Spans[0].Index, e.Spans[0].Err)
}

// Reject returns a *RejectedError naming spans, or nil when there are none.
func Reject(spans ...RejectedSpan) error {
	if len(spans) == 0 {
		return nil
	}
	return &RejectedError{Spans: spans}
}

// Rejected returns the spans that err names as refused (err wraps a
// *RejectedError), or nil.
func Rejected(err error) []RejectedSpan {
	var r *RejectedError
	if errors.As(err, &r) {
		return r.Spans
	}
	return nil
}

// ErrInvalidQuery is wrapped by reader errors about the caller's arguments
// (a limit over the maximum, a negative lookback): asking again the same way
// fails the same way.
var ErrInvalidQuery = errors.New("invalid query")

// SortDependencies sorts deps by Parent then Child, the order
// DependencyReader.Dependencies returns.
func SortDependencies(deps []Dependency) {
	slices.SortFunc(deps, func(a, b Dependency) int {
		if c := cmp.Compare(a.Parent, b.Parent); c != 0 {
			return c
		}
		return cmp.Compare(a.Child, b.Child)
	})
}

// SortOperations sorts ops by Name then Kind, the order Reader.Operations
// returns.
func SortOperations(ops []Operation) {
	slices.SortFunc(ops, func(a, b Operation) int {
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.Kind, b.Kind)
	})
}

// Matches reports whether span s satisfies every set field of q, the test a
// backend applies to each span (Limit aside). Times are compared in unix
// nanoseconds; the bounds are inclusive.
func (q *Query) Matches(s *Span) bool {
	switch {
	case q.Service != "" && s.Service != q.Service,
		q.Operation != "" && s.Name != q.Operation,
		q.Kind != KindUnspecified && s.Kind != q.Kind,
		!q.Status.Matches(s.StatusCode),
		q.DurationMin > 0 && s.Duration() < q.DurationMin,
		q.DurationMax > 0 && s.Duration() > q.DurationMax,
		!q.StartMin.IsZero() && s.StartTime < q.StartMin.UnixNano(),
		!q.StartMax.IsZero() && s.StartTime > q.StartMax.UnixNano():
		return false
	}
	for k, v := range q.Attributes {
		a, ok := s.Attribute(k)
		if !ok {
			a, ok = s.ResourceAttribute(k)
		}
		if !ok || a.Value != v {
			return false
		}
	}
	for k, v := range q.ResourceAttributes {
		if a, ok := s.ResourceAttribute(k); !ok || a.Value != v {
			return false
		}
	}
	return true
}
