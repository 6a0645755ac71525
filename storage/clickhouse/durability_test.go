package clickhouse_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/clickhouse"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// A table whose columns differ from the writer's is a deployment problem:
// WriteSpans fails with a retryable error (not a RejectedError, not marked
// permanent), and once the table is fixed the same call succeeds.
func TestWriteSchemaErrorIsRetryable(t *testing.T) {
	for _, tt := range []struct {
		name       string
		alter, fix string
	}{
		{"column missing", "ALTER TABLE tracer_spans DROP COLUMN flags", "ALTER TABLE tracer_spans ADD COLUMN flags UInt32"},
		{"column of another type", "ALTER TABLE tracer_search MODIFY COLUMN kind String", "ALTER TABLE tracer_search MODIFY COLUMN kind Int8"},
		{"extra column", "ALTER TABLE tracer_spans ADD COLUMN extra String", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, cfg := newStoreConfig(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			conn, err := server.Open(cfg.Database)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := conn.Exec(ctx, tt.alter); err != nil {
				t.Fatalf("%s: %v", tt.alter, err)
			}
			spans := storagetest.NewGenerator(3).Trace(time.Now().Add(-time.Minute), 4)
			err = s.WriteSpans(ctx, spans)
			t.Logf("WriteSpans: %v", err)
			if err != nil {
				if r := storage.Rejected(err); r != nil {
					t.Fatalf("WriteSpans = %v: rejects %d spans, want a retryable error", err, len(r))
				}
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("WriteSpans = %v: timed out", err)
				}
			}
			if tt.fix == "" {
				return
			}
			if err == nil {
				t.Fatal("WriteSpans succeeded on a broken table")
			}
			if err := conn.Exec(ctx, tt.fix); err != nil {
				t.Fatalf("%s: %v", tt.fix, err)
			}
			if err := s.WriteSpans(ctx, spans); err != nil {
				t.Fatalf("WriteSpans after the fix: %v", err)
			}
			got, err := s.Trace(ctx, spans[0].TraceID)
			if err != nil {
				t.Fatal(err)
			}
			if d := storagetest.DiffSpans(got.Spans, spans); d != "" {
				t.Errorf("trace after the retry differs:\n%s", d)
			}
		})
	}
}

// A hung server (stopped, connections open, nothing answering) does not
// hold a write: WriteSpans returns once its context's deadline passes, or
// once Config.WriteTimeout does when the context has none, with an error
// saying so.
func TestWriteHonoursDeadlineOnHungServer(t *testing.T) {
	for _, tt := range []struct {
		name         string
		writeTimeout time.Duration
		ctxTimeout   time.Duration
	}{
		{"context deadline", time.Hour, 2 * time.Second},
		{"write timeout", 2 * time.Second, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, func(c *clickhouse.Config) { c.WriteTimeout = tt.writeTimeout })
			spans := storagetest.NewGenerator(5).Trace(time.Now().Add(-time.Minute), 3)
			// Warm the connection pool: the write below finds an open
			// connection to a server that stopped answering.
			if err := s.WriteSpans(context.Background(), spans[:1]); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}
			server.Pause(t)
			err := s.WriteSpans(ctx, spans)
			server.Resume()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("WriteSpans on a hung server = %v, want an error wrapping context.DeadlineExceeded", err)
			}
			if storage.Rejected(err) != nil {
				t.Fatalf("WriteSpans = %v: a deadline is not a rejection", err)
			}
			// The server back, the retry stores everything.
			ctx2, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.WriteSpans(ctx2, spans); err != nil {
				t.Fatalf("retry after the server came back: %v", err)
			}
		})
	}
}

// Spans of one resource are stored with it once: 300 spans sharing a 1 MB
// resource attribute write about 1 MB, not 300 MB; they come back sharing
// one Resource slice, and a search on the resource attribute finds them.
func TestResourceStoredOnce(t *testing.T) {
	s, cfg := newStoreConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	big := make([]byte, 1<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	res := []storage.Attribute{
		{Key: "service.name", Type: storage.TypeString, Value: "orders"},
		{Key: "deployment", Type: storage.TypeString, Value: "blue"},
		{Key: "blob", Type: storage.TypeString, Value: hex.EncodeToString(big)[:1<<20]},
	}
	// The same content in another slice hashes the same: still one row.
	resCopy := slices.Clone(res)
	start := time.Now().Add(-time.Minute)
	var spans []storage.Span
	for i := range 300 {
		sp := storagetest.FullSpan(storage.TraceID{0x42, byte(i / 100)}, storage.SpanID{byte(i), 1}, storage.SpanID{}, start)
		sp.Resource = res
		if i >= 250 {
			sp.Resource = resCopy
		}
		spans = append(spans, sp)
	}
	if err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	conn, err := server.Open(cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var written uint64
	if err := conn.QueryRow(ctx, "SELECT sum(data_uncompressed_bytes) FROM system.parts WHERE database = ? AND active",
		cfg.Database).Scan(&written); err != nil {
		t.Fatal(err)
	}
	if limit := uint64(4 << 20); written > limit {
		t.Errorf("300 spans of one 1 MB resource wrote %d bytes, want at most %d", written, limit)
	}
	var rows uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM tracer_resources").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("tracer_resources has %d rows, want 1", rows)
	}

	tr, err := s.Trace(ctx, storage.TraceID{0x42, 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Spans) != 100 {
		t.Fatalf("Trace: %d spans, want 100", len(tr.Spans))
	}
	for i := range tr.Spans {
		sp := &tr.Spans[i]
		if !slices.Equal(sp.Resource, res) {
			t.Fatalf("span %s: resource differs", sp.SpanID)
		}
		if &sp.Resource[0] != &tr.Spans[0].Resource[0] {
			t.Fatalf("span %s: resource not shared with the trace's other spans", sp.SpanID)
		}
	}
	found, err := s.FindTraces(ctx, storage.Query{Service: "orders", Attributes: map[string]string{"deployment": "blue"}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 3 {
		t.Errorf("search on the resource attribute: %d traces, want 3", len(found))
	}
}
