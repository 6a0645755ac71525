package wal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SyncPolicy says when appended records are fsynced.
type SyncPolicy int

const (
	// SyncBatch fsyncs before Append returns, one fsync shared by the
	// appends that arrived meanwhile (group commit). The default.
	SyncBatch SyncPolicy = iota
	// SyncInterval fsyncs every Options.SyncInterval. Append returns once
	// the record is written to the operating system, which survives a crash
	// of the process but not a power loss: that may lose the records of the
	// last interval even though Append returned.
	SyncInterval
)

// Options configure a WAL. Zero fields take their defaults.
type Options struct {
	// SegmentSize is the size at which a segment file is closed and a new
	// one started; default 64 MiB. It is lowered to MaxBytes/4 when larger,
	// so that committing frees space well before the log is full.
	SegmentSize int64
	// MaxBytes caps the bytes of segment files on disk, which hold the
	// records not yet committed, plus committed ones that share a segment
	// with uncommitted ones. Append returns ErrFull past it. Default 1 GiB.
	MaxBytes int64
	// Sync is the fsync policy; default SyncBatch.
	Sync SyncPolicy
	// SyncInterval is the fsync period under SyncInterval; default 200ms.
	SyncInterval time.Duration
	// CacheBytes bounds the memory that keeps the most recent records so
	// that Read does not touch the disk in steady state; default 32 MiB,
	// negative disables the cache.
	CacheBytes int64
	// Logger receives recovery reports; default slog.Default().
	Logger *slog.Logger

	fs fileSystem // tests only; default osFS
}

const (
	defaultSegmentSize  = 64 << 20
	defaultMaxBytes     = 1 << 30
	defaultSyncInterval = 200 * time.Millisecond
	defaultCacheBytes   = 32 << 20
)

func (o Options) withDefaults() (Options, error) {
	if o.SegmentSize < 0 || o.MaxBytes < 0 || o.SyncInterval < 0 {
		return o, errors.New("negative SegmentSize, MaxBytes or SyncInterval")
	}
	if o.Sync != SyncBatch && o.Sync != SyncInterval {
		return o, fmt.Errorf("unknown sync policy %d", o.Sync)
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = defaultSegmentSize
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = defaultMaxBytes
	}
	if o.SegmentSize > o.MaxBytes/4 {
		o.SegmentSize = max(o.MaxBytes/4, 1)
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = defaultSyncInterval
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = defaultCacheBytes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.fs == nil {
		o.fs = osFS{}
	}
	return o, nil
}

var (
	// ErrFull is returned by Append when the record would take the log past
	// Options.MaxBytes; the caller should answer with a retryable error.
	ErrFull = errors.New("wal: full")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("wal: closed")
	// ErrTooLarge is returned by Append for a record that can never fit:
	// larger than Options.MaxBytes or 1 GiB. Retrying will not help.
	ErrTooLarge = errors.New("wal: record too large")
)

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
	Corrupted       int64 // damaged records skipped at Open
	TornTruncations int64 // torn tails cut at Open
	Syncs           int64 // fsyncs of segment files since Open
}

// segment is one segment file.
type segment struct {
	first Offset // from the file name: no record in it is below
	path  string
	size  int64 // bytes written
	f     file  // open while it is active or waiting for its fsync
}

// WAL is a segmented write-ahead log. Its methods are safe for concurrent
// use.
type WAL struct {
	dir  string
	o    Options
	lock *os.File

	commitMu sync.Mutex // serialises Commits

	mu        sync.Mutex
	cond      *sync.Cond // signalled when a sync ends
	segs      []*segment // sorted by first; the last is active when active != nil
	active    *segment
	unsynced  []*segment // rolled segments waiting for their fsync
	syncFiles []*segment // the syncer's scratch
	next      Offset     // offset of the next record
	written   Offset     // last record written
	synced    Offset     // last record fsynced
	syncing   bool
	err       error // sticky: after a failed fsync nothing is trusted
	committed Offset
	bytes     int64
	closed    bool
	notify    chan struct{} // closed when records become visible
	hint      readHint

	cache      []Record // the most recent records, contiguous offsets
	cacheHead  int
	cacheBytes int64

	records, corrupted, torn, syncs int64

	stop, done chan struct{} // the SyncInterval goroutine
}

