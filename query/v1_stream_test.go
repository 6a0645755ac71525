package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tracerdev/tracer/storage"
)

// v1GenStore streams a generated trace of n spans (built batch by batch,
// never whole) and records, when each batch is asked for, how many bytes
// of the answer the client has read and, at the middle batch, the heap in
// use.
type v1GenStore struct {
	storage.ReadStore // nil: only StreamTrace is called
	id                storage.TraceID
	n                 int
	truncated         bool
	failAt            int // the batch at which StreamTrace fails; -1: never
	batch             int // spans per batch; 0: storage.MaxStreamBatch

	received  *atomic.Int64 // bytes the client has read
	atBatch   []int64
	heapAtMid uint64
}

func (g *v1GenStore) StreamTrace(ctx context.Context, id storage.TraceID, fn func([]storage.Span) error) (bool, error) {
	if id != g.id {
		return false, storage.ErrNotFound
	}
	res := v1Res("gen", storage.Attribute{Key: "host.name", Type: storage.TypeString, Value: "gen-1"})
	size := storage.MaxStreamBatch
	if g.batch > 0 {
		size = g.batch
	}
	batches := (g.n + size - 1) / size
	for b := 0; b < batches; b++ {
		if b == g.failAt {
			return false, errors.New("disk on fire")
		}
		g.atBatch = append(g.atBatch, g.received.Load())
		if b == batches/2 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			g.heapAtMid = ms.HeapAlloc
		}
		batch := make([]storage.Span, 0, size)
		for i := b * size; i < min(g.n, (b+1)*size); i++ {
			start := v1Now.UnixNano() + int64(i)*1000
			batch = append(batch, storage.Span{
				TraceID: id, SpanID: storage.SpanID{0x77, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), 1},
				ParentSpanID: storage.SpanID{0x77, 0, 0, 0, 0, 1},
				Name:         "op-" + strconv.Itoa(i%50), Kind: storage.KindInternal,
				StartTime: start, EndTime: start + 5000,
				Service: "gen", Resource: res,
				Attributes: []storage.Attribute{
					{Key: "i", Type: storage.TypeInt, Value: strconv.Itoa(i)},
					{Key: "component", Type: storage.TypeString, Value: "generator"},
					{Key: "db.statement", Type: storage.TypeString, Value: "SELECT * FROM t WHERE id = ?"},
				},
				Events: []storage.Event{{Time: start + 1, Name: "tick"}},
			})
		}
		if err := fn(batch); err != nil {
			return false, err
		}
	}
	return g.truncated, nil
}

// v1CountingReader counts the bytes read through it.
type v1CountingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c v1CountingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// v1CountSpans counts the spans of an answer as it streams by (the
// "operationName" keys; cheap enough to read 100,000 spans under the race
// detector) and returns its last bytes.
func v1CountSpans(r io.Reader) (spans int, tail []byte, err error) {
	key := []byte(`"operationName":`)
	buf := make([]byte, 32<<10)
	var carry []byte
	for {
		n, err := r.Read(buf)
		chunk := append(carry, buf[:n]...)
		spans += bytes.Count(chunk, key)
		// Keep what could begin a key cut by the chunk boundary, and the tail.
		keep := max(len(key)-1, 64)
		if len(chunk) > keep {
			chunk = chunk[len(chunk)-keep:]
		}
		// Do not count a key twice: it can only be whole in the kept part
		// if it was counted already, so drop whole keys from it.
		if i := bytes.LastIndex(chunk, key); i >= 0 {
			tail = append(tail[:0], chunk...)
			chunk = chunk[i+len(key):]
		} else {
			tail = append(tail[:0], chunk...)
		}
		carry = append([]byte(nil), chunk...)
		if err == io.EOF {
			return spans, tail, nil
		}
		if err != nil {
			return spans, tail, err
		}
	}
}

// v1ReadSpans reads a one-trace answer span by span (never holding it
// whole), checking that the JSON is complete, and returns the number of
// spans.
func v1ReadSpans(t *testing.T, body io.Reader) (spans int, err error) {
	t.Helper()
	d := json.NewDecoder(body)
	want := func(w json.Token) error {
		tok, err := d.Token()
		if err == nil && tok != w {
			err = fmt.Errorf("token %v, want %v", tok, w)
		}
		return err
	}
	for _, w := range []json.Token{json.Delim('{'), "data", json.Delim('['), json.Delim('{'), "traceID"} {
		if err := want(w); err != nil {
			return 0, err
		}
	}
	if _, err := d.Token(); err != nil {
		return 0, err
	}
	for _, w := range []json.Token{"spans", json.Delim('[')} {
		if err := want(w); err != nil {
			return 0, err
		}
	}
	for d.More() {
		var s struct {
			OperationName string `json:"operationName"`
		}
		if err := d.Decode(&s); err != nil {
			return spans, err
		}
		if s.OperationName == "" {
			return spans, fmt.Errorf("span %d has no operationName", spans)
		}
		spans++
	}
	// The rest: processes, warnings, the envelope's end.
	var rest []json.Token
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return spans, err
		}
		rest = append(rest, tok)
	}
	if len(rest) < 4 || rest[len(rest)-1] != json.Delim('}') {
		return spans, fmt.Errorf("answer ends with %v", rest)
	}
	return spans, nil
}

