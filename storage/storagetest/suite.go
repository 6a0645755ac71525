package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

// NewStore returns a fresh, empty store for one subtest, whose readers apply
// limits (zero fields mean the defaults, see storage.ReaderLimits), and
// arranges for it to be closed (t.Cleanup).
type NewStore func(t *testing.T, limits storage.ReaderLimits) storage.Store

// Run runs the conformance suite, with a fresh store from newStore for each
// subtest. The options say what the backend does where the contract lets
// backends differ.
func Run(t *testing.T, newStore NewStore, opts ...Option) {
	t.Helper()
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	tests := []struct {
		name   string
		fn     func(*testing.T, storage.Store)
		limits storage.ReaderLimits
	}{
		{name: "RoundTrip", fn: testRoundTrip},
		{name: "NotFound", fn: testNotFound},
		{name: "Idempotent", fn: testIdempotent},
		{name: "Rewritten", fn: testRewritten},
		{name: "Rejected", fn: testRejected},
		{name: "SharedResource", fn: testSharedResource},
		{name: "FindTraces", fn: testFindTraces},
		{name: "DefaultLimit", fn: testDefaultLimit},
		{name: "Limits", fn: testLimits, limits: suiteLimits},
		{name: "Services", fn: testServices},
		{name: "Operations", fn: testOperations},
		{name: "Dependencies", fn: testDependencies},
		{name: "Purge", fn: testPurge},
		{name: "Copies", fn: testCopies},
		{name: "Hostile", fn: testHostile},
		{name: "Concurrent", fn: testConcurrent},
		{name: "Canceled", fn: testCanceled},
		{name: "Summaries", fn: testSummaries},
		{name: "SearchLimits", fn: testSearchLimits, limits: suiteLimits},
		{name: "StreamTrace", fn: testStreamTrace},
		{name: "StreamTraceLimits", fn: testStreamTraceLimits, limits: streamLimits},
		{name: "RED", fn: testRED},
		{name: "REDLimits", fn: testREDLimits, limits: redLimits},
		{name: "REDRewritten", fn: func(t *testing.T, s storage.Store) { testREDRewritten(t, s, c) }},
		{name: "Attributes", fn: testAttributes},
		{name: "AttributeLimits", fn: testAttributeLimits, limits: attrLimits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t, tt.limits))
		})
	}
}

// base is a recent time: spans of the suite start minutes before now.
func base() time.Time { return time.Now().Add(-30 * time.Minute) }

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func write(t *testing.T, s storage.Store, spans []storage.Span) {
	t.Helper()
	if err := s.WriteSpans(ctxFor(t), spans); err != nil {
		t.Fatalf("WriteSpans(%d spans): %v", len(spans), err)
	}
}

func mustTrace(t *testing.T, s storage.Store, id storage.TraceID) storage.Trace {
	t.Helper()
	tr, err := s.Trace(ctxFor(t), id)
	if err != nil {
		t.Fatalf("Trace(%s): %v", id, err)
	}
	if tr.ID != id {
		t.Fatalf("Trace(%s).ID = %s", id, tr.ID)
	}
	return tr
}

func checkTrace(t *testing.T, s storage.Store, want []storage.Span) {
	t.Helper()
	tr := mustTrace(t, s, want[0].TraceID)
	if d := DiffSpans(tr.Spans, want); d != "" {
		t.Errorf("Trace(%s) differs:\n%s", want[0].TraceID, d)
	}
}

func tid(b ...byte) storage.TraceID {
	var id storage.TraceID
	copy(id[16-len(b):], b)
	id[0] = 0x7e
	return id
}

func sid(b ...byte) storage.SpanID {
	var id storage.SpanID
	copy(id[8-len(b):], b)
	id[0] = 0x5a
	return id
}

func attr(k, v string) storage.Attribute {
	return storage.Attribute{Key: k, Type: storage.TypeString, Value: v}
}

// mk builds a plain span for query tests.
func mk(t storage.TraceID, s, parent storage.SpanID, svc, name string, kind storage.SpanKind, start time.Time, dur time.Duration, attrs ...storage.Attribute) storage.Span {
	return storage.Span{
		TraceID:      t,
		SpanID:       s,
		ParentSpanID: parent,
		Name:         name,
		Kind:         kind,
		StartTime:    start.UnixNano(),
		EndTime:      start.Add(dur).UnixNano(),
		Service:      svc,
		Resource:     []storage.Attribute{attr("service.name", svc)},
		Attributes:   attrs,
	}
}

