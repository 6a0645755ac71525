package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tracerdev/tracer/examples/demo/demopb"
	"github.com/tracerdev/tracer/interceptors"
	"github.com/tracerdev/tracer/interceptors/httpclock"
	"github.com/tracerdev/tracer/vclock"
)

// fakeBusiness is service-b for service-a's tests: a real gRPC server
// traced by Tracer's interceptors, whose answers the query or data choose:
// "code:Unavailable" fails with that code, "block" waits for the caller's
// deadline, anything else succeeds.
type fakeBusiness struct {
	demopb.UnimplementedBusinessServer
}

func (fakeBusiness) Search(ctx context.Context, req *demopb.SearchRequest) (*demopb.SearchResponse, error) {
	if err := fakeOutcome(ctx, req.GetQuery()); err != nil {
		return nil, err
	}
	return &demopb.SearchResponse{Results: []*demopb.Record{
		{Key: req.GetQuery() + "-1", Value: "v1", Version: 1},
		{Key: req.GetQuery() + "-2", Value: "v2", Version: 3},
	}}, nil
}

func (fakeBusiness) Process(ctx context.Context, req *demopb.ProcessRequest) (*demopb.ProcessResponse, error) {
	if err := fakeOutcome(ctx, req.GetData()); err != nil {
		return nil, err
	}
	return &demopb.ProcessResponse{JobId: "job-" + req.GetData(), Attempts: 2}, nil
}