// readHint remembers where the last disk read stopped.
type readHint struct {
	path string
	pos  int64
	off  Offset
}

const (
	segExt         = ".seg"
	checkpointName = "checkpoint"
)

func segName(first Offset) string { return fmt.Sprintf("%020d%s", uint64(first), segExt) }

// Open opens or creates the log in dir and recovers it: it truncates a torn
// tail (an incomplete record at the end of a segment), and skips (and
// counts) damaged records, continuing after them. Segments wholly at or
// below the checkpoint are deleted.
func Open(dir string, o Options) (*WAL, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("wal: options: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	w := &WAL{dir: dir, o: o, lock: lock}
	w.cond = sync.NewCond(&w.mu)
	if err := w.recover(); err != nil {
		w.closeFiles()
		lock.Close()
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	if o.Sync == SyncInterval {
		w.stop, w.done = make(chan struct{}), make(chan struct{})
		go w.syncLoop(w.stop, w.done)
	}
	return w, nil
}

func (w *WAL) recover() error {
	cp, err := readCheckpoint(filepath.Join(w.dir, checkpointName))
	if err != nil {
		w.o.Logger.Warn("wal: unreadable checkpoint, replaying every record", "dir", w.dir, "error", err)
		cp = 0
	}
	w.committed = cp
	names, err := filepath.Glob(filepath.Join(w.dir, "*"+segExt))
	if err != nil {
		return err
	}
	for _, p := range names {
		n, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(p), segExt), 10, 64)
		if err != nil || n == 0 {
			w.o.Logger.Warn("wal: ignoring file with a bad segment name", "path", p)
			continue
		}
		w.segs = append(w.segs, &segment{first: Offset(n), path: p})
	}
	sort.Slice(w.segs, func(i, j int) bool { return w.segs[i].first < w.segs[j].first })
	last := cp
	for i, s := range w.segs {
		l, err := w.recoverSegment(s, i == len(w.segs)-1)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(s.path), err)
		}
		last = max(last, l, s.first-1)
	}
	w.next = last + 1
	w.written, w.synced = last, last
	if n := len(w.segs); n > 0 {
		w.active = w.segs[n-1]
	}
	w.deleteCommitted()
	return nil
}

// recoverSegment reads a segment through, cuts a torn tail and fsyncs it.
// It returns the last record offset it holds (or s.first-1). The last
// segment stays open.
func (w *WAL) recoverSegment(s *segment, isLast bool) (Offset, error) {
	f, err := w.o.fs.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	fr := newFrameReader(f, fi.Size(), 0)
	fr.last = s.first - 1
	for {
		_, _, ok, err := fr.next(false)
		if err != nil {
			f.Close()
			return 0, err
		}
		if !ok {
			break
		}
	}
	s.size = fi.Size()
	if fr.tornAt >= 0 {
		if err := f.Truncate(fr.tornAt); err != nil {
			f.Close()
			return 0, err
		}
		w.torn++
		s.size = fr.tornAt
		w.o.Logger.Warn("wal: cut torn tail", "segment", s.path, "at", fr.tornAt, "bytes", fi.Size()-fr.tornAt)
	}
	if fr.corrupted > 0 {
		w.corrupted += fr.corrupted
		w.o.Logger.Warn("wal: skipped damaged records", "segment", s.path, "records", fr.corrupted)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, err
	}
	w.bytes += s.size
	if isLast {
		s.f = f
	} else if err := f.Close(); err != nil {
		return 0, err
	}
	return fr.last, nil
}

// deleteCommitted removes the segments whose records are all committed,
// the active one included (the next Append starts a new one). w.mu is held.
func (w *WAL) deleteCommitted() {
	keep := w.segs[:0]
	for i, s := range w.segs {
		lastOff := w.next - 1
		if i+1 < len(w.segs) {
			lastOff = w.segs[i+1].first - 1
		}
		if lastOff > w.committed {
			keep = append(keep, s)
			continue
		}
		w.bytes -= s.size
		if s == w.active {
			w.active = nil
			if w.syncing {
				// The running sync may be using its file: the next
				// sync closes it.
				w.unsynced = append(w.unsynced, s)
			} else if err := s.f.Close(); err != nil {
				w.o.Logger.Warn("wal: closing committed segment", "path", s.path, "error", err)
			} else {
				s.f = nil
			}
		}
		// A rolled segment still waiting for its fsync is closed by the
		// next sync; removing its name does not disturb that.
		if err := w.o.fs.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			w.o.Logger.Warn("wal: cannot remove committed segment", "path", s.path, "error", err)
		}
	}
	clear(w.segs[len(keep):])
	w.segs = keep
}