func testRoundTrip(t *testing.T, s storage.Store) {
	b := base()
	id := tid(1)
	root := FullSpan(id, sid(1), storage.SpanID{}, b)
	child := FullSpan(id, sid(2), sid(1), b.Add(time.Millisecond))
	child.Kind = storage.KindClient
	child.StatusCode = storage.StatusOK
	child.StatusMessage = ""
	child.Events, child.Links = nil, nil
	child.DroppedAttributes, child.DroppedEvents, child.DroppedLinks = 0, 0, 0
	// A third span of the same trace in another service.
	other := mk(id, sid(3), sid(2), "payments", "charge", storage.KindServer, b.Add(2*time.Millisecond), 5*time.Millisecond)
	want := []storage.Span{root, child, other}
	write(t, s, want)

	tr := mustTrace(t, s, id)
	if d := DiffSpans(tr.Spans, want); d != "" {
		t.Fatalf("Trace differs:\n%s", d)
	}
	var got storage.Span
	for _, sp := range tr.Spans {
		if sp.SpanID == sid(1) {
			got = sp
		}
	}
	c, ok := got.Clock()
	if !ok {
		t.Fatal("Clock() of a stored span: no clock")
	}
	if got, want := c.String(), "a-1:4,b-2:2"; got != want {
		t.Errorf("Clock() = %q, want %q", got, want)
	}
	ec, ok := got.EndClock()
	if !ok {
		t.Fatal("EndClock() of a stored span: no clock")
	}
	if got, want := ec.String(), "a-1:6,b-2:3,c-3:1"; got != want {
		t.Errorf("EndClock() = %q, want %q", got, want)
	}
	if got, want := vclock.Compare(c, ec), vclock.Before; got != want {
		t.Errorf("Compare(clock, end clock) = %v, want %v", got, want)
	}

	// FindTraces returns the same whole trace, found by any field,
	// the clock's attributes included.
	for _, q := range []storage.Query{
		{Service: "orders"},
		{Service: "payments", Operation: "charge"},
		{Attributes: map[string]string{vclock.AttrNode: "a-1"}},
		{Service: "orders", Attributes: map[string]string{vclock.AttrDeps: "b-2:2", vclock.AttrEndDeps: "b-2:3,c-3:1"}},
		{Attributes: map[string]string{"bytes": "\x00\x01\xfe\xff", "double": "3.141592653589793", "map": `{"k":"v","n":2}`}},
	} {
		found, err := s.FindTraces(ctxFor(t), q)
		if err != nil {
			t.Fatalf("FindTraces: %v", err)
		}
		if len(found) != 1 || found[0].ID != id {
			t.Fatalf("FindTraces(%+v) = %v, want [%s]", q, TraceIDs(found), id)
		}
		if d := DiffSpans(found[0].Spans, want); d != "" {
			t.Errorf("FindTraces trace differs:\n%s", d)
		}
	}
	found, err := s.FindTraces(ctxFor(t), storage.Query{Attributes: map[string]string{vclock.AttrNode: "a-2"}})
	if err != nil || len(found) != 0 {
		t.Errorf("FindTraces(other clock node) = %v, %v; want none", TraceIDs(found), err)
	}
}

func testNotFound(t *testing.T, s storage.Store) {
	_, err := s.Trace(ctxFor(t), tid(9, 9))
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Trace(unknown) on an empty store: err = %v, want ErrNotFound", err)
	}
	b := base()
	write(t, s, []storage.Span{mk(tid(1), sid(1), storage.SpanID{}, "a", "op", storage.KindServer, b, time.Millisecond)})
	_, err = s.Trace(ctxFor(t), tid(9, 9))
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Trace(unknown): err = %v, want ErrNotFound", err)
	}
	// A trace id that shares a prefix with a stored one is still unknown.
	near := tid(1)
	near[15] ^= 0xff
	if _, err := s.Trace(ctxFor(t), near); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Trace(near id): err = %v, want ErrNotFound", err)
	}
}

func testIdempotent(t *testing.T, s storage.Store) {
	b := base()
	id := tid(2)
	spans := []storage.Span{
		mk(id, sid(1), storage.SpanID{}, "front", "GET /", storage.KindServer, b, 10*time.Millisecond),
		mk(id, sid(2), sid(1), "back", "get", storage.KindServer, b.Add(time.Millisecond), 5*time.Millisecond),
		mk(id, sid(3), sid(2), "db", "query", storage.KindServer, b.Add(2*time.Millisecond), 2*time.Millisecond),
	}
	spans[2].StatusCode = storage.StatusError
	write(t, s, spans)
	write(t, s, spans)
	// Overlapping batches: spans 2-3 again, then 3 with a new span 4.
	write(t, s, spans[1:])
	extra := mk(id, sid(4), sid(1), "back", "put", storage.KindServer, b.Add(3*time.Millisecond), time.Millisecond)
	write(t, s, []storage.Span{spans[2], extra})
	// One batch holding the same span twice.
	write(t, s, []storage.Span{spans[0], spans[0]})

	want := append(slices.Clone(spans), extra)
	checkTrace(t, s, want)

	found, err := s.FindTraces(ctxFor(t), storage.Query{Service: "back"})
	if err != nil {
		t.Fatalf("FindTraces: %v", err)
	}
	if len(found) != 1 {
		t.Fatalf("FindTraces(back) = %d traces, want 1", len(found))
	}
	if d := DiffSpans(found[0].Spans, want); d != "" {
		t.Errorf("FindTraces trace differs:\n%s", d)
	}
	checkSearch(t, s, storage.Query{Service: "back"}, []storage.TraceID{id}, want, nil)
	batches, _ := stream(t, s, id)
	if d := DiffSpans(once(t, batches), want); d != "" {
		t.Errorf("StreamTrace differs:\n%s", d)
	}
	deps, err := s.Dependencies(ctxFor(t), time.Now(), time.Hour)
	if err != nil {
		t.Fatalf("Dependencies: %v", err)
	}
	wantDeps := []storage.Dependency{
		{Parent: "back", Child: "db", CallCount: 1, ErrorCount: 1},
		{Parent: "front", Child: "back", CallCount: 2},
	}
	if !slices.Equal(deps, wantDeps) {
		t.Errorf("Dependencies = %+v, want %+v", deps, wantDeps)
	}
	ops, err := s.Operations(ctxFor(t), "back", storage.KindUnspecified)
	if err != nil {
		t.Fatalf("Operations: %v", err)
	}
	wantOps := []storage.Operation{{Name: "get", Kind: storage.KindServer}, {Name: "put", Kind: storage.KindServer}}
	if !slices.Equal(ops, wantOps) {
		t.Errorf("Operations(back) = %+v, want %+v", ops, wantOps)
	}
}

// The FindTraces data set. Times are offsets from a base minutes ago.
type findData struct {
	b                    time.Time
	a, bb, c, d, e, g, h storage.TraceID
	spans                []storage.Span // all of them
}

