package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/vclock"
)

// demoSkew is service-b's clock error in TestDemo: all-in-one's default.
const demoSkew = -30 * time.Millisecond

// TestDemo runs "tracer all-in-one --demo" as a new user would, on free
// loopback ports, and checks through the query API what the demo is there
// to show: traces service-a → service-b → service-c with their parent links
// and vector clocks in the order of the calls, the link between service-b's
// producer and consumer spans, the dependency edges a → b and b → c with
// counts, and service-b's clock skew in the timestamps (its server spans
// start before the client spans that called them, while the clocks say the
// client came first). Then SIGINT: it exits 0 and frees every port.
//
// The spans it expects are those of package demo: service-a's otelhttp
// server span ("GET /api/v1/search", examples/demo/servicea.go) is the
// root, its gRPC client span calls service-b's Business server span
// (interceptors' stats handlers), which calls service-c's Data server spans
// and, for a process request, queues a job in a producer span "send
// followups" that the worker's consumer span "process followups" continues
// and links to (examples/demo/serviceb_worker.go).
func TestDemo(t *testing.T) {
	bin := proctest.BuildTracer(t)
	dir := t.TempDir()
	grpcAddr, queryAddr, telAddr := proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t)
	aAddr, bAddr, cAddr := proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t)
	begin := time.Now()
	p := proctest.Start(t, bin, []string{"all-in-one", "--demo",
		"--grpc-endpoint", grpcAddr, "--http-endpoint", "", "--query-endpoint", queryAddr, "--telemetry-endpoint", telAddr,
		"--wal-dir", filepath.Join(dir, "wal"), "--badger-dir", filepath.Join(dir, "badger"), "--batch-timeout", "50ms",
		"--demo-service-a-endpoint", aAddr, "--demo-service-b-endpoint", bAddr, "--demo-service-c-endpoint", cAddr, "--demo-rate", "40",
	}, filepath.Join(dir, "demo.log"))
	p.WaitHealthy(t, telAddr)
	for deadline := time.Now().Add(time.Minute); !strings.Contains(p.LogText(), "Tracer demo is running"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no demo banner within a minute\n%s", p.LogText())
		}
	}
	for _, want := range []string{
		"demo: starting service-c on " + cAddr, "demo: starting service-b on " + bAddr, "demo: starting service-a on " + aAddr,
		"http://" + queryAddr + "/search", "http://" + queryAddr + "/dependencies", "http://" + queryAddr + "/api/traces?service=service-a",
		"curl 'http://" + aAddr + "/api/v1/search?q=example'", "service-b's clock is off by -30ms",
	} {
		if !strings.Contains(p.LogText(), want) {
			t.Errorf("the demo's start-up output lacks %q\n%s", want, p.LogText())
		}
	}
	// The curl line of the banner works.
	if status := httpStatus(t, "http://"+aAddr+"/api/v1/search?q=example"); status != http.StatusOK && status != http.StatusServiceUnavailable {
		t.Errorf("GET service-a /api/v1/search?q=example: %d, want 200 (or 503 when service-c fails on purpose)", status)
	}

	ctx := context.Background()
	a := newAPI(queryAddr)
	traces, firstChain := awaitDemoTraces(ctx, t, a, begin)
	t.Logf("first trace a → b → c readable %s after the start; %d traces checked", firstChain.Round(100*time.Millisecond), len(traces))

	var st demoStats
	for id, spans := range traces {
		checkDemoTrace(t, id, spans, &st)
	}
	if st.chains == 0 || st.links == 0 || st.later == 0 || st.responses == 0 {
		t.Errorf("checked %d chains a → b → c, %d producer → consumer links, %d responses, %d spans after a call: want some of each", st.chains, st.links, st.responses, st.later)
	}
	t.Run("skew", func(t *testing.T) { checkSkew(t, st) })
	t.Run("v1 and v3", func(t *testing.T) { checkJaegerReads(ctx, t, a, traces) })
	t.Run("dependencies", func(t *testing.T) { checkDependencies(ctx, t, a) })

	if err := p.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(time.Minute):
		t.Fatalf("still running a minute after SIGINT\n%s", p.LogText())
	}
	if err := p.Wait(); err != nil {
		t.Errorf("all-in-one --demo after SIGINT: %v, want exit 0\n%s", err, p.LogText())
	}
	log := p.LogText()
	stopped := strings.Index(log, "demo: stopping service-c")
	if strings.Contains(log, "panic") || strings.Contains(log, "did not stop") || stopped < 0 || strings.Index(log, "collector stopped") < stopped {
		t.Errorf("want the demo stopped, then the collector, cleanly\n%s", log)
	}
	for _, addr := range []string{aAddr, bAddr, cAddr, grpcAddr, queryAddr, telAddr} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("port %s after the exit: %v", addr, err)
			continue
		}
		l.Close()
	}
}