// Append writes data as a new record and returns its offset once it is
// durable per the SyncPolicy. The WAL keeps a copy; data is the caller's.
//
// ctx is checked before the record is written; once written, Append waits
// for the fsync that covers it (at most about two fsyncs).
func (w *WAL) Append(ctx context.Context, data []byte) (Offset, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(data) > maxRecord {
		return 0, ErrTooLarge
	}
	frame := make([]byte, headerSize+len(data))
	copy(frame[headerSize:], data)
	crc := crcOf(data)
	size := int64(len(frame))

	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed:
		return 0, ErrClosed
	case w.err != nil:
		return 0, w.err
	case size > w.o.MaxBytes:
		return 0, ErrTooLarge
	case w.bytes+size > w.o.MaxBytes:
		return 0, ErrFull
	}
	if w.active == nil || (w.active.size > 0 && w.active.size+size > w.o.SegmentSize) {
		if err := w.roll(); err != nil {
			return 0, err
		}
	}
	off := w.next
	putHeader(frame, off, len(data), crc)
	s := w.active
	if _, err := s.f.WriteAt(frame, s.size); err != nil {
		if terr := s.f.Truncate(s.size); terr != nil {
			w.err = fmt.Errorf("wal: write failed and cannot be undone: %w", errors.Join(err, terr))
		}
		return 0, fmt.Errorf("wal: write: %w", err)
	}
	w.next++
	w.written = off
	s.size += size
	w.bytes += size
	w.records++
	w.cacheAdd(Record{Offset: off, Data: frame[headerSize:]})

	if w.o.Sync == SyncInterval {
		w.wakeReaders()
		return off, nil
	}
	yielded := false
	for w.synced < off && w.err == nil {
		if w.syncing {
			w.cond.Wait()
			continue
		}
		if !yielded {
			// Let appenders that are ready to run (those just woken by
			// the last sync, say) write first, so that this fsync covers
			// them too: batches of 1 and n-1 become batches of n.
			yielded = true
			w.mu.Unlock()
			runtime.Gosched()
			w.mu.Lock()
			continue
		}
		w.syncLocked()
	}
	if w.synced < off {
		return 0, w.err
	}
	return off, nil
}

// roll starts a new segment at w.next. w.mu is held.
func (w *WAL) roll() error {
	if w.active != nil {
		w.unsynced = append(w.unsynced, w.active)
		w.active = nil
	}
	s := &segment{first: w.next, path: filepath.Join(w.dir, segName(w.next))}
	f, err := w.o.fs.OpenFile(s.path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("wal: new segment: %w", err)
	}
	if err := syncDir(w.o.fs, w.dir); err != nil {
		f.Close()
		w.o.fs.Remove(s.path)
		return fmt.Errorf("wal: new segment: %w", err)
	}
	s.f = f
	w.segs = append(w.segs, s)
	w.active = s
	return nil
}

// syncLocked fsyncs what has been written, with w.mu released during the
// fsyncs; w.mu is held on entry and on return.
func (w *WAL) syncLocked() {
	w.syncing = true
	target := w.written
	files := append(w.syncFiles[:0], w.unsynced...)
	rolled := len(files)
	clear(w.unsynced)
	w.unsynced = w.unsynced[:0]
	if w.active != nil {
		files = append(files, w.active)
	}
	w.mu.Unlock()

	var err error
	n := int64(0)
	for i, s := range files {
		if e := s.f.Sync(); e != nil && err == nil {
			err = e
		}
		n++
		if i < rolled {
			if e := s.f.Close(); e != nil && err == nil {
				err = e
			}
		}
	}

	w.mu.Lock()
	for _, s := range files[:rolled] {
		s.f = nil
	}
	clear(files)
	w.syncFiles = files[:0]
	w.syncs += n
	w.syncing = false
	if err != nil {
		w.err = fmt.Errorf("wal: fsync: %w", err)
	} else if target > w.synced {
		w.synced = target
		if w.o.Sync == SyncBatch {
			w.wakeReaders()
		}
	}
	w.cond.Broadcast()
}

