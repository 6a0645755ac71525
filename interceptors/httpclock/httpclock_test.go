package httpclock_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	otelprop "go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/interceptors/httpclock"
	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/vclock"
)

// work records a span of the handler's own.
func work(r *http.Request, tr trace.Tracer, name string) {
	_, s := tr.Start(r.Context(), name)
	s.End()
}

// TestResponseClock: A calls B, both with httpclock. Whichever way B's
// handler writes its response, the response carries B's clock, and A's
// span after the call is causally after everything B did for it.
func TestResponseClock(t *testing.T) {
	tests := []struct {
		name    string
		handler func(tr trace.Tracer, w http.ResponseWriter, r *http.Request)
		status  int
		body    string
		late    bool // B recorded a span "late" after its header was sent
	}{
		{"implicit 200", func(tr trace.Tracer, _ http.ResponseWriter, r *http.Request) {
			work(r, tr, "work")
		}, http.StatusOK, "", false},
		{"write", func(tr trace.Tracer, w http.ResponseWriter, r *http.Request) {
			work(r, tr, "work")
			_, _ = io.WriteString(w, "ok")
		}, http.StatusOK, "ok", false},
		{"explicit WriteHeader", func(tr trace.Tracer, w http.ResponseWriter, r *http.Request) {
			work(r, tr, "work")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, "made")
		}, http.StatusCreated, "made", false},
		{"500", func(tr trace.Tracer, w http.ResponseWriter, r *http.Request) {
			work(r, tr, "work")
			http.Error(w, "it broke", http.StatusInternalServerError)
		}, http.StatusInternalServerError, "it broke\n", false},
		{"ReadFrom", func(tr trace.Tracer, w http.ResponseWriter, r *http.Request) {
			work(r, tr, "work")
			// HTTP/1.1's writer has ReadFrom, HTTP/2's not (TestResponseWriter).
			if rf, ok := w.(io.ReaderFrom); ok {
				_, _ = rf.ReadFrom(strings.NewReader("copied"))
			} else {
				_, _ = io.WriteString(w, "copied")
			}
		}, http.StatusOK, "copied", false},
		{"early hints then 200", func(tr trace.Tracer, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			work(r, tr, "work") // after the 103: the final header must have it
			_, _ = io.WriteString(w, "ok")
		}, http.StatusOK, "ok", false},
		{"stream with Flush", func(tr trace.Tracer, w http.ResponseWriter, r *http.Request) {
			work(r, tr, "work")
			_, _ = io.WriteString(w, "a")
			http.NewResponseController(w).Flush()
			work(r, tr, "late") // after the header went: the trailer has it
			_, _ = io.WriteString(w, "b")
		}, http.StatusOK, "ab", true},
		{"Flush before writing", func(tr trace.Tracer, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			work(r, tr, "work")
			w.(http.Flusher).Flush() // sends the header, as a server of events does
			work(r, tr, "late")
			_, _ = io.WriteString(w, "data: x\n\n")
		}, http.StatusOK, "data: x\n\n", true},
	}
	for _, tt := range tests {
		for _, h2 := range []bool{false, true} {
			t.Run(tt.name+"/"+proto(h2), func(t *testing.T) {
				a, b := newNode(t, "a"), newNode(t, "b")
				tr := b.tp.Tracer("handler")
				srv := newServer(t, httpclock.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					tt.handler(tr, w, r)
				}), "b", otelhttp.WithTracerProvider(b.tp)), h2)
				var hints []http.Header
				c := &http.Client{Transport: httpclock.NewTransport(srv.Client().Transport, otelhttp.WithTracerProvider(a.tp),
					otelhttp.WithClientTrace(func(context.Context) *httptrace.ClientTrace {
						return &httptrace.ClientTrace{Got1xxResponse: func(_ int, h textproto.MIMEHeader) error {
							hints = append(hints, http.Header(h))
							return nil
						}}
					}))}
				res, body := a.call(t, c, srv.URL)
				if (res.ProtoMajor == 2) != h2 {
					t.Fatalf("served over %s", res.Proto)
				}
				if tt.name == "early hints then 200" && len(hints) != 1 {
					t.Errorf("got %d informational responses, want 1", len(hints))
				}
				if res.StatusCode != tt.status || body != tt.body {
					t.Errorf("got %d %q, want %d %q", res.StatusCode, body, tt.status, tt.body)
				}
				if res.Header.Get(propagation.Header) == "" {
					t.Errorf("response has no %s header", propagation.Header)
				}
				for _, h := range hints {
					if h.Get(propagation.Header) != "" {
						t.Errorf("an informational response carried the clock: %v", h)
					}
				}

				cs := clock(t, a.span(t, "", trace.SpanKindClient))
				after := clock(t, a.span(t, "after", trace.SpanKindInternal))
				ss := clock(t, b.span(t, "", trace.SpanKindServer))
				if got := vclock.CompareStarts(cs, ss); got != vclock.Before {
					t.Errorf("client span vs server span = %v, want before", got)
				}
				last := []string{"work"}
				if tt.late {
					last = append(last, "late")
				}
				for _, name := range last {
					w := clock(t, b.span(t, name, trace.SpanKindInternal))
					if got := vclock.Compare(w.End, after.Start); got != vclock.Before {
						t.Errorf("B's %s (end %v) vs A's later span (start %v) = %v, want before", name, w.End, after.Start, got)
					}
				}
			})
		}
	}
}