func loadFindData(t *testing.T, s storage.Store) findData {
	f := findData{b: base(), a: tid(0xa), bb: tid(0xb), c: tid(0xc), d: tid(0xd), e: tid(0xe), g: tid(0x6), h: tid(0x8)}
	at := func(ms int) time.Time { return f.b.Add(time.Duration(ms) * time.Millisecond) }
	ms := time.Millisecond
	none := storage.SpanID{}
	res := func(sp storage.Span, kv ...storage.Attribute) storage.Span {
		sp.Resource = append(sp.Resource, kv...)
		return sp
	}
	var spans []storage.Span
	// Trace A: frontend -> backend -> database call.
	spans = append(spans,
		res(mk(f.a, sid(1), none, "frontend", "GET /api", storage.KindServer, at(1000), 300*ms), attr("host.name", "h1")),
		res(mk(f.a, sid(2), sid(1), "frontend", "call backend", storage.KindClient, at(1010), 200*ms,
			attr("peer.service", "backend")), attr("host.name", "h1")),
		res(mk(f.a, sid(3), sid(2), "backend", "/orders", storage.KindServer, at(1020), 150*ms,
			attr("http.method", "GET"), storage.Attribute{Key: "http.status_code", Type: storage.TypeInt, Value: "200"}), attr("host.name", "h2")),
		res(mk(f.a, sid(4), sid(3), "backend", "SELECT", storage.KindClient, at(1030), 50*ms,
			attr("db.system", "postgres"), attr("db.statement", "select 1")), attr("host.name", "h2")),
	)
	// Trace B: frontend -> backend, failing POST.
	bChild := mk(f.bb, sid(2), sid(1), "backend", "/orders", storage.KindServer, at(2010), 20*ms,
		attr("http.method", "POST"), storage.Attribute{Key: "http.status_code", Type: storage.TypeInt, Value: "500"})
	bChild.StatusCode = storage.StatusError
	spans = append(spans,
		res(mk(f.bb, sid(1), none, "frontend", "GET /api", storage.KindServer, at(2000), 50*ms), attr("host.name", "h3")),
		res(bChild, attr("host.name", "h3")),
	)
	// Trace C: attributes split over two spans.
	spans = append(spans,
		mk(f.c, sid(1), none, "backend", "/health", storage.KindServer, at(3000), 5*ms,
			attr("http.method", "GET"), attr("a", "1")),
		mk(f.c, sid(2), sid(1), "backend", "/health/db", storage.KindInternal, at(3001), 2*time.Second/1000*15,
			attr("b", "2")),
	)
	// Trace D: a long job; its consumer span has status OK.
	dConsume := mk(f.d, sid(2), sid(1), "worker", "consume", storage.KindConsumer, at(4100), 100*ms)
	dConsume.StatusCode = storage.StatusOK
	spans = append(spans,
		res(mk(f.d, sid(1), none, "worker", "job", storage.KindInternal, at(4000), 2*time.Second,
			storage.Attribute{Key: "retry", Type: storage.TypeBool, Value: "true"}), attr("host.name", "h1")),
		res(dConsume, attr("host.name", "h1")),
	)
	// Trace E: older.
	spans = append(spans,
		res(mk(f.e, sid(1), none, "frontend", "GET /api", storage.KindServer, at(-20*60*1000), 100*ms), attr("host.name", "h9")),
	)
	// Trace G: the span's own host.name hides the resource's.
	spans = append(spans,
		res(mk(f.g, sid(1), none, "override", "op", storage.KindServer, at(500), 1*ms, attr("host.name", "h5")), attr("host.name", "h1")),
	)
	// Trace H: a frontend span later than trace A's frontend spans but
	// earlier than A's backend spans.
	spans = append(spans,
		mk(f.h, sid(1), none, "frontend", "GET /h", storage.KindServer, at(1015), 8*ms),
	)
	// Write in two batches, out of order.
	write(t, s, spans[6:])
	write(t, s, spans[:6])
	f.spans = spans
	return f
}