func TestV1TraceStreams100kSpans(t *testing.T) {
	const n = 100_000
	received := &atomic.Int64{}
	gen := &v1GenStore{id: storage.TraceID{0x77, 15: 1}, n: n, failAt: -1, received: received}
	e := newV1EnvStore(t, DefaultConfig(), gen, nil)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	resp, err := e.srv.Client().Get(e.srv.URL + "/api/traces/" + gen.id.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	spans, tail, err := v1CountSpans(v1CountingReader{resp.Body, received})
	if err != nil {
		t.Fatal(err)
	}
	if want := "\"errors\":null}\n"; !strings.HasSuffix(string(tail), want) {
		t.Errorf("answer ends with %q, want %q", tail, want)
	}
	total := received.Load()
	t.Logf("%d spans, %.1f MB; client had read %.1f MB when the last batch was asked for; heap at the middle batch %+.1f MB",
		spans, float64(total)/1e6, float64(gen.atBatch[len(gen.atBatch)-1])/1e6,
		(float64(gen.heapAtMid)-float64(before.HeapAlloc))/1e6)
	if spans != n {
		t.Fatalf("%d spans read, want %d", spans, n)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// Written as it came: before the store yielded its last batch, the
	// client had read most of the answer already.
	if last := gen.atBatch[len(gen.atBatch)-1]; last < total/2 {
		t.Errorf("the client had read %d of %d bytes before the last batch: the answer is not streamed", last, total)
	}
	// Bounded: in the middle of the stream the heap holds far less than the
	// answer (a whole trace in memory would hold all of it, and more).
	if grown := int64(gen.heapAtMid) - int64(before.HeapAlloc); grown > total/8 {
		t.Errorf("heap grew by %d bytes mid-stream for a %d-byte answer: not bounded by a batch", grown, total)
	}
}

func TestV1TraceStreamEnds(t *testing.T) {
	id := storage.TraceID{0x77, 15: 2}
	t.Run("truncated: the warning is on the first span", func(t *testing.T) {
		received := &atomic.Int64{}
		gen := &v1GenStore{id: id, n: 2500, truncated: true, failAt: -1, received: received}
		e := newV1EnvStore(t, DefaultConfig(), gen, nil)
		ans := e.get("/api/traces/" + id.String())
		tr := v1Envelope(t, ans)["data"].([]any)[0].(map[string]any)
		warned := 0
		for _, s := range tr["spans"].([]any) {
			s := s.(map[string]any)
			if s["warnings"] == nil {
				continue
			}
			warned++
			v1ExpectJSON(t, s["warnings"], `["trace has more than 2500 spans, showing first 2500 spans only"]`)
			if s["spanID"] != "7700000000010000" {
				t.Errorf("warning on span %v, want the first one the store gave", s["spanID"])
			}
		}
		if warned != 1 || len(tr["spans"].([]any)) != 2500 {
			t.Errorf("%d warned spans of %d, want 1 of 2500", warned, len(tr["spans"].([]any)))
		}
	})
	t.Run("store fails before anything was sent: 500 in the envelope", func(t *testing.T) {
		received := &atomic.Int64{}
		// The first batch is buffered, not yet sent, when the store fails.
		gen := &v1GenStore{id: id, n: 2500, batch: 50, failAt: 1, received: received}
		e := newV1EnvStore(t, DefaultConfig(), gen, nil)
		ans := e.get("/api/traces/" + id.String())
		v1CheckError(t, ans, http.StatusInternalServerError, "internal error", ans.header.Get(RequestIDHeader))
		if strings.Contains(string(ans.body), "fire") {
			t.Errorf("the store's error reached the client: %s", ans.body)
		}
		if lines := e.logs.Lines("disk on fire"); len(lines) != 1 || !strings.Contains(lines[0], ans.header.Get(RequestIDHeader)) {
			t.Errorf("log lines with the error: %q, want one with the request id", lines)
		}
	})
	t.Run("store fails mid-stream: the answer is cut, never a valid partial trace", func(t *testing.T) {
		received := &atomic.Int64{}
		gen := &v1GenStore{id: id, n: 10_000, batch: 200, failAt: 20, received: received}
		e := newV1EnvStore(t, DefaultConfig(), gen, nil)
		resp, err := e.srv.Client().Get(e.srv.URL + "/api/traces/" + id.String())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		spans, err := v1ReadSpans(t, resp.Body)
		if err == nil {
			t.Fatalf("read %d spans and a complete answer; want a cut one", spans)
		}
		if resp.StatusCode != http.StatusOK || spans == 0 {
			t.Errorf("status %d, %d spans before the cut: want 200 and some spans", resp.StatusCode, spans)
		}
		if lines := e.logs.Lines("after the answer began"); len(lines) != 1 {
			t.Errorf("log lines %q, want one", lines)
		}
	})
}
