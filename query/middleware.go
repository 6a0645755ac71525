package query

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type ctxKey struct{}

// RequestIDHeader carries the request id in every answer. A request that
// brings one (from a proxy, say) keeps it when it is at most 64 letters,
// digits, '-', '_' or '.'.
const RequestIDHeader = "X-Request-Id"

// reqInfo is what the middleware knows of a request, in its context.
type reqInfo struct {
	id    string
	route string // the pattern the mux chose, once served
}

func infoFrom(r *http.Request) *reqInfo {
	info, _ := r.Context().Value(ctxKey{}).(*reqInfo)
	return info
}

// requestID returns the id middleware gave r, or "".
func requestID(r *http.Request) string {
	if info := infoFrom(r); info != nil {
		return info.id
	}
	return ""
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID reports whether a client's request id may be kept.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// statusWriter records the status written and the bytes.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush lets streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// apiMetrics are the API's own metrics.
type apiMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newAPIMetrics creates the metrics and registers them on reg, when set.
func newAPIMetrics(reg prometheus.Registerer) (*apiMetrics, error) {
	const ns = "tracer_query_"
	m := &apiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "requests_total",
			Help: "HTTP requests answered by the query API, by route pattern (\"none\" when no route matched) and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    ns + "request_duration_seconds",
			Help:    "Time to answer a query API request, by route pattern, until the last byte was written.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.duration} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	return m, nil
}

// middleware gives every request an id (in its context and the
// X-Request-Id answer header), a timeout, CORS headers when configured,
// recovery from a handler panic, metrics and a log line.
func (a *API) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{id: r.Header.Get(RequestIDHeader)}
		if !validRequestID(info.id) {
			info.id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, info.id)
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), ctxKey{}, info), a.cfg.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p != nil && p != http.ErrAbortHandler {
				a.log.Error("query handler panicked", "request_id", info.id, "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
				if sw.status == 0 {
					a.writeError(sw, r, errPanic)
				}
			}
			a.observe(r, info, sw, time.Since(start), p == http.ErrAbortHandler)
			if p == http.ErrAbortHandler {
				panic(p) // the server closes the connection: the answer was cut short
			}
		}()
		if a.cors(sw, r) {
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// errPanic is what a client sees of a handler's panic.
var errPanic = fmt.Errorf("handler panicked")

// observe counts the request and writes its log line.
func (a *API) observe(r *http.Request, info *reqInfo, sw *statusWriter, d time.Duration, aborted bool) {
	route := info.route
	if route == "" {
		route = "none"
	}
	status := sw.status
	if status == 0 {
		status = http.StatusOK // nothing written: net/http sends 200
	}
	a.metrics.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	a.metrics.duration.WithLabelValues(route).Observe(d.Seconds())
	level := slog.LevelInfo
	if status >= 500 || aborted {
		level = slog.LevelWarn
	}
	a.log.Log(r.Context(), level, "query request", "request_id", info.id, "method", r.Method, "path", r.URL.Path,
		"route", route, "status", status, "bytes", sw.bytes, "duration", d, "aborted", aborted)
}

// writeError answers err in the error shape of the API r's path belongs
// to: v3 under /api/v3/, Tracer's under /api/tracer/, Jaeger's v1
// envelope elsewhere.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := strings.TrimPrefix(r.URL.Path, a.cfg.BasePath)
	switch {
	case strings.HasPrefix(p, "/api/v3/"):
		a.writeV3Error(w, r, err)
	case strings.HasPrefix(p, "/api/tracer/"):
		a.writeTracerError(w, r, err)
	default:
		a.writeV1Error(w, r, err)
	}
}

// cors sets the CORS headers for r's origin when it is allowed, and answers
// a preflight request itself (then it returns true).
func (a *API) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	allowed := a.cfg.CORS.AllowedOrigins
	if origin == "" || len(allowed) == 0 {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	if !slices.Contains(allowed, "*") && !slices.Contains(allowed, origin) {
		return false
	}
	if slices.Contains(allowed, "*") {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	h.Set("Access-Control-Expose-Headers", RequestIDHeader)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		if len(a.cfg.CORS.AllowedHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(a.cfg.CORS.AllowedHeaders, ", "))
		}
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}