func testFindTraces(t *testing.T, s storage.Store) {
	f := loadFindData(t, s)
	at := func(ms int) time.Time { return f.b.Add(time.Duration(ms) * time.Millisecond) }
	ms := time.Millisecond
	type ids = []storage.TraceID
	tests := []struct {
		name string
		q    storage.Query
		want ids
	}{
		{"service", storage.Query{Service: "frontend"}, ids{f.bb, f.h, f.a, f.e}},
		{"service backend", storage.Query{Service: "backend"}, ids{f.c, f.bb, f.a}},
		{"service operation", storage.Query{Service: "backend", Operation: "/orders"}, ids{f.bb, f.a}},
		{"operation alone", storage.Query{Operation: "GET /api"}, ids{f.bb, f.a, f.e}},
		{"operation kind server", storage.Query{Service: "backend", Operation: "/orders", Kind: storage.KindServer}, ids{f.bb, f.a}},
		{"operation kind client", storage.Query{Service: "backend", Operation: "/orders", Kind: storage.KindClient}, ids{}},
		{"kind", storage.Query{Service: "backend", Kind: storage.KindClient}, ids{f.a}},
		{"kind alone", storage.Query{Kind: storage.KindConsumer}, ids{f.d}},
		{"span attribute", storage.Query{Attributes: map[string]string{"http.method": "GET"}}, ids{f.c, f.a}},
		{"int attribute", storage.Query{Attributes: map[string]string{"http.status_code": "200"}}, ids{f.a}},
		{"bool attribute", storage.Query{Attributes: map[string]string{"retry": "true"}}, ids{f.d}},
		{"resource attribute", storage.Query{Attributes: map[string]string{"host.name": "h1"}}, ids{f.d, f.a}},
		{"span attribute hides resource", storage.Query{Service: "override", Attributes: map[string]string{"host.name": "h1"}}, ids{}},
		{"span attribute over resource", storage.Query{Attributes: map[string]string{"host.name": "h5"}}, ids{f.g}},
		{"attributes on one span", storage.Query{Attributes: map[string]string{"a": "1", "b": "2"}}, ids{}},
		{"attributes together", storage.Query{Attributes: map[string]string{"a": "1", "http.method": "GET"}}, ids{f.c}},
		{"span and resource attributes", storage.Query{Attributes: map[string]string{"host.name": "h2", "db.system": "postgres"}}, ids{f.a}},
		{"attribute value mismatch", storage.Query{Attributes: map[string]string{"http.method": "DELETE"}}, ids{}},
		{"attribute and service", storage.Query{Service: "frontend", Attributes: map[string]string{"http.method": "GET"}}, ids{}},
		{"duration min", storage.Query{DurationMin: time.Second}, ids{f.d}},
		{"duration max", storage.Query{DurationMax: 10 * ms}, ids{f.c, f.h, f.g}},
		{"duration range", storage.Query{DurationMin: 120 * ms, DurationMax: 250 * ms}, ids{f.a}},
		{"duration and service", storage.Query{Service: "frontend", DurationMax: 60 * ms}, ids{f.bb, f.h}},
		{"start range", storage.Query{StartMin: at(1500), StartMax: at(3500)}, ids{f.c, f.bb}},
		{"start min inclusive", storage.Query{Service: "backend", StartMin: at(2010)}, ids{f.c, f.bb}},
		{"start max inclusive", storage.Query{Service: "backend", StartMax: at(1020)}, ids{f.a}},
		{"start min only", storage.Query{StartMin: at(3500)}, ids{f.d}},
		{"start max only", storage.Query{Service: "frontend", StartMax: at(0)}, ids{f.e}},
		{"limit", storage.Query{Service: "frontend", Limit: 2}, ids{f.bb, f.h}},
		{"limit one", storage.Query{Limit: 1}, ids{f.d}},
		{"combination", storage.Query{
			Service: "backend", Operation: "/orders", Kind: storage.KindServer,
			Attributes:  map[string]string{"http.method": "POST", "host.name": "h3"},
			DurationMin: 10 * ms, DurationMax: time.Second,
			StartMin: at(0), StartMax: at(5000),
		}, ids{f.bb}},
		{"combination excludes", storage.Query{
			Service: "backend", Operation: "/orders",
			Attributes:  map[string]string{"http.method": "GET"},
			DurationMax: 100 * ms,
		}, ids{}},
		{"status error", storage.Query{Status: storage.OnlyError}, ids{f.bb}},
		{"status error and service", storage.Query{Service: "backend", Status: storage.OnlyError}, ids{f.bb}},
		{"status error on another span", storage.Query{Service: "frontend", Status: storage.OnlyError}, ids{}},
		{"status ok", storage.Query{Status: storage.OnlyOK}, ids{f.d}},
		{"status ok and kind", storage.Query{Kind: storage.KindInternal, Status: storage.OnlyOK}, ids{}},
		{"status unset", storage.Query{Service: "worker", Status: storage.OnlyUnset}, ids{f.d}},
		{"status unset excludes ok", storage.Query{Kind: storage.KindConsumer, Status: storage.OnlyUnset}, ids{}},
		{"status unset excludes error", storage.Query{Service: "backend", Operation: "/orders", Status: storage.OnlyUnset}, ids{f.a}},
		{"resource attributes", storage.Query{ResourceAttributes: map[string]string{"host.name": "h1"}}, ids{f.d, f.a, f.g}},
		{"resource attributes ignore span attributes", storage.Query{ResourceAttributes: map[string]string{"http.method": "GET"}}, ids{}},
		{"resource attributes despite span attribute", storage.Query{Service: "override", ResourceAttributes: map[string]string{"host.name": "h1"}}, ids{f.g}},
		{"resource attributes not the span's", storage.Query{ResourceAttributes: map[string]string{"host.name": "h5"}}, ids{}},
		{"resource service name", storage.Query{ResourceAttributes: map[string]string{"service.name": "worker"}}, ids{f.d}},
		{"resource attributes together", storage.Query{ResourceAttributes: map[string]string{"service.name": "backend", "host.name": "h2"}}, ids{f.a}},
		{"resource and span attributes", storage.Query{Attributes: map[string]string{"db.system": "postgres"}, ResourceAttributes: map[string]string{"host.name": "h2"}}, ids{f.a}},
		{"resource and span attributes on other spans", storage.Query{Attributes: map[string]string{"db.system": "postgres"}, ResourceAttributes: map[string]string{"host.name": "h1"}}, ids{}},
		{"span attribute over resource and resource", storage.Query{Attributes: map[string]string{"host.name": "h5"}, ResourceAttributes: map[string]string{"host.name": "h1"}}, ids{f.g}},
		{"status and resource", storage.Query{Status: storage.OnlyError, ResourceAttributes: map[string]string{"host.name": "h3"}}, ids{f.bb}},
		{"status and resource apart", storage.Query{Status: storage.OnlyError, ResourceAttributes: map[string]string{"service.name": "frontend"}}, ids{}},
		{"unknown service", storage.Query{Service: "nope"}, ids{}},
		{"unknown operation", storage.Query{Service: "frontend", Operation: "nope"}, ids{}},
		{"empty window", storage.Query{StartMin: at(10000), StartMax: at(20000)}, ids{}},
		{"everything", storage.Query{}, ids{f.d, f.c, f.bb, f.a, f.h, f.g, f.e}},
	}
	wantSpans := map[storage.TraceID]int{f.a: 4, f.bb: 2, f.c: 2, f.d: 2, f.e: 1, f.g: 1, f.h: 1}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.FindTraces(ctxFor(t), tt.q)
			if err != nil {
				t.Fatalf("FindTraces(%+v): %v", tt.q, err)
			}
			if !slices.Equal(TraceIDs(got), tt.want) {
				t.Fatalf("FindTraces(%+v) = %v, want %v", tt.q, names(f, TraceIDs(got)), names(f, tt.want))
			}
			for _, tr := range got {
				// Whole traces, not only the matching spans.
				if len(tr.Spans) != wantSpans[tr.ID] {
					t.Errorf("trace %s has %d spans, want %d", names(f, ids{tr.ID}), len(tr.Spans), wantSpans[tr.ID])
				}
				for _, sp := range tr.Spans {
					if sp.TraceID != tr.ID {
						t.Errorf("trace %s holds span of trace %s", tr.ID, sp.TraceID)
					}
				}
			}
			// The search readers find the same traces, in the same order.
			checkSearch(t, s, tt.q, tt.want, f.spans, func(ids []storage.TraceID) []string { return names(f, ids) })
		})
	}
}

