package collector

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/collector/otlp"
)

const (
	transportHTTP = "http"
	ctProtobuf    = "application/x-protobuf"
	ctJSON        = "application/json"
)

func (o *OTLPReceiver) newHTTPServer() *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", o.handleTraces)
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       o.cfg.HTTP.ReadTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

// bufPool holds request body buffers; buffers that grew past maxPooled are
// left to the garbage collector so the pool stays small.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooled = 4 << 20

func getBuf() *bytes.Buffer { b := bufPool.Get().(*bytes.Buffer); b.Reset(); return b }

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooled {
		bufPool.Put(b)
	}
}

// handleTraces is OTLP/HTTP's POST /v1/traces: protobuf or JSON, gzip or
// not. It answers in the request's content type.
func (o *OTLPReceiver) handleTraces(w http.ResponseWriter, r *http.Request) {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isJSON := err == nil && ct == ctJSON
	if err != nil || (ct != ctProtobuf && ct != ctJSON) {
		o.httpError(w, false, o.reject(transportHTTP, kindMediaType, reasonMediaType,
			fmt.Sprintf("unsupported content type %q: use %s or %s", r.Header.Get("Content-Type"), ctProtobuf, ctJSON)))
		return
	}
	gz := false
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		gz = true
	default:
		o.httpError(w, isJSON, o.reject(transportHTTP, kindMediaType, reasonMediaType,
			fmt.Sprintf("unsupported content encoding %q: use gzip or none", enc)))
		return
	}
	max := int64(o.lim.MaxRequestBytes)
	if r.ContentLength > max {
		o.httpError(w, isJSON, o.reject(transportHTTP, kindTooLarge, reasonTooLarge,
			fmt.Sprintf("request of %d bytes exceeds the limit of %d", r.ContentLength, max)))
		return
	}

	// Reserve memory before reading: the declared length, or the limit
	// when it is unknown; gzip reserves the limit again for the output.
	reserve := max
	if r.ContentLength >= 0 {
		reserve = r.ContentLength
	}
	if gz {
		reserve += max
	}
	// One request alone is always admitted: Validate makes the cap at
	// least max.
	reserve = min(reserve, o.lim.MaxInflightBytes)
	if !o.acquire(reserve) {
		o.httpError(w, isJSON, o.reject(transportHTTP, kindRetryable, reasonBackpressure,
			"collector is at its in-flight memory cap, retry later"))
		return
	}
	defer o.release(reserve)

	buf := getBuf()
	defer putBuf(buf)
	if ierr := readBody(buf, r.Body, gz, max); ierr != nil {
		o.httpError(w, isJSON, o.reject(transportHTTP, ierr.kind, ierr.reason, ierr.msg))
		return
	}
	body := buf.Bytes()
	if isJSON {
		// Decoding OTLP/JSON allocates up to otlp.JSONCost of the body:
		// reserve it before decoding, capped so that one request alone is
		// still admitted.
		extra := min(otlp.JSONCost(len(body)), o.lim.MaxInflightBytes-reserve)
		if !o.acquire(extra) {
			o.httpError(w, true, o.reject(transportHTTP, kindRetryable, reasonBackpressure,
				"collector is at its in-flight memory cap, retry later"))
			return
		}
		defer o.release(extra)
		body, err = otlp.FromJSON(body)
		if err != nil {
			o.httpError(w, true, o.reject(transportHTTP, kindMalformed, reasonMalformed, "malformed OTLP/JSON: "+err.Error()))
			return
		}
	}
	res, err := o.ingest(r.Context(), transportHTTP, body)
	if err != nil {
		o.httpError(w, isJSON, err)
		return
	}
	o.httpOK(w, isJSON, res)
}

// readBody reads at most max bytes of (possibly gzipped) body into buf.
func readBody(buf *bytes.Buffer, body io.Reader, gz bool, max int64) *intakeError {
	tooLarge := &intakeError{kind: kindTooLarge, reason: reasonTooLarge, msg: fmt.Sprintf("request exceeds the limit of %d bytes", max)}
	src := io.LimitReader(body, max+1)
	if gz {
		raw := getBuf()
		defer putBuf(raw)
		if _, err := raw.ReadFrom(src); err != nil {
			return &intakeError{kind: kindMalformed, reason: reasonMalformed, msg: "read body: " + err.Error()}
		}
		if int64(raw.Len()) > max {
			return tooLarge
		}
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return &intakeError{kind: kindMalformed, reason: reasonMalformed, msg: "malformed gzip: " + err.Error()}
		}
		src = io.LimitReader(zr, max+1)
	}
	if _, err := buf.ReadFrom(src); err != nil {
		return &intakeError{kind: kindMalformed, reason: reasonMalformed, msg: "read body: " + err.Error()}
	}
	if int64(buf.Len()) > max {
		return tooLarge
	}
	return nil
}

func (o *OTLPReceiver) httpOK(w http.ResponseWriter, isJSON bool, res otlp.ScanResult) {
	if !isJSON {
		w.Header().Set("Content-Type", ctProtobuf)
		w.WriteHeader(http.StatusOK)
		if res.Rejected > 0 {
			w.Write(otlp.ResponseBytes(res.Rejected, res.Reason))
		}
		return
	}
	resp := &coltracepb.ExportTraceServiceResponse{}
	if res.Rejected > 0 {
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{RejectedSpans: int64(res.Rejected), ErrorMessage: res.Reason}
	}
	b, err := protojson.Marshal(resp)
	if err != nil {
		o.log.Error("encode json response", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctJSON)
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// httpError answers with OTLP/HTTP's error shape: a google.rpc.Status in the
// request's encoding, and Retry-After on retryable errors.
func (o *OTLPReceiver) httpError(w http.ResponseWriter, isJSON bool, err error) {
	var ie *intakeError
	if !errors.As(err, &ie) {
		ie = &intakeError{kind: kindRetryable, msg: err.Error()}
	}
	code, st := http.StatusBadRequest, codes.InvalidArgument
	switch ie.kind {
	case kindTooLarge:
		code, st = http.StatusRequestEntityTooLarge, codes.InvalidArgument
	case kindMediaType:
		code, st = http.StatusUnsupportedMediaType, codes.InvalidArgument
	case kindRetryable:
		code, st = http.StatusServiceUnavailable, codes.Unavailable
		secs := int((o.lim.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	msg := &spb.Status{Code: int32(st), Message: ie.msg}
	var b []byte
	if isJSON {
		b, _ = protojson.Marshal(msg)
		w.Header().Set("Content-Type", ctJSON)
	} else {
		b, _ = proto.Marshal(msg)
		w.Header().Set("Content-Type", ctProtobuf)
	}
	w.WriteHeader(code)
	w.Write(b)
}