func proto(h2 bool) string {
	if h2 {
		return "HTTP/2"
	}
	return "HTTP/1.1"
}

// TestStreamFlush: a Flush through otelhttp's writer and Handler's sends
// the header, with the clock, while the handler is still running.
func TestStreamFlush(t *testing.T) {
	a, b := newNode(t, "a"), newNode(t, "b")
	proceed := make(chan struct{})
	timedOut := make(chan bool, 1)
	srv := b.serveClock(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		select {
		case <-proceed:
			timedOut <- false
		case <-time.After(10 * time.Second):
			timedOut <- true
		}
		_, _ = io.WriteString(w, " second")
	}))
	ctx, root := a.tp.Tracer("test").Start(context.Background(), "root")
	defer root.End()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.clockClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get(propagation.Header) == "" {
		t.Errorf("streamed response has no %s header", propagation.Header)
	}
	close(proceed)
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if <-timedOut {
		t.Fatal("the header came only when the handler returned: Flush did not flush")
	}
	if string(body) != "first second" {
		t.Errorf("body %q", body)
	}
}

// TestWithoutServerClock: B runs Tracer's SDK and otelhttp but not
// httpclock. The call works, nothing is merged and nothing is rejected.
func TestWithoutServerClock(t *testing.T) {
	a, b := newNode(t, "a"), newNode(t, "b")
	srv := serve(t, otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		work(r, b.tp.Tracer("handler"), "work")
		_, _ = io.WriteString(w, "ok")
	}), "b", otelhttp.WithTracerProvider(b.tp), otelhttp.WithPropagators(propagation.Default())))
	vc := propagation.NewVClock()
	c := client(t, func(base http.RoundTripper) http.RoundTripper {
		return otelhttp.NewTransport(httpclock.Transport(base, httpclock.WithVClock(vc)),
			otelhttp.WithTracerProvider(a.tp), otelhttp.WithPropagators(propagation.Default()))
	})
	res, body := a.call(t, c, srv.URL)
	if res.StatusCode != http.StatusOK || body != "ok" {
		t.Errorf("got %d %q", res.StatusCode, body)
	}
	if h := res.Header.Get(propagation.Header); h != "" {
		t.Errorf("response has %s %q", propagation.Header, h)
	}
	if n := vc.Rejected(); n != 0 {
		t.Errorf("Rejected() = %d, want 0", n)
	}
	after := clock(t, a.span(t, "after", trace.SpanKindInternal))
	if n := after.Start.Get("b"); n != 0 {
		t.Errorf("A's later span has B's entry %d though B sent no clock", n)
	}
	// The request's clock still went: B's server span follows A's call.
	cs := clock(t, a.span(t, "", trace.SpanKindClient))
	ss := clock(t, b.span(t, "", trace.SpanKindServer))
	if got := vclock.CompareStarts(cs, ss); got != vclock.Before {
		t.Errorf("client span vs server span = %v, want before", got)
	}
}