func names(f findData, ids []storage.TraceID) []string {
	n := map[storage.TraceID]string{f.a: "A", f.bb: "B", f.c: "C", f.d: "D", f.e: "E", f.g: "G", f.h: "H"}
	out := []string{}
	for _, id := range ids {
		if s, ok := n[id]; ok {
			out = append(out, s)
		} else {
			out = append(out, id.String())
		}
	}
	return out
}

func testDefaultLimit(t *testing.T, s storage.Store) {
	b := base()
	var spans []storage.Span
	for i := range storage.DefaultLimit + 5 {
		spans = append(spans, mk(tid(byte(i), 1), sid(1), storage.SpanID{}, "svc", "op", storage.KindServer,
			b.Add(time.Duration(i)*time.Millisecond), time.Millisecond))
	}
	write(t, s, spans)
	got, err := s.FindTraces(ctxFor(t), storage.Query{Service: "svc"})
	if err != nil {
		t.Fatalf("FindTraces: %v", err)
	}
	if len(got) != storage.DefaultLimit {
		t.Fatalf("FindTraces with Limit 0 = %d traces, want DefaultLimit (%d)", len(got), storage.DefaultLimit)
	}
	// The most recent ones, newest first.
	for i, tr := range got {
		if want := tid(byte(len(spans)-1-i), 1); tr.ID != want {
			t.Fatalf("result %d = %s, want %s", i, tr.ID, want)
		}
	}
}

func testServices(t *testing.T, s storage.Store) {
	got, err := s.Services(ctxFor(t))
	if err != nil {
		t.Fatalf("Services on an empty store: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("Services on an empty store = %q, want none", got)
	}
	b := base()
	none := storage.SpanID{}
	write(t, s, []storage.Span{
		mk(tid(1), sid(1), none, "charlie", "x", storage.KindServer, b, time.Millisecond),
		mk(tid(1), sid(2), sid(1), "alpha", "x", storage.KindServer, b, time.Millisecond),
		mk(tid(2), sid(1), none, "bravo", "y", storage.KindServer, b, time.Millisecond),
		mk(tid(2), sid(2), sid(1), "alpha", "z", storage.KindClient, b, time.Millisecond),
		mk(tid(3), sid(1), none, "Zulu", "y", storage.KindServer, b, time.Millisecond),
	})
	got, err = s.Services(ctxFor(t))
	if err != nil {
		t.Fatalf("Services: %v", err)
	}
	if want := []string{"Zulu", "alpha", "bravo", "charlie"}; !slices.Equal(got, want) {
		t.Fatalf("Services = %q, want %q", got, want)
	}
}

func op(name string, kind storage.SpanKind) storage.Operation {
	return storage.Operation{Name: name, Kind: kind}
}

func testOperations(t *testing.T, s storage.Store) {
	b := base()
	none := storage.SpanID{}
	write(t, s, []storage.Span{
		mk(tid(1), sid(1), none, "svc", "a", storage.KindInternal, b, time.Millisecond),
		mk(tid(1), sid(2), sid(1), "svc", "POST", storage.KindServer, b, time.Millisecond),
		mk(tid(1), sid(3), sid(1), "svc", "GET", storage.KindClient, b, time.Millisecond),
		mk(tid(2), sid(1), none, "svc", "GET", storage.KindServer, b, time.Millisecond),
		mk(tid(2), sid(2), sid(1), "svc", "GET", storage.KindServer, b, time.Millisecond),
		mk(tid(2), sid(3), sid(1), "other", "x", storage.KindServer, b, time.Millisecond),
	})
	tests := []struct {
		service string
		kind    storage.SpanKind
		want    []storage.Operation
	}{
		{"svc", storage.KindUnspecified, []storage.Operation{
			op("GET", storage.KindServer), op("GET", storage.KindClient), op("POST", storage.KindServer), op("a", storage.KindInternal),
		}},
		{"svc", storage.KindServer, []storage.Operation{op("GET", storage.KindServer), op("POST", storage.KindServer)}},
		{"svc", storage.KindClient, []storage.Operation{op("GET", storage.KindClient)}},
		{"svc", storage.KindConsumer, nil},
		{"other", storage.KindUnspecified, []storage.Operation{op("x", storage.KindServer)}},
		{"nope", storage.KindUnspecified, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.service, tt.kind), func(t *testing.T) {
			got, err := s.Operations(ctxFor(t), tt.service, tt.kind)
			if err != nil {
				t.Fatalf("Operations: %v", err)
			}
			if len(got) != len(tt.want) || (len(got) > 0 && !slices.Equal(got, tt.want)) {
				t.Fatalf("Operations(%q, %s) = %+v, want %+v", tt.service, tt.kind, got, tt.want)
			}
		})
	}
}

