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
	// one started; default 64 MiB. Space is taken and freed a whole segment
	// at a time, so it is best a multiple of the file system's block size.
	SegmentSize int64
	// MaxBytes caps the disk space of the segment files, which hold the
	// records not yet committed, plus committed ones that share a segment
	// with uncommitted ones. Each segment counts whole from its creation
	// (SegmentSize, or whole multiples of it when one record is larger), so
	// the files never take more than MaxBytes on a file system whose block
	// size divides SegmentSize. Append returns ErrFull past it. Default
	// 1 GiB; at least SegmentSize (Open refuses less). The checkpoint file
	// (524 bytes) and the lock file come on top.
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

// Validate reports what Open would refuse in o (zero fields taking their
// defaults), so that a configuration can be checked before it is used.
func (o Options) Validate() error {
	if _, err := o.withDefaults(); err != nil {
		return fmt.Errorf("wal: options: %w", err)
	}
	return nil
}

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
	if o.MaxBytes < o.SegmentSize {
		return o, fmt.Errorf("MaxBytes %d is below one segment (SegmentSize %d): space is taken a whole segment at a time, so raise MaxBytes or lower SegmentSize", o.MaxBytes, o.SegmentSize)
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
	// ErrFull is wrapped by the error Append returns when the record would
	// take the log past Options.MaxBytes, or the disk is full; the caller
	// should answer with a retryable error. Commit frees the space.
	ErrFull = errors.New("wal: full")
	// ErrFailed is wrapped by the error of every Append after an fsync of
	// the log failed (or a failed write could not be undone). The failure
	// is for good: after a failed fsync the kernel may have dropped the
	// written pages, so what the page cache shows can no longer be trusted
	// to be on disk (PostgreSQL's "fsyncgate", 2018). Restart the process:
	// Open recovers from what the disk holds. Err reports it.
	ErrFailed = errors.New("wal: failed")
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
	Bytes    int64 // disk space of the segments, each counted whole: what MaxBytes caps
	Segments int   // segment files on disk
	Records  int64 // records appended since Open
	Syncs    int64 // fsyncs of segment files since Open

	// What Open found damaged. Corrupted and LostRecords are records
	// acknowledged by an Append and lost (unless already committed).
	Corrupted       int64 // damaged records skipped (checksum mismatch) at Open
	TornTruncations int64 // torn tails (incomplete records at a segment's end) cut at Open
	TornBytes       int64 // bytes those cuts removed
	// LostTails counts the torn tails of segments that were not the last:
	// a process crash cannot produce them (disk damage or a power loss
	// before an fsync can). They are in TornTruncations too.
	LostTails   int64
	LostRecords int64 // uncommitted records lost with LostTails, from the offsets missing before the next segment
}

// segment is one segment file.
type segment struct {
	first Offset // from the file name: no record in it is below
	path  string
	size  int64 // bytes written
	f     file  // open while it is active or waiting for its fsync
}

