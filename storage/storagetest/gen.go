package storagetest

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

// Generator makes realistic spans for tests and benchmarks. It is
// deterministic for a seed and not safe for concurrent use.
type Generator struct {
	r        *rand.Rand
	services []string
	ops      []string
}

// NewGenerator returns a Generator seeded with seed, drawing from a small
// set of services (8) and operations (16 per service).
func NewGenerator(seed uint64) *Generator {
	g := &Generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for i := range 8 {
		g.services = append(g.services, "service-"+strconv.Itoa(i))
	}
	for i := range 16 {
		g.ops = append(g.ops, "/api/op-"+strconv.Itoa(i))
	}
	return g
}

// Services returns the service names the generator draws from.
func (g *Generator) Services() []string { return slices.Clone(g.services) }

// Operations returns the operation names the generator draws from.
func (g *Generator) Operations() []string { return slices.Clone(g.ops) }

// TraceID returns a random non-zero trace id.
func (g *Generator) TraceID() storage.TraceID {
	var id storage.TraceID
	for id.IsZero() {
		binary.BigEndian.PutUint64(id[:8], g.r.Uint64())
		binary.BigEndian.PutUint64(id[8:], g.r.Uint64())
	}
	return id
}

// SpanID returns a random non-zero span id.
func (g *Generator) SpanID() storage.SpanID {
	var id storage.SpanID
	for id.IsZero() {
		binary.BigEndian.PutUint64(id[:], g.r.Uint64())
	}
	return id
}

// Trace returns a trace of n spans (at least 1) starting at start: a root
// span and a tree below it, spread over the generator's services, with
// typical attributes, resource attributes, vector clock attributes and
// occasionally events, links and error statuses.
func (g *Generator) Trace(start time.Time, n int) []storage.Span {
	n = max(n, 1)
	tid := g.TraceID()
	spans := make([]storage.Span, 0, n)
	t0 := start.UnixNano()
	for i := range n {
		svc := g.services[g.r.IntN(len(g.services))]
		op := g.ops[g.r.IntN(len(g.ops))]
		s := storage.Span{
			TraceID:      tid,
			SpanID:       g.SpanID(),
			Flags:        1,
			Name:         op,
			Kind:         storage.KindServer,
			StartTime:    t0 + int64(i)*int64(time.Millisecond) + g.r.Int64N(int64(time.Millisecond)),
			StatusCode:   storage.StatusUnset,
			Service:      svc,
			ScopeName:    "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
			ScopeVersion: "0.72.0",
			Resource: []storage.Attribute{
				{Key: "service.name", Type: storage.TypeString, Value: svc},
				{Key: "host.name", Type: storage.TypeString, Value: "host-" + strconv.Itoa(g.r.IntN(4))},
				{Key: "telemetry.sdk.language", Type: storage.TypeString, Value: "go"},
			},
			Attributes: []storage.Attribute{
				{Key: "http.method", Type: storage.TypeString, Value: [...]string{"GET", "POST", "PUT"}[g.r.IntN(3)]},
				{Key: "http.status_code", Type: storage.TypeInt, Value: strconv.Itoa([...]int{200, 200, 200, 404, 500}[g.r.IntN(5)])},
				{Key: "user.id", Type: storage.TypeString, Value: strconv.Itoa(g.r.IntN(1000))},
				{Key: vclock.AttrNode, Type: storage.TypeString, Value: svc + "-1"},
				{Key: vclock.AttrTick, Type: storage.TypeInt, Value: strconv.Itoa(i + 1)},
			},
		}
		if i > 0 {
			s.ParentSpanID = spans[g.r.IntN(i)].SpanID
			if g.r.IntN(2) == 0 {
				s.Kind = storage.KindClient
			}
		}
		s.EndTime = s.StartTime + int64(time.Millisecond) + g.r.Int64N(int64(200*time.Millisecond))
		if g.r.IntN(10) == 0 {
			s.StatusCode = storage.StatusError
			s.StatusMessage = "deadline exceeded"
		}
		if g.r.IntN(4) == 0 {
			s.Events = []storage.Event{{
				Time:       s.StartTime + 1000,
				Name:       "retry",
				Attributes: []storage.Attribute{{Key: "attempt", Type: storage.TypeInt, Value: "2"}},
			}}
		}
		spans = append(spans, s)
	}
	return spans
}

