package httpclock

import (
	"context"
	"io"
	"net/http"

	"github.com/felixge/httpsnoop"

	"github.com/tracerdev/tracer/propagation"
)

// header is propagation.Header as http.Header keys it.
var header = http.CanonicalHeaderKey(propagation.Header)

type config struct{ clock *propagation.VClock }

// Option configures Handler and Transport.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithVClock sets the clock propagator that checks and merges the clocks
// of responses, so that its Rejected counts the malformed ones a Transport
// ignored (default: a new one for each Transport; Handler only sends clocks
// and has no use for it). nil is ignored.
func WithVClock(v *propagation.VClock) Option {
	return optionFunc(func(c config) config {
		if v != nil {
			c.clock = v
		}
		return c
	})
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		c = o.apply(c)
	}
	if c.clock == nil {
		c.clock = propagation.NewVClock()
	}
	return c
}

// Handler returns h with the server's clock sent back: just before the
// response header is written (by WriteHeader, the first Write, Flush or
// ReadFrom, or when h returns without writing, so an implicit 200 has it
// too) it sets propagation.Header to the process's clock for the trace of
// the request's span. Work h does after the header went (a streamed body)
// is sent as a trailer of that name when the response can carry one
// (chunked HTTP/1.1, HTTP/2). Without a span from Tracer's SDK or a clock
// received with the request it sets nothing. Put it inside otelhttp's
// handler, whose span is in the request's context.
//
// The ResponseWriter h gets implements the same optional interfaces
// (http.Flusher, http.Hijacker, io.ReaderFrom, ...) as the one it wraps,
// and Unwrap for http.ResponseController.
func Handler(h http.Handler, opts ...Option) http.Handler {
	clock := newConfig(opts).clock
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &clockWriter{w: w, ctx: r.Context(), clock: clock}
		h.ServeHTTP(httpsnoop.Wrap(w, httpsnoop.Hooks{
			WriteHeader: cw.writeHeader,
			Write:       cw.write,
			Flush:       cw.flush,
			ReadFrom:    cw.readFrom,
			WriteString: cw.writeString,
		}), r)
		cw.finish()
	})
}

// clockWriter stamps the clock on one response. It lives as long as the
// request whose context it holds.
type clockWriter struct {
	w     http.ResponseWriter
	ctx   context.Context
	clock *propagation.VClock
	sent  string // the clock in the header, if one was set
	wrote bool   // the header is written
}

// stamp sets the header before the response's header is written.
func (cw *clockWriter) stamp() {
	if cw.wrote {
		return
	}
	cw.wrote = true
	if text, ok := cw.clock.ResponseClock(cw.ctx); ok {
		cw.w.Header()[header] = []string{text}
		cw.sent = text
	}
}

// finish runs when the handler returns: the header for a handler that
// wrote nothing, else a trailer when the clock moved since the header.
func (cw *clockWriter) finish() {
	if !cw.wrote {
		cw.stamp()
		return
	}
	if text, ok := cw.clock.ResponseClock(cw.ctx); ok && text != cw.sent {
		cw.w.Header().Set(http.TrailerPrefix+propagation.Header, text)
	}
}

func (cw *clockWriter) writeHeader(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
	return func(code int) {
		// Informational responses (but 101, which is final) precede the real
		// header, as net/http's response.WriteHeader treats them.
		if code >= 200 || code == http.StatusSwitchingProtocols {
			cw.stamp()
		}
		next(code)
	}
}

func (cw *clockWriter) write(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
	return func(b []byte) (int, error) {
		cw.stamp()
		return next(b)
	}
}

func (cw *clockWriter) writeString(next httpsnoop.WriteStringFunc) httpsnoop.WriteStringFunc {
	return func(s string) (int, error) {
		cw.stamp()
		return next(s)
	}
}

func (cw *clockWriter) flush(next httpsnoop.FlushFunc) httpsnoop.FlushFunc {
	return func() {
		cw.stamp()
		next()
	}
}

func (cw *clockWriter) readFrom(next httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
	return func(r io.Reader) (int64, error) {
		cw.stamp()
		return next(r)
	}
}

// Transport returns rt (http.DefaultTransport if nil) with the server's
// clock merged: when a response arrives, the clock in its
// propagation.Header is merged into the clock of the request's span, and
// for a response of unknown length (a stream) one in its trailer too when
// the body has been read to its end. Put it inside otelhttp's transport,
// whose client span is in the request's context. Malformed clocks are
// ignored and counted by the VClock (see WithVClock), never an error.
func Transport(rt http.RoundTripper, opts ...Option) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &transport{rt: rt, clock: newConfig(opts).clock}
}

type transport struct {
	rt    http.RoundTripper
	clock *propagation.VClock
}

var _ http.RoundTripper = (*transport)(nil)

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.rt.RoundTrip(req)
	if err != nil || res == nil {
		return res, err
	}
	ctx := req.Context()
	t.merge(ctx, res.Header)
	// Only a body of unknown length can end with trailers; a protocol
	// switch's body is the connection.
	if res.ContentLength < 0 && res.Body != nil && res.StatusCode != http.StatusSwitchingProtocols {
		res.Body = &trailerBody{ReadCloser: res.Body, res: res, ctx: ctx, t: t}
	}
	return res, nil
}

// CloseIdleConnections closes the idle connections of rt, if it keeps any,
// for http.Client.CloseIdleConnections.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (t *transport) merge(ctx context.Context, h http.Header) {
	for _, v := range h[header] {
		t.clock.MergeResponse(ctx, v)
	}
}

// trailerBody merges the clock in the response's trailer at the end of the
// body. It lives as long as the request whose context it holds.
type trailerBody struct {
	io.ReadCloser
	res  *http.Response
	ctx  context.Context
	t    *transport
	done bool
}

func (b *trailerBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		b.t.merge(b.ctx, b.res.Trailer)
	}
	return n, err
}