func (w *WAL) syncLoop(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(w.o.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		w.mu.Lock()
		if !w.syncing && w.err == nil && (w.written > w.synced || len(w.unsynced) > 0) {
			w.syncLocked()
		}
		w.mu.Unlock()
	}
}

// visible is the last record Read may return. w.mu is held.
func (w *WAL) visible() Offset {
	if w.o.Sync == SyncInterval {
		return w.written
	}
	return w.synced
}

func (w *WAL) wakeReaders() {
	if w.notify != nil {
		close(w.notify)
		w.notify = nil
	}
}

// cacheAdd keeps r in the cache, evicting the oldest records past the
// bound. w.mu is held.
func (w *WAL) cacheAdd(r Record) {
	if w.o.CacheBytes < 0 {
		return
	}
	w.cache = append(w.cache, r)
	w.cacheBytes += int64(len(r.Data))
	for w.cacheBytes > w.o.CacheBytes && len(w.cache)-w.cacheHead > 1 {
		w.cacheDropHead()
	}
}

func (w *WAL) cacheDropHead() {
	w.cacheBytes -= int64(len(w.cache[w.cacheHead].Data))
	w.cache[w.cacheHead] = Record{}
	w.cacheHead++
	if w.cacheHead == len(w.cache) {
		w.cache, w.cacheHead = w.cache[:0], 0
	} else if w.cacheHead > 1024 && w.cacheHead > len(w.cache)/2 {
		n := copy(w.cache, w.cache[w.cacheHead:])
		clear(w.cache[n:])
		w.cache, w.cacheHead = w.cache[:n], 0
	}
}

// Read returns up to max records with Offset > after, in order, waiting
// until at least one exists, ctx is done or the WAL is closed. Records are
// returned once they are durable per the SyncPolicy. Records already there
// are returned even when ctx is done, so a done ctx polls without waiting.
// The returned Data slices are shared with the WAL's cache and must not be
// modified; the WAL never modifies them either, so they may be kept.
//
// Offsets may have gaps where Open skipped damaged records.
func (w *WAL) Read(ctx context.Context, after Offset, max int) ([]Record, error) {
	if max <= 0 {
		return nil, errors.New("wal: read: max must be positive")
	}
	floor := after // no record in (after, floor] exists
	for missing := 0; ; {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return nil, ErrClosed
		}
		vis := w.visible()
		if vis > floor {
			if recs := w.fromCache(after, vis, max); recs != nil {
				w.mu.Unlock()
				return recs, nil
			}
			plan := w.diskPlan(after)
			w.mu.Unlock()
			recs, err := w.readDisk(plan, after, vis, max)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("wal: read: %w", err)
			}
			if len(recs) > 0 {
				return recs, nil
			}
			if err == nil {
				floor = vis // nothing in range: damaged records left a gap
				continue
			}
			// A segment was deleted (committed) under us: plan again.
			if missing++; missing > 3 {
				return nil, fmt.Errorf("wal: read: %w", err)
			}
			continue
		}
		if w.notify == nil {
			w.notify = make(chan struct{})
		}
		ch := w.notify
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// fromCache returns the records after `after` from the cache when the cache
// holds the first of them, else nil. w.mu is held.
func (w *WAL) fromCache(after, vis Offset, max int) []Record {
	c := w.cache[w.cacheHead:]
	if len(c) == 0 || c[0].Offset > after+1 {
		return nil
	}
	i := sort.Search(len(c), func(i int) bool { return c[i].Offset > after })
	j := i
	for j < len(c) && j-i < max && c[j].Offset <= vis {
		j++
	}
	if j == i {
		return nil
	}
	return append([]Record(nil), c[i:j]...)
}

type segRead struct {
	path  string
	size  int64
	first Offset
}