// TestMalformedClock: a response clock that is not one is ignored and
// counted; the call succeeds and A's clock keeps only its own entry.
func TestMalformedClock(t *testing.T) {
	tests := []struct {
		name    string
		opts    []propagation.VClockOption
		handler http.HandlerFunc
	}{
		{"garbage", nil, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set(propagation.Header, "not a clock")
		}},
		{"bad count", nil, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set(propagation.Header, "b:x")
		}},
		{"oversized", []propagation.VClockOption{propagation.WithMaxEntries(2)}, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set(propagation.Header, "x:1,y:2,z:3")
		}},
		{"garbage in the trailer", nil, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			w.Header().Set(http.TrailerPrefix+propagation.Header, "b:1,,")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newNode(t, "a")
			srv := serve(t, tt.handler)
			vc := propagation.NewVClock(tt.opts...)
			c := client(t, func(base http.RoundTripper) http.RoundTripper {
				return otelhttp.NewTransport(httpclock.Transport(base, httpclock.WithVClock(vc)),
					otelhttp.WithTracerProvider(a.tp), otelhttp.WithPropagators(propagation.Default()))
			})
			res, _ := a.call(t, c, srv.URL)
			if res.StatusCode != http.StatusOK {
				t.Errorf("status %d", res.StatusCode)
			}
			if n := vc.Rejected(); n != 1 {
				t.Errorf("Rejected() = %d, want 1", n)
			}
			if after := clock(t, a.span(t, "after", trace.SpanKindInternal)); after.Start.Len() != 1 {
				t.Errorf("A's later span has clock %v, want only A's entry", after.Start)
			}
		})
	}
}

// TestNoClock: without a span from Tracer's SDK, or any clock that came
// with the request, Handler sets no header.
func TestNoClock(t *testing.T) {
	plain := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewInMemoryExporter()))
	t.Cleanup(func() { _ = plain.Shutdown(context.Background()) })
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	tests := []struct {
		name string
		h    http.Handler
	}{
		{"no otelhttp", httpclock.Handler(ok)},
		{"plain OpenTelemetry SDK", httpclock.NewHandler(ok, "b", otelhttp.WithTracerProvider(plain))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.h)
			res, err := client(t, func(rt http.RoundTripper) http.RoundTripper { return rt }).Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if h := res.Header.Get(propagation.Header); h != "" {
				t.Errorf("response has %s %q", propagation.Header, h)
			}
		})
	}
}

// TestInterop: plain otelhttp (the OpenTelemetry SDK, W3C trace context)
// on either side of httpclock: the trace continues and nothing fails.
func TestInterop(t *testing.T) {
	newPlain := func(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
		exp := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		return tp, exp
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	t.Run("otelhttp client, httpclock server", func(t *testing.T) {
		tp, exp := newPlain(t)
		b := newNode(t, "b")
		srv := b.serveClock(t, ok)
		c := client(t, func(base http.RoundTripper) http.RoundTripper {
			return otelhttp.NewTransport(base, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(otelprop.TraceContext{}))
		})
		ctx, root := tp.Tracer("test").Start(context.Background(), "root")
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		root.End()
		if res.StatusCode != http.StatusOK {
			t.Errorf("status %d", res.StatusCode)
		}
		ss := b.span(t, "", trace.SpanKindServer)
		var cs sdktrace.ReadOnlySpan
		for _, s := range exp.GetSpans().Snapshots() {
			if s.SpanKind() == trace.SpanKindClient {
				cs = s
			}
		}
		if cs == nil || ss.Parent().SpanID() != cs.SpanContext().SpanID() || ss.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Error("the server span is not the child of otelhttp's client span")
		}
		// No clock came: the server's has its own entry only.
		if c := clock(t, ss).Start; c.Len() != 1 {
			t.Errorf("server clock %v, want only its own entry", c)
		}
	})
	t.Run("httpclock client, otelhttp server", func(t *testing.T) {
		tp, exp := newPlain(t)
		a := newNode(t, "a")
		srv := serve(t, otelhttp.NewHandler(ok, "b", otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(otelprop.TraceContext{})))
		res, body := a.call(t, a.clockClient(t), srv.URL)
		if res.StatusCode != http.StatusOK || body != "ok" {
			t.Errorf("got %d %q", res.StatusCode, body)
		}
		cs := a.span(t, "", trace.SpanKindClient)
		var ss sdktrace.ReadOnlySpan
		deadline := time.Now().Add(10 * time.Second)
		for ss == nil && time.Now().Before(deadline) {
			for _, s := range exp.GetSpans().Snapshots() {
				if s.SpanKind() == trace.SpanKindServer {
					ss = s
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		if ss == nil || ss.Parent().SpanID() != cs.SpanContext().SpanID() {
			t.Error("otelhttp's server span is not the child of the client span")
		}
		if after := clock(t, a.span(t, "after", trace.SpanKindInternal)); after.Start.Len() != 1 {
			t.Errorf("A's later span has clock %v, want only A's entry", after.Start)
		}
	})
}

// iface lists the optional interfaces a ResponseWriter implements.
func iface(w http.ResponseWriter) []string {
	var got []string
	if _, ok := w.(http.Flusher); ok {
		got = append(got, "Flusher")
	}
	if _, ok := w.(http.Hijacker); ok {
		got = append(got, "Hijacker")
	}
	if _, ok := w.(io.ReaderFrom); ok {
		got = append(got, "ReaderFrom")
	}
	if _, ok := w.(http.Pusher); ok {
		got = append(got, "Pusher")
	}
	if _, ok := w.(io.StringWriter); ok {
		got = append(got, "StringWriter")
	}
	return got
}

// TestResponseWriter: the writer a handler gets has the optional
// interfaces of the one Handler wraps (otelhttp's), over HTTP/1.1 and
// HTTP/2, and http.ResponseController reaches the connection.
func TestResponseWriter(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(proto(h2), func(t *testing.T) {
			b := newNode(t, "b")
			var outer, inner []string
			var deadlineErr error
			h := otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				outer = iface(w)
				httpclock.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					inner = iface(w)
					deadlineErr = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute))
					_, _ = io.WriteString(w, "ok")
				})).ServeHTTP(w, r)
			}), "b", otelhttp.WithTracerProvider(b.tp))
			srv := newServer(t, h, h2)
			res, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if (res.ProtoMajor == 2) != h2 {
				t.Fatalf("served over %s", res.Proto)
			}
			if strings.Join(inner, ",") != strings.Join(outer, ",") {
				t.Errorf("Handler's writer implements %v, the one it wraps %v", inner, outer)
			}
			if deadlineErr != nil {
				t.Errorf("ResponseController.SetWriteDeadline: %v", deadlineErr)
			}
			if res.Header.Get(propagation.Header) == "" {
				t.Errorf("response has no %s header", propagation.Header)
			}
		})
	}
}

