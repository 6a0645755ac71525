package storage

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tracerdev/tracer/vclock"
)

// TraceID is a 16-byte W3C trace id.
type TraceID [16]byte

// SpanID is an 8-byte W3C span id.
type SpanID [8]byte

// IsZero reports whether id is all zeros, which W3C says is invalid.
func (id TraceID) IsZero() bool { return id == TraceID{} }

// String returns the 32-character lowercase hex form.
func (id TraceID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is all zeros: for a parent id, "no parent".
func (id SpanID) IsZero() bool { return id == SpanID{} }

// String returns the 16-character lowercase hex form.
func (id SpanID) String() string { return hex.EncodeToString(id[:]) }

// ParseTraceID parses the 32-character hex form. Shorter hex strings (such as
// Jaeger's 64-bit ids) are left-padded with zeros.
func ParseTraceID(s string) (TraceID, error) {
	var id TraceID
	if len(s) == 0 || len(s) > 32 {
		return id, fmt.Errorf("trace id %q: want 1 to 32 hex digits", s)
	}
	if len(s)%2 == 1 {
		s = "0" + s
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return id, fmt.Errorf("trace id %q: %w", s, err)
	}
	copy(id[16-len(b):], b)
	if id.IsZero() {
		return id, errors.New("trace id is all zeros")
	}
	return id, nil
}

// ParseSpanID parses the 16-character hex form.
func ParseSpanID(s string) (SpanID, error) {
	var id SpanID
	if len(s) != 16 {
		return id, fmt.Errorf("span id %q: want 16 hex digits", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("span id %q: %w", s, err)
	}
	return id, nil
}

// SpanKind is the OTLP span kind; the numbers are OTLP's.
type SpanKind int8

// Span kinds, numbered as in OTLP.
const (
	KindUnspecified SpanKind = 0
	KindInternal    SpanKind = 1
	KindServer      SpanKind = 2
	KindClient      SpanKind = 3
	KindProducer    SpanKind = 4
	KindConsumer    SpanKind = 5
)

var kindNames = [...]string{"unspecified", "internal", "server", "client", "producer", "consumer"}

// String returns the lowercase name Jaeger uses ("server", "client", ...).
func (k SpanKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseSpanKind parses a name as returned by String; "" is KindUnspecified.
func ParseSpanKind(s string) (SpanKind, error) {
	if s == "" {
		return KindUnspecified, nil
	}
	for i, n := range kindNames {
		if n == s {
			return SpanKind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown span kind %q", s)
}

// StatusCode is the OTLP status code; the numbers are OTLP's.
type StatusCode int8

// Status codes, numbered as in OTLP.
const (
	StatusUnset StatusCode = 0
	StatusOK    StatusCode = 1
	StatusError StatusCode = 2
)

// ValueType says how an Attribute's Value string is to be read.
type ValueType uint8

// Attribute value types. Arrays and maps (OTLP kvlist) are stored as JSON.
const (
	TypeString ValueType = iota
	TypeBool
	TypeInt
	TypeDouble
	TypeBytes // Value holds the raw bytes
	TypeArray // Value holds a JSON array
	TypeMap   // Value holds a JSON object
)

// Attribute is one key/value pair. Every value is kept in a canonical string
// form (decimal for ints, strconv 'g' for doubles, "true"/"false" for bools),
// so backends store one column and searches compare strings.
type Attribute struct {
	Key   string
	Type  ValueType
	Value string
}

// Event is a span event (a timestamped annotation, Jaeger's log).
type Event struct {
	Time       int64 // unix nanoseconds
	Name       string
	Attributes []Attribute
}

// Link is a link to another span.
type Link struct {
	TraceID    TraceID
	SpanID     SpanID
	TraceState string
	Attributes []Attribute
}

// Span is one stored span. Times are unix nanoseconds.
type Span struct {
	TraceID       TraceID
	SpanID        SpanID
	ParentSpanID  SpanID // zero for a root span
	TraceState    string
	Flags         uint32
	Name          string
	Kind          SpanKind
	StartTime     int64
	EndTime       int64
	StatusCode    StatusCode
	StatusMessage string

	// Service is the resource's service.name ("unknown_service" when absent).
	Service string
	// Resource holds the resource attributes, service.name included.
	Resource     []Attribute
	ScopeName    string
	ScopeVersion string

	Attributes []Attribute
	Events     []Event
	Links      []Link

	DroppedAttributes uint32
	DroppedEvents     uint32
	DroppedLinks      uint32
}

// Duration is EndTime - StartTime.
func (s *Span) Duration() time.Duration { return time.Duration(s.EndTime - s.StartTime) }

// Attribute returns the span attribute with key, or false.
func (s *Span) Attribute(key string) (Attribute, bool) {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a, true
		}
	}
	return Attribute{}, false
}

// ResourceAttribute returns the resource attribute with key, or false.
func (s *Span) ResourceAttribute(key string) (Attribute, bool) {
	for _, a := range s.Resource {
		if a.Key == key {
			return a, true
		}
	}
	return Attribute{}, false
}

// Clock returns the vector clock the span recorded at its start (see
// SpanClock), and whether it carries a well-formed one.
func (s *Span) Clock() (vclock.Clock, bool) {
	c, err := s.SpanClock()
	return c.Start, err == nil
}

// EndClock returns the vector clock at the span's end: the start clock
// updated with what the span recorded at its end, if anything changed.
func (s *Span) EndClock() (vclock.Clock, bool) {
	c, err := s.SpanClock()
	return c.End, err == nil
}

// SpanClock rebuilds the span's clocks from its attributes with
// vclock.FromAttributes: vclock.ErrNoClock when it has none.
func (s *Span) SpanClock() (vclock.SpanClock, error) {
	return vclock.FromAttributes(func(key string) (string, bool) {
		a, ok := s.Attribute(key)
		return a.Value, ok
	})
}

// Copy returns a deep copy of s.
func (s *Span) Copy() Span {
	c := *s
	c.Resource = copyAttrs(s.Resource)
	c.Attributes = copyAttrs(s.Attributes)
	if s.Events != nil {
		c.Events = make([]Event, len(s.Events))
		for i, e := range s.Events {
			e.Attributes = copyAttrs(e.Attributes)
			c.Events[i] = e
		}
	}
	if s.Links != nil {
		c.Links = make([]Link, len(s.Links))
		for i, l := range s.Links {
			l.Attributes = copyAttrs(l.Attributes)
			c.Links[i] = l
		}
	}
	return c
}

func copyAttrs(a []Attribute) []Attribute {
	if a == nil {
		return nil
	}
	return append([]Attribute(nil), a...)
}