// demoSpan is a span as Tracer's own route answers it (query/openapi.yaml's
// Span): what the Jaeger shapes lack, kind, times in nanoseconds, links,
// and the clock rebuilt from its attributes.
type demoSpan struct {
	span
	Kind, Status string
	Start, End   int64 // unix nanoseconds
	Links        []struct{ TraceID, SpanID string }
	Clock        vclock.SpanClock
}

// tracerTraceJSON is the Trace schema of query/openapi.yaml.
type tracerTraceJSON struct {
	TraceID   string `json:"traceId"`
	Truncated bool   `json:"truncated"`
	Spans     []struct {
		SpanID            string `json:"spanId"`
		ParentSpanID      string `json:"parentSpanId"`
		Name              string `json:"name"`
		Service           string `json:"service"`
		Kind              string `json:"kind"`
		Status            string `json:"status"`
		StartTimeUnixNano string `json:"startTimeUnixNano"`
		EndTimeUnixNano   string `json:"endTimeUnixNano"`
		Attributes        []struct {
			Key   string `json:"key"`
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"attributes"`
		Links []struct {
			TraceID string `json:"traceId"`
			SpanID  string `json:"spanId"`
		} `json:"links"`
	} `json:"spans"`
}

// tracerTrace GETs /api/tracer/traces/{id}: its spans (nil with the status
// when it is not 200). Scalar attributes get the types the Jaeger readers
// give them (int64, bool, float64, string); other types are left out.
func (a *api) tracerTrace(ctx context.Context, id string) ([]demoSpan, int, error) {
	var tr tracerTraceJSON
	status, err := a.get(ctx, "/api/tracer/traces/"+id, &tr)
	if err != nil || status != http.StatusOK {
		return nil, status, err
	}
	if tr.TraceID != id || tr.Truncated {
		return nil, status, fmt.Errorf("GET /api/tracer/traces/%s: trace %s, truncated %v", id, tr.TraceID, tr.Truncated)
	}
	out := make([]demoSpan, 0, len(tr.Spans))
	for _, s := range tr.Spans {
		d := demoSpan{span: span{TraceID: id, SpanID: s.SpanID, ParentID: s.ParentSpanID, Name: s.Name, Service: s.Service, Attrs: map[string]any{}},
			Kind: s.Kind, Status: s.Status}
		if d.Start, err = strconv.ParseInt(s.StartTimeUnixNano, 10, 64); err != nil {
			return nil, status, fmt.Errorf("span %s: start %q: %v", s.SpanID, s.StartTimeUnixNano, err)
		}
		if d.End, err = strconv.ParseInt(s.EndTimeUnixNano, 10, 64); err != nil {
			return nil, status, fmt.Errorf("span %s: end %q: %v", s.SpanID, s.EndTimeUnixNano, err)
		}
		for _, kv := range s.Attributes {
			var v any
			var err error
			switch kv.Type {
			case "":
				v = kv.Value
			case "int":
				v, err = strconv.ParseInt(kv.Value, 10, 64)
			case "bool":
				v, err = strconv.ParseBool(kv.Value)
			case "double":
				v, err = strconv.ParseFloat(kv.Value, 64)
			default:
				continue
			}
			if err != nil {
				return nil, status, fmt.Errorf("span %s: attribute %s: %v", s.SpanID, kv.Key, err)
			}
			d.Attrs[kv.Key] = v
		}
		for _, l := range s.Links {
			d.Links = append(d.Links, struct{ TraceID, SpanID string }{l.TraceID, l.SpanID})
		}
		if d.Clock, err = d.clock(); err != nil {
			return nil, status, fmt.Errorf("span %s (%s %s): clock: %v", s.SpanID, s.Service, s.Name, err)
		}
		out = append(out, d)
	}
	return out, status, nil
}

// traceIDs GETs /api/tracer/trace-summaries with q: the ids found.
func (a *api) traceIDs(ctx context.Context, q url.Values) ([]string, error) {
	var ans struct {
		Traces []struct {
			TraceID string `json:"traceId"`
		} `json:"traces"`
	}
	status, err := a.get(ctx, "/api/tracer/trace-summaries?"+q.Encode(), &ans)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET /api/tracer/trace-summaries?%s: status %d", q.Encode(), status)
	}
	var ids []string
	for _, tr := range ans.Traces {
		ids = append(ids, tr.TraceID)
	}
	return ids, nil
}

// whole says whether a trace is whole enough to check: its root is
// service-a's server span and every span's parent is stored (children end,
// and so are exported, before their parents).
func whole(spans []demoSpan) bool {
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	roots := 0
	for _, s := range spans {
		switch {
		case s.ParentID == "":
			if s.Service != "service-a" || s.Kind != "server" {
				return false
			}
			roots++
		case !ids[s.ParentID]:
			return false
		}
	}
	return roots == 1
}

// hasChain says whether the trace holds service-a server → service-a client
// → service-b server → service-b client → service-c server.
func hasChain(spans []demoSpan) bool {
	byID := map[string]demoSpan{}
	for _, s := range spans {
		byID[s.SpanID] = s
	}
	want := []struct{ service, kind string }{{"service-c", "server"}, {"service-b", "client"}, {"service-b", "server"}, {"service-a", "client"}, {"service-a", "server"}}
	for _, s := range spans {
		cur, ok := s, true
		for i, w := range want {
			if !ok || cur.Service != w.service || cur.Kind != w.kind {
				break
			}
			if i == len(want)-1 {
				return cur.ParentID == ""
			}
			cur, ok = byID[cur.ParentID]
		}
	}
	return false
}

func hasKind(spans []demoSpan, service, kind string) bool {
	return slices.ContainsFunc(spans, func(s demoSpan) bool { return s.Service == service && s.Kind == kind })
}

// awaitDemoTraces polls the API until it has whole traces of every shape
// the checks need: at least ten with the chain a → b → c, and one with
// service-b's consumer span. It returns them, and how long after begin the
// first chain was readable.
func awaitDemoTraces(ctx context.Context, t *testing.T, a *api, begin time.Time) (map[string][]demoSpan, time.Duration) {
	t.Helper()
	const wantChains = 10
	got := map[string][]demoSpan{}
	var firstChain time.Duration
	chains, consumers := 0, 0
	since := begin.Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	for deadline := time.Now().Add(2 * time.Minute); chains < wantChains || consumers == 0; time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("within two minutes: %d whole traces a → b → c (want %d), %d with a consumer span (want one)", chains, wantChains, consumers)
		}
		var ids []string
		for _, q := range []url.Values{
			{"service": {"service-a"}, "start": {since}, "limit": {"20"}},
			{"service": {"service-b"}, "kind": {"consumer"}, "start": {since}, "limit": {"5"}},
		} {
			found, err := a.traceIDs(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, found...)
		}
		for _, id := range ids {
			if _, ok := got[id]; ok {
				continue
			}
			spans, status, err := a.tracerTrace(ctx, id)
			if err != nil || status != http.StatusOK {
				t.Fatalf("trace %s: status %d, %v", id, status, err)
			}
			if !whole(spans) {
				continue // the rest is on its way
			}
			got[id] = spans
			if hasChain(spans) {
				if chains == 0 {
					firstChain = time.Since(begin)
				}
				chains++
			}
			if hasKind(spans, "service-b", "consumer") {
				consumers++
			}
		}
	}
	return got, firstChain
}

// hop is one call across services: the client span's start, the server
// span's start, in nanoseconds as each service's clock has it.
type hop struct{ client, server int64 }

// demoStats is what checkDemoTrace saw over every trace.
type demoStats struct {
	chains, links, responses, later int
	ab, bc                          []hop // service-a → service-b, service-b → service-c
}

// checkDemoTrace checks one whole trace: each service one node of the
// clock; every span's start after its parent's by the clocks; calls across
// services only client → server, a → b and b → c; a call's server span
// started before the client span ended, and before the client's later
// spans started (the response carried the server's clock back); and
// service-b's consumer span the child of its producer span and linked to
// it.
func checkDemoTrace(t *testing.T, id string, spans []demoSpan, st *demoStats) {
	t.Helper()
	byID := map[string]demoSpan{}
	nodes := map[string]string{}
	for _, s := range spans {
		byID[s.SpanID] = s
		if n, ok := nodes[s.Service]; ok && n != s.Clock.Node {
			t.Errorf("trace %s: service %s has spans of nodes %s and %s, want one", id, s.Service, n, s.Clock.Node)
		}
		nodes[s.Service] = s.Clock.Node
	}
	if hasChain(spans) {
		st.chains++
	}
	for _, s := range spans {
		p, ok := byID[s.ParentID]
		if !ok {
			continue // the root
		}
		what := fmt.Sprintf("trace %s: %s %s %q (parent %s %s %q)", id, s.Service, s.Kind, s.Name, p.Service, p.Kind, p.Name)
		if o := vclock.CompareStarts(p.Clock, s.Clock); o != vclock.Before {
			t.Errorf("%s: the parent's start is %s the child's by the clocks, want before", what, o)
		}
		if s.Service == p.Service {
			if s.Kind == "server" {
				t.Errorf("%s: a server span whose parent is in its own service", what)
			}
		} else {
			callee := map[string]string{"service-a": "service-b", "service-b": "service-c"}[p.Service]
			if s.Kind != "server" || p.Kind != "client" || s.Service != callee {
				t.Errorf("%s: want only service-a client → service-b server and service-b client → service-c server across services", what)
				continue
			}
			checkResponse(t, what, s, p, byID, spans, st)
			h := hop{client: p.Start, server: s.Start}
			if p.Service == "service-a" {
				st.ab = append(st.ab, h)
			} else {
				st.bc = append(st.bc, h)
			}
		}
		if s.Kind == "consumer" {
			if s.Service != "service-b" || p.Service != "service-b" || p.Kind != "producer" {
				t.Errorf("%s: want service-b's consumer span the child of its producer span", what)
			}
			if !slices.Contains(s.Links, struct{ TraceID, SpanID string }{id, p.SpanID}) {
				t.Errorf("%s: links %v, want one to the producer span %s", what, s.Links, p.SpanID)
			}
			st.links++
		}
	}
}

// checkResponse checks the clock that server span s's response carried back
// to its client span c: c's end has seen s's start (unless the call was
// cut short: a client span with an error and no clock from the server),
// and so have c's parent's end and every span of c's process that started
// after c ended under the same parent.
func checkResponse(t *testing.T, what string, s, c demoSpan, byID map[string]demoSpan, spans []demoSpan, st *demoStats) {
	t.Helper()
	heard := func(x vclock.Clock) bool { return x.Get(s.Clock.Node) >= s.Clock.Tick }
	if !heard(c.Clock.End) {
		if c.Status != "error" {
			t.Errorf("%s: the client span ended with clock %s, which has not seen the server span's start %s:%d", what, c.Clock.End, s.Clock.Node, s.Clock.Tick)
		}
		return // canceled: the answer never came
	}
	st.responses++
	if p, ok := byID[c.ParentID]; ok && !heard(p.Clock.End) {
		t.Errorf("%s: the client's parent %q ended with clock %s, which has not seen the server span's start", what, p.Name, p.Clock.End)
	}
	for _, x := range spans {
		if x.ParentID != c.ParentID || x.Clock.Node != c.Clock.Node || x.Clock.Tick <= c.Clock.End.Get(c.Clock.Node) {
			continue
		}
		st.later++
		if o := vclock.Compare(s.Clock.Start, x.Clock.Start); o != vclock.Before {
			t.Errorf("%s: %s %q started after the call ended, but the server span's start is %s its start by the clocks, want before", what, x.Kind, x.Name, o)
		}
	}
}

// checkSkew: service-b's clock runs demoSkew behind, so its server spans
// start earlier than the service-a client spans that called them (while
// the clocks say the client came first), and service-c's server spans
// start at least -demoSkew after the service-b client spans that called
// them. A call's server really starts after its client (one machine, one
// wall clock): that bounds each hop; the skew shows in the median of many.
func checkSkew(t *testing.T, st demoStats) {
	const slack = int64(time.Millisecond) // the wall clock's granularity and steps
	median := func(hops []hop) time.Duration {
		d := make([]int64, len(hops))
		for i, h := range hops {
			d[i] = h.server - h.client
		}
		slices.Sort(d)
		return time.Duration(d[len(d)/2])
	}
	if len(st.ab) < 5 || len(st.bc) < 5 {
		t.Fatalf("%d calls a → b and %d b → c, want at least 5 of each", len(st.ab), len(st.bc))
	}
	for _, h := range st.ab {
		if d := h.server - h.client; d < int64(demoSkew)-slack {
			t.Errorf("a → b: the server span starts %s after its client, want at least the skew %s", time.Duration(d), demoSkew)
		}
	}
	for _, h := range st.bc {
		if d := h.server - h.client; d < -int64(demoSkew)-slack {
			t.Errorf("b → c: the server span starts %s after its client, want at least %s (service-b's clock is %s off)", time.Duration(d), -demoSkew, demoSkew)
		}
	}
	ab, bc := median(st.ab), median(st.bc)
	t.Logf("median start of the server span after its client's: a → b %s, b → c %s (service-b's skew %s)", ab, bc, demoSkew)
	if ab >= 0 {
		t.Errorf("a → b: median %s, want below 0: service-b's server spans seem to start before their callers", ab)
	}
}

// checkJaegerReads reads a few of the traces again through Jaeger's v1 and
// v3 routes: the same spans, names, services, parents, attributes and
// clocks as Tracer's own route.
func checkJaegerReads(ctx context.Context, t *testing.T, a *api, traces map[string][]demoSpan) {
	// One trace with service-b's consumer span (linked to its parent),
	// then two others.
	var ids []string
	for id, spans := range traces {
		if hasKind(spans, "service-b", "consumer") {
			ids = append([]string{id}, ids...)
		} else {
			ids = append(ids, id)
		}
	}
	for i, id := range ids[:min(3, len(ids))] {
		// Spans may still arrive (the consumer's, after the answer): read
		// until Tracer's route answers the same before and after.
		for attempt := 0; ; attempt++ {
			before, _, err := a.tracerTrace(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			v1 := awaitTrace(ctx, t, "v1 trace", id, len(before), a.v1Trace)
			v3 := awaitTrace(ctx, t, "v3 trace", id, len(before), a.v3Trace)
			after, _, err := a.tracerTrace(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) || len(v1) != len(before) || len(v3) != len(before) {
				if attempt == 20 {
					t.Fatalf("trace %s keeps growing", id)
				}
				time.Sleep(500 * time.Millisecond)
				continue
			}
			want := make([]span, len(after))
			wantV1 := make([]span, len(after))
			linked := map[string]string{} // span → its parent, when it links to it
			for i, s := range after {
				want[i], wantV1[i] = s.span, s.span
				if slices.Contains(s.Links, struct{ TraceID, SpanID string }{id, s.ParentID}) {
					linked[s.SpanID] = s.ParentID
					wantV1[i].ParentID = "" // v1 gives it as FOLLOWS_FROM; see below
				}
			}
			compareSpans(t, "v1 /api/traces/"+id, v1, wantV1)
			compareSpans(t, "v3 /api/v3/traces/"+id, v3, want)
			checkV1Links(ctx, t, a, id, linked)
			if i == 0 && len(linked) == 0 {
				t.Errorf("trace %s: no span linked to its parent, want service-b's consumer", id)
			}
			break
		}
	}
}

// checkV1Links checks the references of the spans that link to their
// parent (service-b's consumer spans) in v1: one reference to the parent,
// FOLLOWS_FROM, as Jaeger's translator makes it (makeJaegerProtoReferences
// in opentelemetry-collector-contrib's pkg/translator/jaeger: the parent's
// CHILD_OF takes the link's type instead of a second reference).
func checkV1Links(ctx context.Context, t *testing.T, a *api, id string, linked map[string]string) {
	var env v1Envelope
	if status, err := a.get(ctx, "/api/traces/"+id, &env); err != nil || status != http.StatusOK || len(env.Data) != 1 {
		t.Fatalf("GET /api/traces/%s: %d %v", id, status, err)
	}
	found := 0
	for _, s := range env.Data[0].Spans {
		parent, ok := linked[s.SpanID]
		if !ok {
			continue
		}
		found++
		if len(s.References) != 1 || s.References[0].RefType != "FOLLOWS_FROM" || s.References[0].SpanID != parent || s.References[0].TraceID != id {
			t.Errorf("v1 /api/traces/%s: span %s (%s): references %+v, want one FOLLOWS_FROM to its parent %s", id, s.SpanID, s.OperationName, s.References, parent)
		}
	}
	if found != len(linked) {
		t.Errorf("v1 /api/traces/%s: %d of the %d spans linked to their parent", id, found, len(linked))
	}
}

// checkDependencies: v1's /api/dependencies and Tracer's
// /api/tracer/dependencies have the edges service-a → service-b and
// service-b → service-c with calls, and no other edge between the three.
func checkDependencies(ctx context.Context, t *testing.T, a *api) {
	type edge struct{ parent, child string }
	check := func(what string, counts map[edge]int) {
		t.Helper()
		for _, e := range []edge{{"service-a", "service-b"}, {"service-b", "service-c"}} {
			if counts[e] <= 0 {
				t.Errorf("%s: edge %s → %s has %d calls, want some (edges %v)", what, e.parent, e.child, counts[e], counts)
			}
		}
		for e := range counts {
			if e != (edge{"service-a", "service-b"}) && e != (edge{"service-b", "service-c"}) {
				t.Errorf("%s: edge %s → %s, want only a → b and b → c", what, e.parent, e.child)
			}
		}
	}
	var v1 struct {
		Data []struct {
			Parent    string `json:"parent"`
			Child     string `json:"child"`
			CallCount int    `json:"callCount"`
		} `json:"data"`
	}
	path := fmt.Sprintf("/api/dependencies?endTs=%d&lookback=%d", time.Now().Add(time.Minute).UnixMilli(), (10 * time.Minute).Milliseconds())
	if status, err := a.get(ctx, path, &v1); err != nil || status != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, status, err)
	}
	counts := map[edge]int{}
	for _, d := range v1.Data {
		counts[edge{d.Parent, d.Child}] += d.CallCount
	}
	check("v1 "+path, counts)

	var own struct {
		Dependencies []struct {
			Parent     string `json:"parent"`
			Child      string `json:"child"`
			CallCount  int    `json:"callCount"`
			ErrorCount int    `json:"errorCount"`
		} `json:"dependencies"`
	}
	path = "/api/tracer/dependencies?start=" + url.QueryEscape(time.Now().Add(-10*time.Minute).UTC().Format(time.RFC3339Nano))
	if status, err := a.get(ctx, path, &own); err != nil || status != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, status, err)
	}
	counts = map[edge]int{}
	for _, d := range own.Dependencies {
		counts[edge{d.Parent, d.Child}] += d.CallCount
		if d.ErrorCount < 0 || d.ErrorCount > d.CallCount {
			t.Errorf("%s: edge %s → %s: %d errors of %d calls", path, d.Parent, d.Child, d.ErrorCount, d.CallCount)
		}
	}
	check(path, counts)
}
