package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tracerdev/tracer/wal"
)

// memSource is a Source over records in memory.
type memSource struct {
	mu        sync.Mutex
	recs      []wal.Record // offsets 1..n
	committed wal.Offset
	maxAsked  []int64 // maxBytes of every Read
}

func (s *memSource) Read(ctx context.Context, after wal.Offset, maxBytes int64) ([]wal.Record, error) {
	s.mu.Lock()
	s.maxAsked = append(s.maxAsked, maxBytes)
	if int(after) < len(s.recs) {
		// As wal.Read: the first record always, then as many as fit.
		end, size := int(after)+1, int64(len(s.recs[after].Data))
		for end < len(s.recs) && size+int64(len(s.recs[end].Data)) <= maxBytes {
			size += int64(len(s.recs[end].Data))
			end++
		}
		out := s.recs[after:end]
		s.mu.Unlock()
		return out, nil
	}
	s.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s *memSource) Commit(upTo wal.Offset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.committed = max(s.committed, upTo)
	return nil
}

func (s *memSource) Committed() wal.Offset {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.committed
}

// flakySink is a Sink that fails its first failures flushes.
type flakySink struct {
	mu       sync.Mutex
	pending  []wal.Offset
	written  []wal.Offset
	failures int
	flushes  [][]wal.Offset
}

func (s *flakySink) Add(r wal.Record) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, r.Offset)
	return len(s.pending)
}

func (s *flakySink) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures > 0 {
		s.failures--
		return errors.New("sink down")
	}
	s.flushes = append(s.flushes, append([]wal.Offset(nil), s.pending...))
	s.written = append(s.written, s.pending...)
	s.pending = s.pending[:0]
	return nil
}

// TestPipelineParts: the pipeline over any Source and Sink reads about
// Batch.MaxBytes of records at a time, retries a failing sink, keeps batches
// within their byte bound, and commits only what the sink wrote.
func TestPipelineParts(t *testing.T) {
	const recSize, n = 1 << 20, 10
	src := &memSource{}
	for i := range n {
		src.recs = append(src.recs, wal.Record{Offset: wal.Offset(i + 1), Data: make([]byte, recSize)})
	}
	sink := &flakySink{failures: 3}
	cfg := PipelineConfig{
		Batch:       BatchConfig{Size: 1000, MaxBytes: 2*recSize + recSize/2, Timeout: 10 * time.Millisecond},
		Retry:       RetryConfig{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, Multiplier: 2},
		CommitBytes: recSize,
	}
	set := Settings{Health: NewHealth(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	p := NewPipeline(cfg, src, sink, set)
	if err := p.Shutdown(context.Background()); err != nil { // safe without Start
		t.Fatal(err)
	}
	p = NewPipeline(cfg, src, sink, set)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); src.Committed() < n && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if got := src.Committed(); got != n {
		t.Errorf("committed %d, want %d", got, n)
	}
	if fmt.Sprint(sink.written) != fmt.Sprint([]wal.Offset{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) {
		t.Errorf("sink wrote %v, want every record once, in order", sink.written)
	}
	for _, f := range sink.flushes {
		if len(f) > 2 {
			t.Errorf("a flush of %d records of %d bytes, past max_bytes %d", len(f), recSize, cfg.Batch.MaxBytes)
		}
	}
	for i, m := range src.maxAsked {
		if m != cfg.Batch.MaxBytes {
			t.Errorf("read %d asked for %d bytes, want max_bytes %d", i, m, cfg.Batch.MaxBytes)
		}
	}
	if st := set.Health.Report().Components["storage"].Status; st != StatusStopping {
		t.Errorf("storage health after Shutdown: %s, want stopping", st)
	}
}

// TestCommitInterval: the pipeline commits every second once CommitBytes
// wait for a commit, every commitIdle below it (a lightly loaded collector
// does not write a checkpoint every second); CommitBytes defaults to 16 MiB.
func TestCommitInterval(t *testing.T) {
	set := Settings{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if got := NewPipeline(PipelineConfig{}, &memSource{}, &flakySink{}, set).cfg.CommitBytes; got != 16<<20 {
		t.Errorf("default CommitBytes = %d, want 16 MiB", got)
	}
	p := NewPipeline(PipelineConfig{CommitBytes: 100}, &memSource{}, &flakySink{}, set)
	for _, tc := range []struct {
		uncommitted int64
		want        time.Duration
	}{{0, commitIdle}, {99, commitIdle}, {100, commitEvery}, {1 << 30, commitEvery}} {
		p.uncommitted = tc.uncommitted
		if got := p.commitInterval(); got != tc.want {
			t.Errorf("commitInterval with %d bytes uncommitted = %v, want %v", tc.uncommitted, got, tc.want)
		}
	}
	if commitIdle <= commitEvery {
		t.Errorf("commitIdle %v is not longer than commitEvery %v", commitIdle, commitEvery)
	}
}
