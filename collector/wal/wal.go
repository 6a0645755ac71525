package wal

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// SyncPolicy says when appended records are fsynced.
type SyncPolicy int

const (
	// SyncBatch fsyncs before Append returns, one fsync shared by the
	// appends that arrived meanwhile (group commit). The default.
	SyncBatch SyncPolicy = iota
	// SyncInterval fsyncs every Options.SyncInterval. Append returns once
	// the record is written to the operating system: a power loss may lose
	// the records of the last interval.
	SyncInterval
)

// Options configure a WAL. Zero fields take their defaults.
type Options struct {
	// SegmentSize is the size at which a segment file is closed and a new
	// one started; default 64 MiB.
	SegmentSize int64
	// MaxBytes caps the bytes on disk of records not yet committed;
	// Append returns ErrFull past it. Default 1 GiB.
	MaxBytes int64
	// Sync is the fsync policy; default SyncBatch.
	Sync SyncPolicy
	// SyncInterval is the fsync period under SyncInterval; default 200ms.
	SyncInterval time.Duration
	// Logger receives recovery reports; default slog.Default().
	Logger *slog.Logger
}

var (
	// ErrFull is returned by Append when the record would take the log past
	// Options.MaxBytes; the caller should answer with a retryable error.
	ErrFull = errors.New("wal: full")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("wal: closed")
)

var errNotImplemented = errors.New("wal: not implemented")

// Offset is a record's position in the log. Offsets increase by one per
// record; the first record is 1, so 0 means "before everything".
type Offset uint64

// Record is one appended record.
type Record struct {
	Offset Offset
	Data   []byte
}

// Stats describe a WAL.
type Stats struct {
	Bytes           int64 // bytes of segment files on disk
	Segments        int   // segment files on disk
	Records         int64 // records appended since Open
	Corrupted       int64 // corrupted records skipped at Open
	TornTruncations int64 // torn tails cut at Open
	Syncs           int64 // fsyncs of segment files since Open
}

// WAL is a segmented write-ahead log. Its methods are safe for concurrent
// use.
type WAL struct{}

// Open opens or creates the log in dir and recovers it: it truncates a torn
// tail, and skips (and counts) corrupted records, continuing after them.
func Open(dir string, o Options) (*WAL, error) {
	return nil, errNotImplemented
}

// Append writes data as a new record and returns its offset once it is
// durable per the SyncPolicy. The WAL does not keep data after Append
// returns.
func (w *WAL) Append(ctx context.Context, data []byte) (Offset, error) {
	return 0, errNotImplemented
}

// Read returns up to max records with Offset > after, in order, waiting
// until at least one exists, ctx is done or the WAL is closed. The returned
// Data slices must not be modified.
func (w *WAL) Read(ctx context.Context, after Offset, max int) ([]Record, error) {
	return nil, errNotImplemented
}

// Commit records that every record with Offset <= upTo is durably written by
// the sink: it persists the checkpoint (with fsync) and deletes the segments
// whose records are all <= upTo.
func (w *WAL) Commit(upTo Offset) error {
	return errNotImplemented
}

// Committed returns the last committed offset.
func (w *WAL) Committed() Offset { return 0 }

// Stats returns the log's counters.
func (w *WAL) Stats() Stats { return Stats{} }

// Close closes the log. It is idempotent and wakes blocked Reads, which
// return ErrClosed.
func (w *WAL) Close() error { return nil }
