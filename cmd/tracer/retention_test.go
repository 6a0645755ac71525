package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
	"github.com/tracerdev/tracer/storage/storagetest"
)

func TestRetentionPurgesOldSpans(t *testing.T) {
	store := memory.New()
	defer store.Close()
	now := time.Now()
	old := storagetest.FullSpan(storage.TraceID{1}, storage.SpanID{1}, storage.SpanID{}, now.Add(-48*time.Hour))
	recent := storagetest.FullSpan(storage.TraceID{2}, storage.SpanID{2}, storage.SpanID{}, now.Add(-time.Hour))
	if err := store.WriteSpans(context.Background(), []storage.Span{old, recent}); err != nil {
		t.Fatal(err)
	}

	r := startRetention(context.Background(), store, 24*time.Hour, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := store.Trace(context.Background(), old.TraceID)
		if err == storage.ErrNotFound || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.stop()
	if _, err := store.Trace(context.Background(), old.TraceID); err != storage.ErrNotFound {
		t.Errorf("span older than the retention is still there (err %v)", err)
	}
	if _, err := store.Trace(context.Background(), recent.TraceID); err != nil {
		t.Errorf("recent span purged: %v", err)
	}
	startRetention(context.Background(), store, 0, time.Hour, nil).stop() // disabled: nothing to stop
}
