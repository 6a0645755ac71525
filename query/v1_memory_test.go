package query

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// v1PausingReader reads through to r; once it has read pauseAt bytes it
// calls pause once (the client stops reading: the server blocks on a full
// connection, holding what it holds).
type v1PausingReader struct {
	r       interface{ Read([]byte) (int, error) }
	n       int64
	pauseAt int64
	pause   func()
}

func (p *v1PausingReader) Read(b []byte) (int, error) {
	if p.pause != nil && p.n >= p.pauseAt {
		p.pause()
		p.pause = nil
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}

// TestV1TraceStreamsFromMemoryStore serves a 100,000-span trace stored in
// the memory store to a client that stops reading in the middle: while
// it waits, the heap holds the store's spans and little more (a handler
// that built the answer whole would hold all 60 MB of it).
func TestV1TraceStreamsFromMemoryStore(t *testing.T) {
	const n = 100_000
	id := storage.TraceID{0x88, 15: 1}
	res := v1Res("big", storage.Attribute{Key: "host.name", Type: storage.TypeString, Value: "big-1"})
	st := memory.New()
	t.Cleanup(func() { _ = st.Close() })
	for b := 0; b < n; b += 10_000 {
		spans := make([]storage.Span, 0, 10_000)
		for i := b; i < b+10_000; i++ {
			start := v1Now.UnixNano() + int64(i)*1000
			spans = append(spans, storage.Span{
				TraceID: id, SpanID: storage.SpanID{0x88, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), 1},
				ParentSpanID: storage.SpanID{0x88, 0, 0, 0, 0, 1},
				Name:         "op-" + strconv.Itoa(i%50), Kind: storage.KindInternal,
				StartTime: start, EndTime: start + 5000, Service: "big", Resource: res,
				Attributes: []storage.Attribute{
					{Key: "i", Type: storage.TypeInt, Value: strconv.Itoa(i)},
					{Key: "db.statement", Type: storage.TypeString, Value: "SELECT * FROM t WHERE id = ?"},
				},
				Events: []storage.Event{{Time: start + 1, Name: "tick"}},
			})
		}
		if err := st.WriteSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
	}
	e := newV1EnvStore(t, DefaultConfig(), st, st)

	runtime.GC()
	var before, paused runtime.MemStats
	runtime.ReadMemStats(&before)
	resp, err := e.srv.Client().Get(e.srv.URL + "/api/traces/" + id.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	r := &v1PausingReader{r: resp.Body, pauseAt: 20 << 20, pause: func() {
		runtime.GC()
		runtime.ReadMemStats(&paused)
	}}
	spans, tail, err := v1CountSpans(r)
	if err != nil {
		t.Fatal(err)
	}
	if spans != n || !strings.HasSuffix(string(tail), `"errors":null}`+"\n") {
		t.Fatalf("%d spans, answer ends %q", spans, tail)
	}
	grown := int64(paused.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d spans, %.1f MB; heap while the client paused at 20 MB: %+.1f MB", spans, float64(r.n)/1e6, float64(grown)/1e6)
	if grown > r.n/8 {
		t.Errorf("heap grew by %d bytes while the client paused, for a %d-byte answer: not streamed", grown, r.n)
	}
}