// TestHijack: after a hijack Handler writes nothing more.
func TestHijack(t *testing.T) {
	b := newNode(t, "b")
	srv := b.serveClock(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		_ = rw.Flush()
	}))
	res, err := client(t, func(rt http.RoundTripper) http.RoundTripper { return rt }).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(bufio.NewReader(res.Body))
	_ = res.Body.Close()
	if string(body) != "hijacked" || res.Header.Get(propagation.Header) != "" {
		t.Errorf("got %q with clock %q, want the hijacker's response as written", body, res.Header.Get(propagation.Header))
	}
}

// TestTransportErrors: a failed round trip is returned as it is, and a
// nil base is http.DefaultTransport's behaviour.
func TestTransportErrors(t *testing.T) {
	srv := serve(t, http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	c := &http.Client{Transport: httpclock.Transport(&http.Transport{})}
	if _, err := c.Get(url); err == nil {
		t.Error("a request to a closed server succeeded")
	}
	if _, ok := httpclock.Transport(nil).(interface{ CloseIdleConnections() }); !ok {
		t.Error("Transport does not pass CloseIdleConnections on")
	}
}

// newServer starts h on 127.0.0.1, over TLS with HTTP/2 if h2.
func newServer(t *testing.T, h http.Handler, h2 bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	if h2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() {
		srv.Client().CloseIdleConnections()
		srv.Close()
	})
	return srv
}

// TestPropagatorOptions: NewTransport and NewHandler use Tracer's
// propagators, and the caller's otelhttp options win.
func TestPropagatorOptions(t *testing.T) {
	tests := []struct {
		name      string
		opts      []otelhttp.Option
		wantClock bool // the request carries the clock, and B's span has A's entry
	}{
		{"default", nil, true},
		{"caller's propagators", []otelhttp.Option{otelhttp.WithPropagators(otelprop.TraceContext{})}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newNode(t, "a"), newNode(t, "b")
			var got http.Header
			srv := serve(t, httpclock.NewHandler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got = r.Header.Clone()
			}), "b", append([]otelhttp.Option{otelhttp.WithTracerProvider(b.tp)}, tt.opts...)...))
			c := client(t, func(base http.RoundTripper) http.RoundTripper {
				return httpclock.NewTransport(base, append([]otelhttp.Option{otelhttp.WithTracerProvider(a.tp)}, tt.opts...)...)
			})
			a.call(t, c, srv.URL)
			if got.Get("traceparent") == "" {
				t.Error("the request has no traceparent")
			}
			if has := got.Get(propagation.Header) != ""; has != tt.wantClock {
				t.Errorf("request has %s: %v, want %v", propagation.Header, has, tt.wantClock)
			}
			ss := clock(t, b.span(t, "", trace.SpanKindServer))
			if has := ss.Start.Get("a") != 0; has != tt.wantClock {
				t.Errorf("B's server span clock %v has A's entry: %v, want %v", ss.Start, has, tt.wantClock)
			}
		})
	}
}