// diskPlan lists the segments that may hold records after `after`. w.mu is
// held.
func (w *WAL) diskPlan(after Offset) []segRead {
	start := 0
	for i, s := range w.segs {
		if s.first <= after+1 {
			start = i
		}
	}
	plan := make([]segRead, 0, len(w.segs)-start)
	for _, s := range w.segs[start:] {
		plan = append(plan, segRead{path: s.path, size: s.size, first: s.first})
	}
	return plan
}

// readDisk reads up to max records in (after, vis] from the planned
// segments.
func (w *WAL) readDisk(plan []segRead, after, vis Offset, max int) ([]Record, error) {
	var recs []Record
	w.mu.Lock()
	hint := w.hint
	w.mu.Unlock()
	for _, sr := range plan {
		if len(recs) >= max {
			break
		}
		f, err := w.o.fs.OpenFile(sr.path, os.O_RDONLY, 0)
		if err != nil {
			return recs, err
		}
		pos := int64(0)
		if hint.path == sr.path && hint.off <= after && hint.pos <= sr.size {
			pos = hint.pos
		}
		fr := newFrameReader(f, sr.size, pos)
		for len(recs) < max {
			off, p, ok, err := fr.next(true)
			if err != nil {
				f.Close()
				return recs, err
			}
			if !ok || off > vis {
				break
			}
			if off > after {
				recs = append(recs, Record{Offset: off, Data: p})
				hint = readHint{path: sr.path, pos: fr.pos, off: off}
			}
		}
		f.Close()
	}
	w.mu.Lock()
	w.hint = hint
	w.mu.Unlock()
	return recs, nil
}

// Commit records that every record with Offset <= upTo is durably written by
// the sink: it persists the checkpoint (with fsync) and deletes the segments
// whose records are all <= upTo. Committing an offset at or below Committed
// does nothing; committing past the last appended record is an error.
func (w *WAL) Commit(upTo Offset) error {
	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	w.mu.Lock()
	switch {
	case w.closed:
		w.mu.Unlock()
		return ErrClosed
	case upTo <= w.committed:
		w.mu.Unlock()
		return nil
	case upTo >= w.next:
		last := w.next - 1
		w.mu.Unlock()
		return fmt.Errorf("wal: commit %d past the last record %d", upTo, last)
	}
	w.mu.Unlock()

	if err := writeCheckpoint(w.o.fs, w.dir, upTo); err != nil {
		return fmt.Errorf("wal: commit: %w", err)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	w.committed = upTo
	for len(w.cache)-w.cacheHead > 0 && w.cache[w.cacheHead].Offset <= upTo {
		w.cacheDropHead()
	}
	w.deleteCommitted()
	return nil
}

// Committed returns the last committed offset.
func (w *WAL) Committed() Offset {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.committed
}

// Stats returns the log's counters.
func (w *WAL) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Stats{
		Bytes:           w.bytes,
		Segments:        len(w.segs),
		Records:         w.records,
		Corrupted:       w.corrupted,
		TornTruncations: w.torn,
		Syncs:           w.syncs,
	}
}

// Close fsyncs what was written and closes the log. It is idempotent and
// wakes blocked Reads, which return ErrClosed.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.wakeReaders()
	w.mu.Unlock()
	if w.stop != nil {
		close(w.stop)
		<-w.done
	}
	w.commitMu.Lock() // let a running Commit finish
	defer w.commitMu.Unlock()

	w.mu.Lock()
	for w.syncing {
		w.cond.Wait()
	}
	if w.err == nil && (w.written > w.synced || len(w.unsynced) > 0) {
		w.syncLocked()
	}
	err := w.err
	w.cond.Broadcast()
	if cerr := w.closeFiles(); err == nil {
		err = cerr
	}
	w.mu.Unlock()
	if lerr := w.lock.Close(); err == nil && lerr != nil {
		err = fmt.Errorf("wal: %w", lerr)
	}
	return err
}

// closeFiles closes every open segment file.
func (w *WAL) closeFiles() error {
	var errs []error
	for _, s := range append(w.unsynced, w.active) {
		if s != nil && s.f != nil {
			if err := s.f.Close(); err != nil {
				errs = append(errs, err)
			}
			s.f = nil
		}
	}
	w.unsynced = nil
	return errors.Join(errs...)
}
