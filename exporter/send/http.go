package send

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	contentTypeProto = "application/x-protobuf"
	// userAgent names the client in both protocols (gRPC appends its own).
	userAgent = "tracer-exporter-send"
	// maxResponse bounds how much of a response body is read.
	maxResponse = 64 << 10
)

type httpTransport struct {
	url     string
	client  *http.Client
	headers http.Header
	gzip    bool
	now     func() time.Time
}

func newHTTPTransport(ep Endpoint, cfg Config) (*httpTransport, error) {
	u, err := ep.traceURL()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if ep.TLS != nil {
		tr.TLSClientConfig = ep.TLS.Clone()
	}
	tr.MaxIdleConnsPerHost = 16
	tr.ResponseHeaderTimeout = cfg.Timeout
	h := make(http.Header, len(ep.Headers)+2)
	for k, v := range ep.Headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", contentTypeProto)
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", userAgent)
	}
	if ep.Compression == "gzip" {
		h.Set("Content-Encoding", "gzip")
	}
	return &httpTransport{url: u, client: &http.Client{Transport: tr}, headers: h, gzip: ep.Compression == "gzip", now: time.Now}, nil
}

var gzipPool = sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }}

func gzipBody(body []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(body) / 4)
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, _ = zw.Write(body) // a bytes.Buffer does not fail
	_ = zw.Close()
	gzipPool.Put(zw)
	return buf.Bytes()
}

func (t *httpTransport) export(ctx context.Context, body []byte, _ bool) (int64, string, error) {
	if t.gzip {
		body = gzipBody(body)
	}
	// net/http may read a request body after Do returns (RoundTrip's
	// doc); fencing it keeps the promise that Send does not keep body.
	rd := &fencedReader{b: body}
	defer rd.fence()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, rd)
	if err != nil {
		return 0, "", fmt.Errorf("build request: %w", err)
	}
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return rd.reopen(), nil }
	for k, v := range t.headers {
		req.Header[k] = v
	}
	resp, err := t.client.Do(req)
	if err != nil {
		// Refused, reset, timed out: what a down endpoint looks like.
		return 0, "", &retryableError{err: fmt.Errorf("post %s: %w", t.url, err)}
	}
	defer resp.Body.Close()
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		if rerr != nil || len(data) == 0 || !strings.HasPrefix(resp.Header.Get("Content-Type"), contentTypeProto) {
			// Accepted; a body we cannot read only loses the
			// partial success.
			return 0, "", nil
		}
		rejected, msg, err := parseResponse(data)
		if err != nil {
			return 0, "", nil
		}
		return rejected, msg, nil
	}
	e := fmt.Errorf("post %s: %s: %s", t.url, resp.Status, responseText(data))
	// As go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp/client.go
	// (UploadTraces, newResponseError, retryAfterDuration).
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return 0, "", &retryableError{err: e, delay: retryAfter(resp.Header.Get("Retry-After"), t.now())}
	}
	return 0, "", e
}

// responseText is an error response's body for an error message: the
// OTLP Status is protobuf, so only printable text is kept.
func responseText(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), ""))
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

// retryAfter parses a Retry-After header: seconds or an HTTP date; 0 when
// absent or malformed.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		const maxSeconds = int64(1<<63-1) / int64(time.Second)
		if n > maxSeconds {
			return time.Duration(1<<63 - 1)
		}
		return time.Duration(n) * time.Second
	}
	if d, err := http.ParseTime(v); err == nil {
		return max(d.Sub(now), 0)
	}
	return 0
}

// fencedReader reads b until fence is called; afterwards it reads nothing
// and never touches b again.
type fencedReader struct {
	mu     sync.Mutex
	b      []byte
	off    int
	fenced bool
	parent *fencedReader // the reader reopen was called on
}

var errFenced = errors.New("request body read after the attempt ended")

func (r *fencedReader) Read(p []byte) (int, error) {
	root := r
	if r.parent != nil {
		root = r.parent
	}
	root.mu.Lock()
	defer root.mu.Unlock()
	if root.fenced {
		return 0, errFenced
	}
	if r.off >= len(root.b) {
		return 0, io.EOF
	}
	n := copy(p, root.b[r.off:])
	r.off += n
	return n, nil
}

func (r *fencedReader) Close() error { return nil }

// reopen is a new reader of the same body for a redirect or a retry by
// net/http, fenced with r.
func (r *fencedReader) reopen() io.ReadCloser { return &fencedReader{parent: r} }

// fence waits for a Read in progress and stops all later ones.
func (r *fencedReader) fence() {
	r.mu.Lock()
	r.fenced = true
	r.b = nil
	r.mu.Unlock()
}

func (t *httpTransport) close() error {
	t.client.CloseIdleConnections()
	return nil
}

var _ transport = (*httpTransport)(nil)
var _ transport = (*grpcTransport)(nil)