// FullSpan returns a span with every field set, attributes of every
// ValueType, events and links with attributes, dropped counts, and the
// vector clock attributes (start and end clocks). Its Clock is
// "a-1:4,b-2:2" and its EndClock "a-1:6,b-2:3,c-3:1".
func FullSpan(tid storage.TraceID, sid, parent storage.SpanID, start time.Time) storage.Span {
	st := start.UnixNano()
	return storage.Span{
		TraceID:       tid,
		SpanID:        sid,
		ParentSpanID:  parent,
		TraceState:    "vendor=abc,other=x:1",
		Flags:         0x101,
		Name:          "GET /orders/{id}",
		Kind:          storage.KindServer,
		StartTime:     st,
		EndTime:       st + 1234567,
		StatusCode:    storage.StatusError,
		StatusMessage: "boom: upstream failed",
		Service:       "orders",
		Resource: []storage.Attribute{
			{Key: "service.name", Type: storage.TypeString, Value: "orders"},
			{Key: "service.version", Type: storage.TypeString, Value: "1.2.3"},
			{Key: "host.cpus", Type: storage.TypeInt, Value: "8"},
		},
		ScopeName:    "tracer/interceptors",
		ScopeVersion: "v0.1.0",
		Attributes: []storage.Attribute{
			{Key: "str", Type: storage.TypeString, Value: "hello"},
			{Key: "empty", Type: storage.TypeString, Value: ""},
			{Key: "bool", Type: storage.TypeBool, Value: "true"},
			{Key: "int", Type: storage.TypeInt, Value: "-9223372036854775808"},
			{Key: "double", Type: storage.TypeDouble, Value: "3.141592653589793"},
			{Key: "bytes", Type: storage.TypeBytes, Value: "\x00\x01\xfe\xff"},
			{Key: "array", Type: storage.TypeArray, Value: `["a",1,true]`},
			{Key: "map", Type: storage.TypeMap, Value: `{"k":"v","n":2}`},
			{Key: vclock.AttrNode, Type: storage.TypeString, Value: "a-1"},
			{Key: vclock.AttrTick, Type: storage.TypeInt, Value: "4"},
			{Key: vclock.AttrDeps, Type: storage.TypeString, Value: "b-2:2"},
			{Key: vclock.AttrEndTick, Type: storage.TypeInt, Value: "6"},
			{Key: vclock.AttrEndDeps, Type: storage.TypeString, Value: "b-2:3,c-3:1"},
		},
		Events: []storage.Event{
			{Time: st + 10, Name: "exception", Attributes: []storage.Attribute{
				{Key: "exception.type", Type: storage.TypeString, Value: "io.EOF"},
				{Key: "exception.escaped", Type: storage.TypeBool, Value: "false"},
			}},
			{Time: st + 20, Name: "no attrs"},
		},
		Links: []storage.Link{
			{
				TraceID:    storage.TraceID{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
				SpanID:     storage.SpanID{0xbb, 1, 2, 3, 4, 5, 6, 7},
				TraceState: "k=v",
				Attributes: []storage.Attribute{{Key: "link.kind", Type: storage.TypeString, Value: "follows"}},
			},
			{
				TraceID: storage.TraceID{0xcc, 1},
				SpanID:  storage.SpanID{0xdd, 1},
			},
		},
		DroppedAttributes: 3,
		DroppedEvents:     4,
		DroppedLinks:      5,
	}
}

// SortSpans sorts spans by trace id, then span id.
func SortSpans(spans []storage.Span) {
	slices.SortFunc(spans, func(a, b storage.Span) int {
		if c := bytes.Compare(a.TraceID[:], b.TraceID[:]); c != 0 {
			return c
		}
		return bytes.Compare(a.SpanID[:], b.SpanID[:])
	})
}

// DiffSpans compares two sets of spans regardless of order, treating nil and
// empty slices alike, and returns a description of the differences, or ""
// when they are equal. Long values are shortened in the description.
func DiffSpans(got, want []storage.Span) string {
	got, want = slices.Clone(got), slices.Clone(want)
	SortSpans(got)
	SortSpans(want)
	var out []string
	if len(got) != len(want) {
		out = append(out, fmt.Sprintf("got %d spans, want %d", len(got), len(want)))
	}
	for i := range min(len(got), len(want)) {
		for _, d := range diffSpan(&got[i], &want[i]) {
			out = append(out, fmt.Sprintf("span %s/%s: %s", want[i].TraceID, want[i].SpanID, d))
		}
		if len(out) > 20 {
			break
		}
	}
	var b bytes.Buffer
	for _, o := range out {
		b.WriteString(o)
		b.WriteByte('\n')
	}
	return b.String()
}

func diffSpan(g, w *storage.Span) []string {
	var d []string
	field := func(name string, gv, wv any) {
		if gv != wv {
			d = append(d, fmt.Sprintf("%s: got %s, want %s", name, short(gv), short(wv)))
		}
	}
	field("TraceID", g.TraceID, w.TraceID)
	field("SpanID", g.SpanID, w.SpanID)
	field("ParentSpanID", g.ParentSpanID, w.ParentSpanID)
	field("TraceState", g.TraceState, w.TraceState)
	field("Flags", g.Flags, w.Flags)
	field("Name", g.Name, w.Name)
	field("Kind", g.Kind, w.Kind)
	field("StartTime", g.StartTime, w.StartTime)
	field("EndTime", g.EndTime, w.EndTime)
	field("StatusCode", g.StatusCode, w.StatusCode)
	field("StatusMessage", g.StatusMessage, w.StatusMessage)
	field("Service", g.Service, w.Service)
	field("ScopeName", g.ScopeName, w.ScopeName)
	field("ScopeVersion", g.ScopeVersion, w.ScopeVersion)
	field("DroppedAttributes", g.DroppedAttributes, w.DroppedAttributes)
	field("DroppedEvents", g.DroppedEvents, w.DroppedEvents)
	field("DroppedLinks", g.DroppedLinks, w.DroppedLinks)
	d = append(d, diffAttrs("Resource", g.Resource, w.Resource)...)
	d = append(d, diffAttrs("Attributes", g.Attributes, w.Attributes)...)
	if len(g.Events) != len(w.Events) {
		d = append(d, fmt.Sprintf("Events: got %d, want %d", len(g.Events), len(w.Events)))
	} else {
		for i := range g.Events {
			ge, we := g.Events[i], w.Events[i]
			field(fmt.Sprintf("Events[%d].Time", i), ge.Time, we.Time)
			field(fmt.Sprintf("Events[%d].Name", i), ge.Name, we.Name)
			d = append(d, diffAttrs(fmt.Sprintf("Events[%d].Attributes", i), ge.Attributes, we.Attributes)...)
		}
	}
	if len(g.Links) != len(w.Links) {
		d = append(d, fmt.Sprintf("Links: got %d, want %d", len(g.Links), len(w.Links)))
	} else {
		for i := range g.Links {
			gl, wl := g.Links[i], w.Links[i]
			field(fmt.Sprintf("Links[%d].TraceID", i), gl.TraceID, wl.TraceID)
			field(fmt.Sprintf("Links[%d].SpanID", i), gl.SpanID, wl.SpanID)
			field(fmt.Sprintf("Links[%d].TraceState", i), gl.TraceState, wl.TraceState)
			d = append(d, diffAttrs(fmt.Sprintf("Links[%d].Attributes", i), gl.Attributes, wl.Attributes)...)
		}
	}
	return d
}

func diffAttrs(name string, g, w []storage.Attribute) []string {
	if len(g) != len(w) {
		return []string{fmt.Sprintf("%s: got %d, want %d: got %s", name, len(g), len(w), short(g))}
	}
	var d []string
	for i := range g {
		if g[i] != w[i] {
			d = append(d, fmt.Sprintf("%s[%d]: got %s, want %s", name, i, short(g[i]), short(w[i])))
		}
	}
	return d
}

// short formats v with %+q-like quoting and cuts it to a readable length.
func short(v any) string {
	var s string
	switch v := v.(type) {
	case string:
		s = strconv.Quote(v)
	case fmt.Stringer:
		s = v.String()
	default:
		s = fmt.Sprintf("%+q", v)
	}
	if len(s) > 200 {
		s = s[:200] + "…(" + strconv.Itoa(len(s)) + " chars)"
	}
	return s
}

// TraceIDs returns the ids of traces, in order.
func TraceIDs(traces []storage.Trace) []storage.TraceID {
	ids := make([]storage.TraceID, len(traces))
	for i, t := range traces {
		ids[i] = t.ID
	}
	return ids
}

// SortedServices returns the distinct services of spans, sorted.
func SortedServices(spans []storage.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Service)
	}
	slices.SortFunc(out, cmp.Compare)
	return slices.Compact(out)
}
