package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/tracerdev/tracer/storage"
)

// ParamError is a bad request parameter: its message says which and what
// is wanted, never Go's parser text.
type ParamError struct {
	Name  string // the parameter
	Value string // as sent
	Want  string // what is accepted, e.g. "a non-negative integer"
}

func (e *ParamError) Error() string {
	v := e.Value
	if len(v) > maxShownValue { // a long value is shown cut, at a rune boundary
		n := maxShownValue
		for n > 0 && !utf8.RuneStart(v[n]) {
			n--
		}
		v = v[:n] + "..."
	}
	return fmt.Sprintf("parameter %s=%q: want %s", e.Name, v, e.Want)
}

// maxShownValue is the most bytes of a bad parameter's value an error
// message repeats.
const maxShownValue = 200

// bodyError is a request body that cannot be read: its message is shown
// with its status.
type bodyError struct {
	status int
	msg    string
}

func (e *bodyError) Error() string { return e.msg }

// badParam returns a *ParamError.
func badParam(name, value, want string) error {
	return &ParamError{Name: name, Value: value, Want: want}
}

// classify maps err to the HTTP status and the message the client sees.
// Errors about the request keep their text; anything else is logged with
// the request id and answered with a message that names only the id.
func (a *API) classify(r *http.Request, err error) (int, string) {
	var pe *ParamError
	var re *routeError
	var me *methodError
	var be *bodyError
	switch {
	case errors.As(err, &be):
		return be.status, be.msg
	case errors.Is(err, errPanic): // logged by the middleware
		return http.StatusInternalServerError, fmt.Sprintf("internal error: see the server log for request id %s", requestID(r))
	case errors.As(err, &re):
		return http.StatusNotFound, re.Error()
	case errors.As(err, &me):
		return http.StatusMethodNotAllowed, me.Error()
	case errors.As(err, &pe):
		return http.StatusBadRequest, pe.Error()
	case errors.Is(err, storage.ErrInvalidQuery):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, storage.ErrNotFound):
		return http.StatusNotFound, "trace not found"
	case errors.Is(err, context.DeadlineExceeded):
		a.log.Warn("query timed out", "request_id", requestID(r), "path", r.URL.Path, "timeout", a.cfg.RequestTimeout, "err", err)
		return http.StatusServiceUnavailable, fmt.Sprintf("the query took longer than %s: narrow the time range or the search (request id %s)", a.cfg.RequestTimeout, requestID(r))
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		return 499, "request canceled"
	}
	a.log.Error("query failed", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
	return http.StatusInternalServerError, fmt.Sprintf("internal error: see the server log for request id %s", requestID(r))
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("query: writing response", "err", err)
	}
}

// v1Response is Jaeger's v1 envelope (structuredResponse in Jaeger's
// cmd/jaeger/internal/extension/jaegerquery/internal/http_handler.go).
type v1Response struct {
	Data   any       `json:"data"`
	Total  int       `json:"total"`
	Limit  int       `json:"limit"`
	Offset int       `json:"offset"`
	Errors []v1Error `json:"errors"`
}

// v1Error is Jaeger's structuredError.
type v1Error struct {
	Code    int    `json:"code,omitempty"`
	Msg     string `json:"msg"`
	TraceID string `json:"traceID,omitempty"`
}

// writeV1Error answers err in the v1 envelope.
func (a *API) writeV1Error(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := a.classify(r, err)
	writeJSON(w, status, v1Response{Errors: []v1Error{{Code: status, Msg: msg}}})
}

// v3Error is the error shape of Jaeger's v3 HTTP gateway.
type v3Error struct {
	Error v3ErrorBody `json:"error"`
}

type v3ErrorBody struct {
	HTTPCode int    `json:"httpCode"`
	Message  string `json:"message"`
}

// writeV3Error answers err in the v3 shape.
func (a *API) writeV3Error(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := a.classify(r, err)
	writeJSON(w, status, v3Error{Error: v3ErrorBody{HTTPCode: status, Message: msg}})
}

// tracerError is the error shape of Tracer's own routes.
type tracerError struct {
	Error tracerErrorBody `json:"error"`
}

type tracerErrorBody struct {
	Code      int    `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestId"`
}

// writeTracerError answers err in the shape of Tracer's own routes.
func (a *API) writeTracerError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := a.classify(r, err)
	writeJSON(w, status, tracerError{Error: tracerErrorBody{Code: status, Message: msg, RequestID: requestID(r)}})
}

// parseDuration parses the value s of parameter name as a non-negative Go
// duration ("250ms", "1.5s", "1h"); every route's duration parameters go
// through it.
func parseDuration(name, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, badParam(name, s, "a non-negative duration with a unit, such as 250ms, 1.5s or 1h")
	}
	return d, nil
}