func fakeOutcome(ctx context.Context, in string) error {
	if in == "block" {
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	if name, ok := strings.CutPrefix(in, "code:"); ok {
		for c := codes.OK; c <= codes.Unauthenticated; c++ {
			if c.String() == name {
				return status.Error(c, "fake "+name)
			}
		}
	}
	return nil
}

// startFakeBusiness serves fakeBusiness on 127.0.0.1 with its own provider
// (node "svc-b") and returns its address and its spans; the spans are all
// there once the test's cleanup has run, or after stop.
func startFakeBusiness(t *testing.T) (addr string, spans recorder, stop func()) {
	t.Helper()
	spans = newRecorder()
	tp, err := NewProvider(t.Context(), "service-b", Telemetry{Exporter: spans, InstanceID: "svc-b"})
	if err != nil {
		t.Fatal(err)
	}
	// WaitForHandlers: Stop returns only after every handler, and with it
	// the stats handler's end of the server span, is done; without it the
	// span could end after tp.Shutdown and be lost (1 run in ~40 failed).
	opts := append(interceptors.ServerOptions(interceptors.WithTracerProvider(tp), interceptors.WithPropagators(Propagator())), grpc.WaitForHandlers(true))
	srv := grpc.NewServer(opts...)
	demopb.RegisterBusinessServer(srv, fakeBusiness{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			srv.Stop()
			<-done
			if err := tp.Shutdown(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return lis.Addr().String(), spans, stop
}

// startServiceA runs service-a on 127.0.0.1 (quiet unless cfg has a
// logger) and returns its base URL and a stop that checks it stopped
// cleanly.
func startServiceA(t *testing.T, cfg ServiceAConfig) (base string, stop func()) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	addr, stop := start(t, func(ctx context.Context, lis net.Listener) error { return RunServiceA(ctx, lis, cfg) })
	return "http://" + addr, stop
}

// get fetches base+path and returns the status and the body.
func get(t *testing.T, client *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestServiceAAnswers(t *testing.T) {
	addr, _, _ := startFakeBusiness(t)
	base, stop := startServiceA(t, ServiceAConfig{
		Telemetry: Telemetry{Exporter: newRecorder(), InstanceID: "svc-a"},
		ServiceB:  addr,
	})
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name      string
		path      string
		query     url.Values
		rawQuery  string // instead of query, when set
		status    int
		want      string // in the JSON answer's error, or a field of a 200
		wantField string
	}{
		{name: "search", path: "/api/v1/search", query: url.Values{"q": {"example"}}, status: 200, wantField: "results"},
		{name: "search at the query limit", path: "/api/v1/search", query: url.Values{"q": {long(maxQueryLen)}}, status: 200, wantField: "results"},
		{name: "process", path: "/api/v1/process", query: url.Values{"data": {"order-1=paid"}}, status: 200, wantField: "job_id"},
		{name: "search without q", path: "/api/v1/search", status: 400, want: "missing query parameter q"},
		{name: "search with empty q", path: "/api/v1/search", query: url.Values{"q": {""}}, status: 400, want: "missing query parameter q"},
		{name: "search with q too long", path: "/api/v1/search", query: url.Values{"q": {long(maxQueryLen + 1)}}, status: 400, want: fmt.Sprintf("q is %d bytes long, the limit is %d", maxQueryLen+1, maxQueryLen)},
		{name: "search with q not UTF-8", path: "/api/v1/search", rawQuery: "q=%ff%fe", status: 400, want: "q is not valid UTF-8"},
		{name: "process without data", path: "/api/v1/process", status: 400, want: "missing query parameter data"},
		{name: "process with data too long", path: "/api/v1/process", query: url.Values{"data": {long(maxDataLen + 1)}}, status: 400, want: fmt.Sprintf("data is %d bytes long, the limit is %d", maxDataLen+1, maxDataLen)},
		{name: "service-b unavailable", path: "/api/v1/search", query: url.Values{"q": {"code:Unavailable"}}, status: 503, want: "service-b: fake Unavailable"},
		{name: "service-b invalid argument", path: "/api/v1/process", query: url.Values{"data": {"code:InvalidArgument"}}, status: 400, want: "fake InvalidArgument"},
		{name: "service-b deadline exceeded", path: "/api/v1/search", query: url.Values{"q": {"code:DeadlineExceeded"}}, status: 504, want: "service-b: fake DeadlineExceeded"},
		{name: "service-b internal", path: "/api/v1/search", query: url.Values{"q": {"code:Internal"}}, status: 502, want: "service-b: fake Internal"},
		{name: "service-b not found", path: "/api/v1/process", query: url.Values{"data": {"code:NotFound"}}, status: 502, want: "service-b: fake NotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.rawQuery
			if raw == "" {
				raw = tt.query.Encode()
			}
			code, body, h := get(t, client, base+tt.path+"?"+raw)
			if code != tt.status {
				t.Fatalf("status %d (%s), want %d", code, body, tt.status)
			}
			if got := h.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q, want application/json", got)
			}
			var ans map[string]any
			if err := json.Unmarshal([]byte(body), &ans); err != nil {
				t.Fatalf("answer %q: %v", body, err)
			}
			if tt.status != 200 {
				msg, _ := ans["error"].(string)
				if !strings.Contains(msg, tt.want) {
					t.Errorf("error %q, want it to contain %q", msg, tt.want)
				}
				return
			}
			if _, ok := ans[tt.wantField]; !ok {
				t.Errorf("answer %s has no %q", body, tt.wantField)
			}
		})
	}

	t.Run("search answer", func(t *testing.T) {
		_, body, _ := get(t, client, base+"/api/v1/search?q=cart")
		var got searchAnswer
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		want := searchAnswer{Query: "cart", Results: []recordAnswer{{"cart-1", "v1", 1}, {"cart-2", "v2", 3}}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("process answer", func(t *testing.T) {
		_, body, _ := get(t, client, base+"/api/v1/process?data=d1")
		var got processAnswer
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		if want := (processAnswer{JobID: "job-d1", Attempts: 2}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("healthz", func(t *testing.T) {
		if code, body, _ := get(t, client, base+"/healthz"); code != 200 || body != "ok\n" {
			t.Errorf("got %d %q, want 200 \"ok\\n\"", code, body)
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		resp, err := client.Post(base+"/api/v1/search?q=x", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST: status %d, want 405", resp.StatusCode)
		}
	})

	client.CloseIdleConnections()
	stop()
}

// TestServiceATimeout: a call to service-b that outlasts the per-request
// timeout is a 504 (the fake service-b waits for the caller's deadline).
func TestServiceATimeout(t *testing.T) {
	addr, _, _ := startFakeBusiness(t)
	base, stop := startServiceA(t, ServiceAConfig{Telemetry: Telemetry{Exporter: newRecorder()}, ServiceB: addr, Timeout: 50 * time.Millisecond})
	client := &http.Client{Transport: &http.Transport{}}
	for _, path := range []string{"/api/v1/search?q=block", "/api/v1/process?data=block"} {
		t.Run(path, func(t *testing.T) {
			code, body, _ := get(t, client, base+path)
			if code != http.StatusGatewayTimeout || !strings.Contains(body, `"error":"service-b: `) {
				t.Errorf("got %d %s, want 504 with a JSON error about service-b", code, body)
			}
		})
	}
	client.CloseIdleConnections()
	stop()
}

func TestServiceAServiceBDown(t *testing.T) {
	// A port nothing listens on.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()

	spans := newRecorder()
	base, stop := startServiceA(t, ServiceAConfig{Telemetry: Telemetry{Exporter: spans}, ServiceB: addr})
	client := &http.Client{Transport: &http.Transport{}}
	for _, path := range []string{"/api/v1/search?q=example", "/api/v1/process?data=x"} {
		t.Run(path, func(t *testing.T) {
			code, body, _ := get(t, client, base+path)
			if code != http.StatusServiceUnavailable || !strings.Contains(body, `"error":"service-b:`) {
				t.Errorf("got %d %s, want 503 with a JSON error about service-b", code, body)
			}
		})
	}
	client.CloseIdleConnections()
	stop()
	srv := findSpan(t, spans.GetSpans(), "GET /api/v1/search", trace.SpanKindServer)
	wantAttrs(t, srv, attribute.Int("http.response.status_code", 503))
	if srv.Status.Code.String() != "Error" {
		t.Errorf("server span status %v, want Error", srv.Status)
	}
	cs := findSpan(t, spans.GetSpans(), "tracer.examples.demo.v1.Business/Search", trace.SpanKindClient)
	wantAttrs(t, cs, attribute.String("rpc.response.status_code", "UNAVAILABLE"))
}

func TestServiceASpans(t *testing.T) {
	addr, bSpans, stopB := startFakeBusiness(t)
	aSpans := newRecorder()
	base, stop := startServiceA(t, ServiceAConfig{Telemetry: Telemetry{Exporter: aSpans, InstanceID: "svc-a"}, ServiceB: addr})
	client := &http.Client{Transport: &http.Transport{}}
	for _, path := range []string{"/healthz", "/api/v1/search?q=example", "/api/v1/process?data=x", "/api/v1/search?q=code:Unavailable"} {
		if code, body, _ := get(t, client, base+path); code != 200 && code != 503 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
	}
	client.CloseIdleConnections()
	stop()
	stopB()
	a, b := aSpans.GetSpans(), bSpans.GetSpans()
	if len(a) != 6 {
		t.Errorf("service-a made %d spans, want 6 (a server and a client span for each of 3 API calls; /healthz untraced): %v", len(a), names(a))
	}

	tests := []struct {
		name, route, method string
		status              int // http.response.status_code
		rpcStatus           string
	}{
		{name: "search", route: "/api/v1/search", method: "Search", status: 200, rpcStatus: "OK"},
		{name: "process", route: "/api/v1/process", method: "Process", status: 200, rpcStatus: "OK"},
		{name: "search unavailable", route: "/api/v1/search", method: "Search", status: 503, rpcStatus: "UNAVAILABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv tracetest.SpanStub
			for _, s := range a {
				path, _ := attr(s, "url.path")
				code, _ := attr(s, "http.response.status_code")
				if s.SpanKind == trace.SpanKindServer && path.AsString() == tt.route && code.AsInt64() == int64(tt.status) {
					srv = s
				}
			}
			if srv.Name == "" {
				t.Fatalf("no server span for %s with status %d among %v", tt.route, tt.status, names(a))
			}
			if want := "GET " + tt.route; srv.Name != want {
				t.Errorf("server span name %q, want %q", srv.Name, want)
			}
			if srv.Parent.IsValid() {
				t.Errorf("server span has parent %v, want a root", srv.Parent.SpanID())
			}
			wantAttrs(t, srv,
				attribute.String("http.route", tt.route),
				attribute.String("http.request.method", "GET"),
				attribute.Int("http.response.status_code", tt.status),
				attribute.String("url.path", tt.route),
			)

			cs := childOf(t, a, srv)
			fullMethod := "tracer.examples.demo.v1.Business/" + tt.method
			if cs.Name != fullMethod || cs.SpanKind != trace.SpanKindClient {
				t.Errorf("child span %q %v, want %q client", cs.Name, cs.SpanKind, fullMethod)
			}
			wantAttrs(t, cs,
				attribute.String("rpc.system.name", "grpc"),
				attribute.String("rpc.method", fullMethod),
				attribute.String("rpc.response.status_code", tt.rpcStatus),
			)

			bs := childOf(t, b, cs)
			if bs.SpanKind != trace.SpanKindServer || bs.Name != fullMethod {
				t.Errorf("service-b span %q %v, want %q server", bs.Name, bs.SpanKind, fullMethod)
			}
			// The response clock: what service-a did after the call (the
			// client span's end, the server span's end) happened after
			// everything service-b did.
			bEnd := clock(t, bs).End
			for _, s := range []tracetest.SpanStub{cs, srv} {
				if got := vclock.Compare(bEnd, clock(t, s).End); got != vclock.Before {
					t.Errorf("service-b's span end vs %s's end: %v, want Before", s.Name, got)
				}
			}
			if got := vclock.Compare(clock(t, srv).Start, clock(t, bs).Start); got != vclock.Before {
				t.Errorf("service-a's server span start vs service-b's: %v, want Before", got)
			}
		})
	}
}

func TestServiceALogAndConfig(t *testing.T) {
	t.Run("start line", func(t *testing.T) {
		var buf syncBuffer
		_, stop := startServiceA(t, ServiceAConfig{
			Telemetry: Telemetry{Exporter: newRecorder()},
			ServiceB:  "127.0.0.1:1",
			Logger:    slog.New(slog.NewTextHandler(&buf, nil)),
		})
		stop()
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 1 {
			t.Fatalf("logged %d lines, want 1: %q", len(lines), lines)
		}
		for _, want := range []string{"service-a listening", "addr=http://127.0.0.1:", "service-b=127.0.0.1:1", `spans="in-process exporter"`} {
			if !strings.Contains(lines[0], want) {
				t.Errorf("start line %q has no %q", lines[0], want)
			}
		}
	})
	for _, tt := range []struct {
		name string
		cfg  ServiceAConfig
		want string
	}{
		{name: "no service-b", cfg: ServiceAConfig{Telemetry: Telemetry{Exporter: newRecorder()}}, want: "service-a: no service-b address"},
		{name: "negative timeout", cfg: ServiceAConfig{Telemetry: Telemetry{Exporter: newRecorder()}, ServiceB: "localhost:1", Timeout: -time.Second}, want: "service-a: timeout -1s: want 0 (the default) or more"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			err = RunServiceA(t.Context(), lis, tt.cfg)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
			if _, err := lis.Accept(); err == nil {
				t.Error("listener still open, want RunServiceA to close it")
			}
		})
	}
}

// syncBuffer is a bytes.Buffer for a logger on another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func findSpan(t *testing.T, spans tracetest.SpanStubs, name string, kind trace.SpanKind) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name && s.SpanKind == kind {
			return s
		}
	}
	t.Fatalf("no %v span %q among %v", kind, name, names(spans))
	return tracetest.SpanStub{}
}

// childOf returns the one span of spans whose parent is p.
func childOf(t *testing.T, spans tracetest.SpanStubs, p tracetest.SpanStub) tracetest.SpanStub {
	t.Helper()
	found := children(spans, p)
	if len(found) != 1 {
		t.Fatalf("%d children of %q, want 1: %v", len(found), p.Name, names(found))
	}
	return found[0]
}

// TestServiceAResponseClock calls service-a from a traced HTTP client: with
// httpclock's transport the client merges service-a's response clock, so
// what it does after the call follows everything service-a and service-b
// did; with plain otelhttp it does not (the control that shows the check
// can fail).
func TestServiceAResponseClock(t *testing.T) {
	tests := []struct {
		name      string
		transport func(tp trace.TracerProvider) http.RoundTripper
		want      vclock.Order // service-a's server span end vs the client's later span
	}{
		{
			name: "httpclock transport",
			transport: func(tp trace.TracerProvider) http.RoundTripper {
				return httpclock.NewTransport(&http.Transport{}, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(Propagator()))
			},
			want: vclock.Before,
		},
		{
			name: "plain otelhttp transport",
			transport: func(tp trace.TracerProvider) http.RoundTripper {
				return otelhttp.NewTransport(&http.Transport{}, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(Propagator()))
			},
			want: vclock.Concurrent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, bSpans, stopB := startFakeBusiness(t)
			aSpans := newRecorder()
			base, stop := startServiceA(t, ServiceAConfig{Telemetry: Telemetry{Exporter: aSpans, InstanceID: "svc-a"}, ServiceB: addr})
			cSpans := newRecorder()
			ctp, err := NewProvider(t.Context(), "client", Telemetry{Exporter: cSpans, InstanceID: "client"})
			if err != nil {
				t.Fatal(err)
			}
			client := &http.Client{Transport: tt.transport(ctp)}

			tracer := ctp.Tracer("test")
			ctx, parent := tracer.Start(t.Context(), "parent")
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/search?q=example", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			_, after := tracer.Start(ctx, "after")
			after.End()
			parent.End()

			client.CloseIdleConnections()
			if err := ctp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			stop()
			stopB()

			c := cSpans.GetSpans()
			cs := findSpan(t, c, "HTTP GET", trace.SpanKindClient)
			srv := childOf(t, aSpans.GetSpans(), cs)
			if srv.Name != "GET /api/v1/search" || srv.SpanKind != trace.SpanKindServer {
				t.Errorf("the client span's child is %q %v, want service-a's server span", srv.Name, srv.SpanKind)
			}
			bs := childOf(t, bSpans.GetSpans(), childOf(t, aSpans.GetSpans(), srv))
			later := clock(t, findSpan(t, c, "after", trace.SpanKindInternal)).Start
			if got := vclock.Compare(clock(t, srv).End, later); got != tt.want {
				t.Errorf("service-a's server span end vs the client's later span: %v, want %v", got, tt.want)
			}
			if got := vclock.Compare(clock(t, bs).End, later); got != tt.want {
				t.Errorf("service-b's server span end vs the client's later span: %v, want %v", got, tt.want)
			}
		})
	}
}

// TestServiceAOverRealServices runs service-a in front of the real
// service-b and service-c: a search is one trace a -> b -> c whose spans
// are linked parent to child, and whose clocks put everything service-b and
// service-c did before service-a's answer.
func TestServiceAOverRealServices(t *testing.T) {
	aSpans, bSpans, cSpans := newRecorder(), newRecorder(), newRecorder()
	cAddr, stopC := start(t, func(ctx context.Context, lis net.Listener) error {
		return RunServiceC(ctx, lis, ServiceCConfig{Telemetry: Telemetry{Exporter: cSpans, InstanceID: "svc-c"}, Logger: quiet})
	})
	bAddr, stopB := start(t, func(ctx context.Context, lis net.Listener) error {
		return RunServiceB(ctx, lis, ServiceBConfig{Telemetry: Telemetry{Exporter: bSpans, InstanceID: "svc-b"}, ServiceC: cAddr, Logger: quiet})
	})
	base, stopA := startServiceA(t, ServiceAConfig{Telemetry: Telemetry{Exporter: aSpans, InstanceID: "svc-a"}, ServiceB: bAddr})

	client := &http.Client{Transport: &http.Transport{}}
	for _, q := range []string{"example", "pay*", "cart order"} {
		if code, body, _ := get(t, client, base+"/api/v1/search?q="+url.QueryEscape(q)); code != 200 || !strings.Contains(body, `"results":[`) {
			t.Fatalf("search %q: %d %s", q, code, body)
		}
	}
	if code, body, _ := get(t, client, base+"/api/v1/process?data=order-1%3Dpaid"); code != 200 || !strings.Contains(body, `"job_id":"`) {
		t.Fatalf("process: %d %s", code, body)
	}
	client.CloseIdleConnections()
	stopA()
	stopB()
	stopC()

	a, b, c := aSpans.GetSpans(), bSpans.GetSpans(), cSpans.GetSpans()
	roots := 0
	for _, srv := range a {
		if srv.SpanKind != trace.SpanKindServer {
			continue
		}
		roots++
		t.Run(fmt.Sprintf("%s #%d", srv.Name, roots), func(t *testing.T) {
			if srv.Parent.IsValid() {
				t.Errorf("service-a's server span has a parent, want a root")
			}
			bServer := childOf(t, b, childOf(t, a, srv))
			// Every service-c span of the trace sits under a service-b
			// client span.
			bClients := map[trace.SpanID]bool{}
			for _, s := range b {
				if s.SpanKind == trace.SpanKindClient && s.SpanContext.TraceID() == srv.SpanContext.TraceID() {
					bClients[s.SpanContext.SpanID()] = true
				}
			}
			var cServers []tracetest.SpanStub
			for _, s := range c {
				if s.SpanKind == trace.SpanKindServer && s.SpanContext.TraceID() == srv.SpanContext.TraceID() {
					cServers = append(cServers, s)
					if !bClients[s.Parent.SpanID()] {
						t.Errorf("service-c span %q is not under a service-b client span", s.Name)
					}
				}
			}
			if len(cServers) == 0 {
				t.Fatal("no service-c span in the trace")
			}
			if srv.Name != "GET /api/v1/search" {
				return // Process hands work to a background worker that may outlive the answer
			}
			aEnd := clock(t, srv).End
			for _, s := range append(cServers, bServer) {
				if got := vclock.Compare(clock(t, s).End, aEnd); got != vclock.Before {
					t.Errorf("%s's %q end vs service-a's answer: %v, want Before", service(s), s.Name, got)
				}
			}
		})
	}
	if roots != 4 {
		t.Errorf("service-a made %d server spans, want 4", roots)
	}
}