func testDependencies(t *testing.T, s storage.Store) {
	now := time.Now()
	end := now.Add(-10 * time.Minute)
	lookback := time.Hour
	b := now.Add(-30 * time.Minute)
	ms := time.Millisecond
	none := storage.SpanID{}
	errSpan := func(sp storage.Span) storage.Span { sp.StatusCode = storage.StatusError; return sp }
	spans := []storage.Span{
		// frontend -> backend -> db (error)
		mk(tid(1), sid(1), none, "frontend", "a", storage.KindServer, b, 10*ms),
		mk(tid(1), sid(2), sid(1), "backend", "b", storage.KindServer, b.Add(ms), 5*ms),
		errSpan(mk(tid(1), sid(3), sid(2), "db", "q", storage.KindServer, b.Add(2*ms), ms)),
		// frontend -> backend (error); frontend -> frontend -> backend
		mk(tid(2), sid(1), none, "frontend", "a", storage.KindServer, b.Add(time.Second), 10*ms),
		errSpan(mk(tid(2), sid(2), sid(1), "backend", "b", storage.KindServer, b.Add(time.Second+ms), ms)),
		mk(tid(2), sid(3), sid(1), "frontend", "inner", storage.KindInternal, b.Add(time.Second+2*ms), ms),
		mk(tid(2), sid(4), sid(3), "backend", "b", storage.KindServer, b.Add(time.Second+3*ms), ms),
		// A parent that started before the window (a long request), its
		// child in the window: an edge. The parent's own parent, also
		// before the window, is no edge.
		mk(tid(6), sid(1), none, "edge", "root", storage.KindServer, end.Add(-lookback-20*time.Minute), 10*ms),
		mk(tid(6), sid(2), sid(1), "gateway", "long", storage.KindServer, end.Add(-lookback-10*time.Minute), time.Hour),
		mk(tid(6), sid(3), sid(2), "backend", "b", storage.KindServer, b.Add(3*time.Second), ms),
		// A backend span whose parent was never stored: no edge.
		mk(tid(3), sid(2), sid(1), "backend", "b", storage.KindServer, b.Add(2*time.Second), ms),
		// Before the window.
		mk(tid(4), sid(1), none, "frontend", "a", storage.KindServer, now.Add(-3*time.Hour), 10*ms),
		mk(tid(4), sid(2), sid(1), "backend", "b", storage.KindServer, now.Add(-3*time.Hour+ms), ms),
		mk(tid(4), sid(3), sid(1), "old", "b", storage.KindServer, now.Add(-3*time.Hour+ms), ms),
		// After the window's end.
		mk(tid(5), sid(1), none, "frontend", "a", storage.KindServer, now.Add(-5*time.Minute), 10*ms),
		mk(tid(5), sid(2), sid(1), "late", "b", storage.KindServer, now.Add(-5*time.Minute+ms), ms),
	}
	write(t, s, spans)
	got, err := s.Dependencies(ctxFor(t), end, lookback)
	if err != nil {
		t.Fatalf("Dependencies: %v", err)
	}
	want := []storage.Dependency{
		{Parent: "backend", Child: "db", CallCount: 1, ErrorCount: 1},
		{Parent: "frontend", Child: "backend", CallCount: 3, ErrorCount: 1},
		{Parent: "gateway", Child: "backend", CallCount: 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Dependencies(end-10m, 1h) = %+v, want %+v", got, want)
	}
	// A window holding everything.
	got, err = s.Dependencies(ctxFor(t), now, 4*time.Hour)
	if err != nil {
		t.Fatalf("Dependencies: %v", err)
	}
	want = []storage.Dependency{
		{Parent: "backend", Child: "db", CallCount: 1, ErrorCount: 1},
		{Parent: "edge", Child: "gateway", CallCount: 1},
		{Parent: "frontend", Child: "backend", CallCount: 4, ErrorCount: 1},
		{Parent: "frontend", Child: "late", CallCount: 1},
		{Parent: "frontend", Child: "old", CallCount: 1},
		{Parent: "gateway", Child: "backend", CallCount: 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Dependencies(now, 4h) = %+v, want %+v", got, want)
	}
	// A window holding nothing.
	got, err = s.Dependencies(ctxFor(t), now.Add(-5*time.Hour), time.Hour)
	if err != nil {
		t.Fatalf("Dependencies: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("Dependencies(empty window) = %+v, want none", got)
	}
}

func testPurge(t *testing.T, s storage.Store) {
	now := time.Now()
	cut := now.Add(-24 * time.Hour)
	none := storage.SpanID{}
	old := []storage.Span{
		mk(tid(1), sid(1), none, "svc", "old", storage.KindServer, now.Add(-72*time.Hour), time.Millisecond, attr("k", "v")),
		mk(tid(1), sid(2), sid(1), "other", "old", storage.KindServer, now.Add(-72*time.Hour+time.Millisecond), time.Millisecond),
	}
	edge := []storage.Span{mk(tid(2), sid(1), none, "svc", "edge", storage.KindServer, cut, time.Millisecond, attr("k", "v"))}
	recent := []storage.Span{mk(tid(3), sid(1), none, "svc", "new", storage.KindServer, now.Add(-10*time.Minute), time.Millisecond, attr("k", "v"))}
	write(t, s, old)
	write(t, s, edge)
	write(t, s, recent)
	if err := s.Purge(ctxFor(t), cut); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if _, err := s.Trace(ctxFor(t), tid(1)); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Trace(purged): err = %v, want ErrNotFound", err)
	}
	checkTrace(t, s, edge)
	checkTrace(t, s, recent)
	for _, q := range []storage.Query{
		{Service: "svc"},
		{Attributes: map[string]string{"k": "v"}},
		{},
		{Service: "svc", DurationMax: time.Second},
	} {
		got, err := s.FindTraces(ctxFor(t), q)
		if err != nil {
			t.Fatalf("FindTraces: %v", err)
		}
		if want := []storage.TraceID{tid(3), tid(2)}; !slices.Equal(TraceIDs(got), want) {
			t.Errorf("FindTraces(%+v) after Purge = %v, want %v", q, TraceIDs(got), want)
		}
	}
	deps, err := s.Dependencies(ctxFor(t), now, 100*time.Hour)
	if err != nil {
		t.Fatalf("Dependencies: %v", err)
	}
	if len(deps) != 0 {
		t.Errorf("Dependencies after Purge = %+v, want none", deps)
	}
	// The other readers forget the purged spans too.
	for _, q := range []storage.Query{{Service: "svc"}, {}} {
		checkSearch(t, s, q, []storage.TraceID{tid(3), tid(2)}, slices.Concat(old, edge, recent), nil)
	}
	if _, err := s.StreamTrace(ctxFor(t), tid(1), func([]storage.Span) error { return nil }); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("StreamTrace(purged): err = %v, want ErrNotFound", err)
	}
	oldStart := time.Unix(0, old[0].StartTime)
	series, err := s.RED(ctxFor(t), storage.REDQuery{Start: oldStart.Add(-time.Hour), End: oldStart.Add(time.Hour), Step: time.Minute})
	if err != nil {
		t.Fatalf("RED: %v", err)
	}
	if len(series) != 0 {
		t.Errorf("RED over the purged spans' window = %+v, want none", series)
	}
	for _, q := range []storage.AttributeQuery{
		{Start: oldStart.Add(-time.Hour), End: oldStart.Add(time.Hour)},
		{Start: oldStart.Add(-time.Hour), End: oldStart.Add(time.Hour), Resource: true},
	} {
		keys, err := s.AttributeKeys(ctxFor(t), q)
		if err != nil {
			t.Fatalf("AttributeKeys: %v", err)
		}
		if len(keys) != 0 {
			t.Errorf("AttributeKeys(%+v) over the purged spans' window = %q, want none", q, keys)
		}
	}
	// Purging again is harmless; the store still takes writes.
	if err := s.Purge(ctxFor(t), cut); err != nil {
		t.Fatalf("second Purge: %v", err)
	}
	write(t, s, old)
	checkTrace(t, s, old)
}

func testCopies(t *testing.T, s storage.Store) {
	b := base()
	id := tid(4)
	in := []storage.Span{FullSpan(id, sid(1), storage.SpanID{}, b)}
	want := []storage.Span{in[0].Copy()}
	write(t, s, in)
	// The writer keeps nothing of the caller's spans.
	in[0].Name = "changed"
	in[0].Attributes[0].Value = "changed"
	in[0].Resource[0].Value = "changed"
	in[0].Events[0].Attributes[0].Value = "changed"
	in[0].Links[0].Attributes[0].Value = "changed"
	checkTrace(t, s, want)

	mutate := func(tr storage.Trace) {
		for i := range tr.Spans {
			sp := &tr.Spans[i]
			sp.Name = "mutated"
			sp.Attributes[0].Value = "mutated"
			sp.Attributes = append(sp.Attributes[:1], attr("x", "y"))
			sp.Resource[0].Key = "mutated"
			sp.Events[0].Name = "mutated"
			sp.Events[0].Attributes[0].Value = "mutated"
			sp.Links[0].Attributes[0].Value = "mutated"
			sp.Links[0].TraceState = "mutated"
		}
		tr.Spans[0] = storage.Span{}
	}
	mutate(mustTrace(t, s, id))
	checkTrace(t, s, want)

	found, err := s.FindTraces(ctxFor(t), storage.Query{Service: "orders"})
	if err != nil || len(found) != 1 {
		t.Fatalf("FindTraces = %d traces, %v; want 1", len(found), err)
	}
	mutate(found[0])
	checkTrace(t, s, want)

	svcs, err := s.Services(ctxFor(t))
	if err != nil || len(svcs) != 1 {
		t.Fatalf("Services = %q, %v", svcs, err)
	}
	svcs[0] = "mutated"
	if svcs, _ := s.Services(ctxFor(t)); !slices.Equal(svcs, []string{"orders"}) {
		t.Errorf("Services after mutating a result = %q", svcs)
	}
	ops, err := s.Operations(ctxFor(t), "orders", storage.KindUnspecified)
	if err != nil || len(ops) != 1 {
		t.Fatalf("Operations = %+v, %v", ops, err)
	}
	ops[0].Name = "mutated"
	if ops, _ := s.Operations(ctxFor(t), "orders", storage.KindUnspecified); len(ops) != 1 || ops[0].Name != want[0].Name {
		t.Errorf("Operations after mutating a result = %+v", ops)
	}
}

// HostileStrings are keys and values that break naive backends: quoting,
// escapes, SQL, format verbs, control bytes and invalid UTF-8.
var HostileStrings = []string{
	`'; DROP TABLE x; --`,
	`" OR 1=1 --`,
	`back\slash\`,
	`\'\"`,
	"nul\x00byte",
	"\xff\xfe\xfd invalid utf-8 \xc3\x28",
	"line\nbreak\ttab\r",
	`%s %d %!x ${x} {{.}}`,
	`{"json": [1, 2]}`,
	"ünïcödé ✓ 😀",
	"a=b,c=d",
	" leading and trailing ",
}

func testHostile(t *testing.T, s storage.Store) {
	b := base()
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	bigBytes := []byte(big)
	bigBytes[len(bigBytes)/2] = 0xff // invalid UTF-8 in the middle
	big = string(bigBytes)
	var spans []storage.Span
	for i, h := range HostileStrings {
		sp := FullSpan(tid(5, byte(i)), sid(1), storage.SpanID{}, b.Add(time.Duration(i)*time.Millisecond))
		sp.Service = h
		sp.Name = h
		sp.TraceState = h
		sp.StatusMessage = h
		sp.ScopeName = h
		sp.ScopeVersion = h
		sp.Resource = append(sp.Resource, attr(h, h))
		sp.Attributes = append(sp.Attributes, attr(h, h), attr("hostile", h), attr("hostile.bytes", h))
		sp.Attributes[len(sp.Attributes)-1].Type = storage.TypeBytes
		sp.Events = append(sp.Events, storage.Event{Time: sp.StartTime, Name: h, Attributes: []storage.Attribute{attr(h, h)}})
		sp.Links[0].TraceState = h
		sp.Links[0].Attributes = append(sp.Links[0].Attributes, attr(h, h))
		spans = append(spans, sp)
	}
	bigSpan := FullSpan(tid(6), sid(1), storage.SpanID{}, b.Add(time.Second))
	bigSpan.Service = "big"
	bigSpan.Name = big
	bigSpan.Attributes = append(bigSpan.Attributes, attr("big", big), attr(big, "big key"))
	bigSpan.Events[0].Attributes = append(bigSpan.Events[0].Attributes, attr("big", big))
	spans = append(spans, bigSpan)
	write(t, s, spans)

	for _, sp := range spans {
		checkTrace(t, s, []storage.Span{sp})
	}
	svcs, err := s.Services(ctxFor(t))
	if err != nil {
		t.Fatalf("Services: %v", err)
	}
	wantSvcs := SortedServices(spans)
	if !slices.Equal(svcs, wantSvcs) {
		t.Errorf("Services = %q, want %q", svcs, wantSvcs)
	}
	for i, h := range HostileStrings {
		want := []storage.TraceID{tid(5, byte(i))}
		for _, q := range []storage.Query{
			{Service: h},
			{Service: h, Operation: h},
			{Attributes: map[string]string{h: h}},
			{Attributes: map[string]string{"hostile": h}},
		} {
			got, err := s.FindTraces(ctxFor(t), q)
			if err != nil {
				t.Errorf("FindTraces(%q): %v", h, err)
				continue
			}
			if !slices.Equal(TraceIDs(got), want) {
				t.Errorf("FindTraces(hostile %q in %d fields) = %v, want %v", h, len(q.Attributes), TraceIDs(got), want)
			}
		}
		ops, err := s.Operations(ctxFor(t), h, storage.KindUnspecified)
		if err != nil {
			t.Fatalf("Operations(%q): %v", h, err)
		}
		if want := []storage.Operation{{Name: h, Kind: storage.KindServer}}; !slices.Equal(ops, want) {
			t.Errorf("Operations(%q) = %+q, want %+q", h, ops, want)
		}
	}
	for _, q := range []storage.Query{
		{Service: "big", Operation: big},
		{Attributes: map[string]string{"big": big}},
		{Attributes: map[string]string{big: "big key"}},
	} {
		got, err := s.FindTraces(ctxFor(t), q)
		if err != nil {
			t.Fatalf("FindTraces(big): %v", err)
		}
		if want := []storage.TraceID{tid(6)}; !slices.Equal(TraceIDs(got), want) {
			t.Errorf("FindTraces(big value) = %v, want %v", TraceIDs(got), want)
		}
	}
	// A value that only shares a prefix with the big one does not match.
	got, err := s.FindTraces(ctxFor(t), storage.Query{Attributes: map[string]string{"big": big[:len(big)-1]}})
	if err != nil {
		t.Fatalf("FindTraces: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("FindTraces(prefix of big value) = %v, want none", TraceIDs(got))
	}
}

func testConcurrent(t *testing.T, s storage.Store) {
	const writers, batches, perTrace = 4, 15, 3
	ctx := ctxFor(t)
	var traces [writers][batches][]storage.Span
	for w := range writers {
		g := NewGenerator(uint64(w + 1))
		for i := range batches {
			traces[w][i] = g.Trace(base().Add(time.Duration(i)*time.Second), perTrace)
		}
	}
	shared := traces[0][0]

	var wg sync.WaitGroup
	errs := make(chan error, writers+4)
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range batches {
				if err := s.WriteSpans(ctx, traces[w][i]); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				// Every writer also writes one shared batch.
				if i == batches/2 {
					if err := s.WriteSpans(ctx, shared); err != nil {
						errs <- fmt.Errorf("writer %d shared: %w", w, err)
						return
					}
				}
			}
		})
	}
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Go(func() {
			for i := 0; i < 200; i++ {
				select {
				case <-done:
					return
				default:
				}
				var err error
				switch (i + r) % 8 {
				case 0:
					_, err = s.FindTraces(ctx, storage.Query{Limit: 5})
				case 1:
					_, err = s.Services(ctx)
				case 2:
					_, err = s.Trace(ctx, shared[0].TraceID)
					if errors.Is(err, storage.ErrNotFound) {
						err = nil
					}
				case 3:
					_, err = s.Dependencies(ctx, time.Now(), time.Hour)
				case 4:
					_, err = s.FindTraceSummaries(ctx, storage.Query{Limit: 5})
				case 5:
					_, err = s.StreamTrace(ctx, shared[0].TraceID, func([]storage.Span) error { return nil })
					if errors.Is(err, storage.ErrNotFound) {
						err = nil
					}
				case 6:
					now := time.Now()
					_, err = s.RED(ctx, storage.REDQuery{Start: now.Add(-time.Hour), End: now, Step: time.Minute})
				case 7:
					_, err = s.AttributeKeys(ctx, storage.AttributeQuery{})
				}
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for w := range writers {
		for i := range batches {
			checkTrace(t, s, traces[w][i])
		}
	}
	got, err := s.FindTraces(ctx, storage.Query{Limit: writers * batches * 2})
	if err != nil {
		t.Fatalf("FindTraces: %v", err)
	}
	if len(got) != writers*batches {
		t.Errorf("FindTraces after concurrent writes = %d traces, want %d", len(got), writers*batches)
	}
}

func testCanceled(t *testing.T, s storage.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	sp := mk(tid(7), sid(1), storage.SpanID{}, "svc", "op", storage.KindServer, base(), time.Millisecond)
	if err := s.WriteSpans(ctx, []storage.Span{sp}); err == nil {
		t.Error("WriteSpans with a canceled context: no error")
	}
	if _, err := s.Trace(ctx, tid(7)); err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Trace with a canceled context: err = %v, want the context's error", err)
	}
	if _, err := s.FindTraces(ctx, storage.Query{}); err == nil {
		t.Error("FindTraces with a canceled context: no error")
	}
	if _, err := s.FindTraceIDs(ctx, storage.Query{}); err == nil {
		t.Error("FindTraceIDs with a canceled context: no error")
	}
	if _, err := s.FindTraceSummaries(ctx, storage.Query{}); err == nil {
		t.Error("FindTraceSummaries with a canceled context: no error")
	}
	if _, err := s.StreamTrace(ctx, tid(7), func([]storage.Span) error { return nil }); err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("StreamTrace with a canceled context: err = %v, want the context's error", err)
	}
	now := time.Now()
	if _, err := s.RED(ctx, storage.REDQuery{Start: now.Add(-time.Hour), End: now, Step: time.Minute}); err == nil {
		t.Error("RED with a canceled context: no error")
	}
	if _, err := s.AttributeKeys(ctx, storage.AttributeQuery{}); err == nil {
		t.Error("AttributeKeys with a canceled context: no error")
	}
	if _, err := s.AttributeValues(ctx, storage.AttributeQuery{Key: "k"}); err == nil {
		t.Error("AttributeValues with a canceled context: no error")
	}
	// The store still works with a live context.
	write(t, s, []storage.Span{sp})
	checkTrace(t, s, []storage.Span{sp})
}
