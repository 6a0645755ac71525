package query

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

type ctxKey struct{}

// RequestIDHeader carries the request id in every answer.
const RequestIDHeader = "X-Request-Id"

// requestID returns the id middleware gave r, or "".
func requestID(r *http.Request) string {
	id, _ := r.Context().Value(ctxKey{}).(string)
	return id
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter records the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
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
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware gives every request an id (in its context and the
// X-Request-Id answer header), a timeout, CORS headers when configured,
// recovery from a handler panic, and a log line.
func (a *API) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		w.Header().Set(RequestIDHeader, id)
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), ctxKey{}, id), a.cfg.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		if a.cors(w, r) {
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.log.Error("query handler panicked", "request_id", id, "path", r.URL.Path, "panic", fmt.Sprint(p))
				if sw.status == 0 {
					writeJSON(sw, http.StatusInternalServerError, tracerError{Error: tracerErrorBody{
						Code: http.StatusInternalServerError, Message: "internal error: see the server log for request id " + id, RequestID: id}})
				}
			}
			a.log.Debug("query request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"status", sw.status, "duration", time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

// cors sets the CORS headers for r's origin when it is allowed, and answers
// a preflight request itself (then it returns true).
func (a *API) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	allowed := a.cfg.CORS.AllowedOrigins
	if origin == "" || len(allowed) == 0 {
		return false
	}
	if !slices.Contains(allowed, "*") && !slices.Contains(allowed, origin) {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	if slices.Contains(allowed, "*") {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	h.Set("Access-Control-Expose-Headers", RequestIDHeader)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
		if len(a.cfg.CORS.AllowedHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(a.cfg.CORS.AllowedHeaders, ", "))
		}
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}
