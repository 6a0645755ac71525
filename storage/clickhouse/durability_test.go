package clickhouse_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
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
		{"column of another type", "ALTER TABLE tracer_span_index MODIFY COLUMN kind String", "ALTER TABLE tracer_span_index MODIFY COLUMN kind Int8"},
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
				if storage.IsPermanent(err) {
					t.Fatalf("WriteSpans = %v: marked permanent, want retryable", err)
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