// charge is the space a segment of size bytes counts for against MaxBytes:
// a whole segment, or whole segments' worth when one record is larger.
func (w *WAL) charge(size int64) int64 {
	n := max((size+w.o.SegmentSize-1)/w.o.SegmentSize, 1)
	return n * w.o.SegmentSize
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
	err       error // sticky, wraps ErrFailed: after a failed fsync nothing is trusted
	full      bool  // Append is refusing records with ErrFull (logged once per episode)
	committed Offset
	cp        *checkpoint // written by Commit under commitMu
	bytes     int64
	closed    bool
	notify    chan struct{} // closed when records become visible
	hint      readHint

	cache      []Record // the most recent records, contiguous offsets
	cacheHead  int
	cacheBytes int64

	records, syncs                                     int64
	corrupted, torn, tornBytes, lostTails, lostRecords int64

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
		if w.cp != nil {
			w.cp.close()
		}
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
	cp, off, damaged, err := openCheckpoint(w.o.fs, w.dir)
	if err != nil {
		return err
	}
	w.cp = cp
	if damaged != nil {
		w.o.Logger.Warn("wal: unreadable checkpoint, replaying every record", "dir", w.dir, "error", damaged)
	}
	w.committed = off
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
	if len(w.segs) > 0 && w.segs[0].first-1 > w.committed {
		// A Commit deleted segments and could not persist its
		// checkpoint (see Commit), or segments were removed by hand.
		w.o.Logger.Warn("wal: checkpoint is older than the first segment; the records between are gone",
			"checkpoint", w.committed, "first_segment", w.segs[0].first)
		w.committed = w.segs[0].first - 1
	}
	last := w.committed
	for i, s := range w.segs {
		var nextFirst Offset // 0: s is the last segment
		if i+1 < len(w.segs) {
			nextFirst = w.segs[i+1].first
		}
		l, err := w.recoverSegment(s, nextFirst)
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
	w.deleteUpTo(w.committed)
	return nil
}

// recoverSegment reads a segment through, cuts a torn tail and fsyncs it.
// It returns the last record offset it holds (or s.first-1). The last
// segment (nextFirst 0) stays open. A segment wholly committed is not read:
// recover deletes it.
func (w *WAL) recoverSegment(s *segment, nextFirst Offset) (Offset, error) {
	isLast := nextFirst == 0
	f, err := w.o.fs.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	s.size = fi.Size()
	if !isLast && nextFirst-1 <= w.committed {
		w.bytes += w.charge(s.size)
		return nextFirst - 1, f.Close()
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
	if fr.tornAt >= 0 {
		if err := f.Truncate(fr.tornAt); err != nil {
			f.Close()
			return 0, err
		}
		cut := fi.Size() - fr.tornAt
		w.torn++
		w.tornBytes += cut
		s.size = fr.tornAt
		lost := int64(0)
		if !isLast && nextFirst-1 > max(fr.last, w.committed) {
			lost = int64(nextFirst - 1 - max(fr.last, w.committed))
		}
		switch {
		case isLast:
			w.o.Logger.Warn("wal: cut torn tail (a crash during a write)", "segment", s.path, "at", fr.tornAt, "bytes", cut)
		case lost > 0:
			w.lostTails++
			w.lostRecords += lost
			w.o.Logger.Error("wal: lost acknowledged records: a segment before the last ends in damage, which a process crash cannot cause (disk damage, or power lost before an fsync)",
				"segment", s.path, "at", fr.tornAt, "bytes", cut, "records", lost, "offsets_from", max(fr.last, w.committed)+1, "offsets_to", nextFirst-1)
		default:
			w.lostTails++
			w.o.Logger.Warn("wal: cut damaged bytes after the last record of a segment before the last", "segment", s.path, "at", fr.tornAt, "bytes", cut)
		}
	}
	if fr.corrupted > 0 {
		w.corrupted += fr.corrupted
		w.o.Logger.Error("wal: lost acknowledged records: skipped damaged records (disk damage, or power lost before an fsync)",
			"segment", s.path, "records", fr.corrupted)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, err
	}
	w.bytes += w.charge(s.size)
	if isLast {
		s.f = f
	} else if err := f.Close(); err != nil {
		return 0, err
	}
	return fr.last, nil
}

// deleteUpTo removes the segments whose records are all at or below upTo,
// the active one included (the next Append starts a new one). w.mu is held.
func (w *WAL) deleteUpTo(upTo Offset) {
	keep := w.segs[:0]
	for i, s := range w.segs {
		lastOff := w.next - 1
		if i+1 < len(w.segs) {
			lastOff = w.segs[i+1].first - 1
		}
		if lastOff > upTo {
			keep = append(keep, s)
			continue
		}
		w.bytes -= w.charge(s.size)
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
// for the fsync that covers it (at most about two fsyncs). An error wraps
// ErrFull when the cap or the disk is full (retry after a Commit), and
// ErrFailed once the log has failed for good (see Err).
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
	}
	roll := w.active == nil || (w.active.size > 0 && w.active.size+size > w.o.SegmentSize)
	var grow int64 // the space this record adds to w.bytes
	if roll {
		grow = w.charge(size)
	} else {
		grow = w.charge(w.active.size+size) - w.charge(w.active.size)
	}
	if w.bytes+grow > w.o.MaxBytes {
		return 0, w.refuse(fmt.Errorf("%w: %d bytes of segments, max %d", ErrFull, w.bytes, w.o.MaxBytes))
	}
	if roll {
		if err := w.roll(); err != nil {
			if isNoSpace(err) {
				return 0, w.refuse(fmt.Errorf("%w: disk: %w", ErrFull, err))
			}
			return 0, err
		}
		grow -= w.charge(0) // roll counted the new segment
	}
	off := w.next
	putHeader(frame, off, len(data), crc)
	s := w.active
	if _, err := s.f.WriteAt(frame, s.size); err != nil {
		if terr := s.f.Truncate(s.size); terr != nil {
			w.fail(fmt.Errorf("%w: write failed and cannot be undone: %w", ErrFailed, errors.Join(err, terr)))
		}
		if isNoSpace(err) {
			return 0, w.refuse(fmt.Errorf("%w: disk: %w", ErrFull, err))
		}
		return 0, fmt.Errorf("wal: write: %w", err)
	}
	if w.full {
		w.full = false
		w.o.Logger.Info("wal: accepting records again")
	}
	w.next++
	w.written = off
	s.size += size
	w.bytes += grow
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

// refuse returns err (which wraps ErrFull), logging the first refusal of
// an episode; the next record accepted ends it. w.mu is held.
func (w *WAL) refuse(err error) error {
	if !w.full {
		w.full = true
		w.o.Logger.Warn("wal: full, refusing records until the sink commits", "error", err)
	}
	return err
}

// fail makes err (which wraps ErrFailed) the log's sticky failure, and logs
// it once. w.mu is held.
func (w *WAL) fail(err error) {
	if w.err != nil {
		return
	}
	w.err = err
	w.o.Logger.Error("wal: failed; every append is refused until the process restarts", "error", err)
}

// Err returns nil while the log is healthy, else its failure (which wraps
// ErrFailed): an fsync of the log failed, and every Append is refused until
// the process restarts. Records made durable before it can still be read
// and committed.
func (w *WAL) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
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
	w.bytes += w.charge(0)
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
		w.fail(fmt.Errorf("%w: fsync: %w", ErrFailed, err))
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

// Read returns records with Offset > after, in order, waiting until at
// least one exists, ctx is done or the WAL is closed. Their Data add up to
// at most maxBytes, except that the first record is returned whatever its
// size, so that a record larger than the budget is read on its own. Records are
// returned once they are durable per the SyncPolicy. Records already there
// are returned even when ctx is done, so a done ctx polls without waiting.
// The returned Data slices are shared with the WAL's cache and must not be
// modified; the WAL never modifies them either, so they may be kept.
//
// Offsets may have gaps where Open skipped damaged records.
func (w *WAL) Read(ctx context.Context, after Offset, maxBytes int64) ([]Record, error) {
	if maxBytes <= 0 {
		return nil, errors.New("wal: read: maxBytes must be positive")
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
			if recs := w.fromCache(after, vis, maxBytes); recs != nil {
				w.mu.Unlock()
				return recs, nil
			}
			plan := w.diskPlan(after)
			w.mu.Unlock()
			recs, err := w.readDisk(plan, after, vis, maxBytes)
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
func (w *WAL) fromCache(after, vis Offset, maxBytes int64) []Record {
	c := w.cache[w.cacheHead:]
	if len(c) == 0 || c[0].Offset > after+1 {
		return nil
	}
	i := sort.Search(len(c), func(i int) bool { return c[i].Offset > after })
	j, n := i, int64(0)
	for j < len(c) && c[j].Offset <= vis {
		if n += int64(len(c[j].Data)); n > maxBytes && j > i {
			break
		}
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

// readDisk reads the records in (after, vis] from the planned segments,
// up to maxBytes of them (at least one).
func (w *WAL) readDisk(plan []segRead, after, vis Offset, maxBytes int64) ([]Record, error) {
	var recs []Record
	n := int64(0) // bytes in recs
	w.mu.Lock()
	hint := w.hint
	w.mu.Unlock()
	for _, sr := range plan {
		if n >= maxBytes {
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
		for {
			fr.maxLen = -1
			if len(recs) > 0 {
				fr.maxLen = max(maxBytes-n, 0) // stop before a record that does not fit
			}
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
				n += int64(len(p))
				hint = readHint{path: sr.path, pos: fr.pos, off: off}
			}
		}
		f.Close()
		if fr.stopped {
			break
		}
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
//
// Commit frees space on a full disk: the checkpoint is overwritten in place,
// which takes no new disk block, and when even that fails (a copy-on-write
// file system, say) the segments are deleted anyway, since the sink has the
// records, and the checkpoint written again. If that fails too, Commit
// returns the error and Committed stays; after a restart the log starts at
// its first remaining segment.
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

	err := w.cp.write(upTo)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.deleteUpTo(upTo)
		w.mu.Unlock()
		err = w.cp.write(upTo)
		w.mu.Lock()
		if err != nil {
			return fmt.Errorf("wal: commit %d: checkpoint: %w", upTo, err)
		}
	}
	w.committed = upTo
	for len(w.cache)-w.cacheHead > 0 && w.cache[w.cacheHead].Offset <= upTo {
		w.cacheDropHead()
	}
	w.deleteUpTo(upTo)
	return nil
}

// OldestSegmentEnd returns the offset of the last record in the oldest
// segment file, or 0 when the log holds no segment. Committing it deletes
// that segment: a log that should lose its oldest records rather than refuse
// new ones (a spool) does so when Append returns ErrFull. With one segment
// it is the last record appended, so committing it empties the log.
func (w *WAL) OldestSegmentEnd() Offset {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch len(w.segs) {
	case 0:
		return 0
	case 1:
		return w.next - 1
	default:
		return w.segs[1].first - 1
	}
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
		Syncs:           w.syncs,
		Corrupted:       w.corrupted,
		TornTruncations: w.torn,
		TornBytes:       w.tornBytes,
		LostTails:       w.lostTails,
		LostRecords:     w.lostRecords,
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
	if cerr := w.cp.close(); err == nil && cerr != nil {
		err = fmt.Errorf("wal: %w", cerr)
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
