package otlp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/tracerdev/tracer/wal"
)

// A spool record is a request as it is sent, after a small header:
//
//	byte 0     recordVersion
//	uvarint    the number of spans in the request
//	the rest   the ExportTraceServiceRequest, protobuf wire form
//
// so that replay sends the bytes as they are and counts spans without
// decoding them.
const recordVersion = 1

func appendRecordHeader(b []byte, spans int) []byte {
	b = append(b, recordVersion)
	return binary.AppendUvarint(b, uint64(spans))
}

// parseRecord splits a spool record into its span count and body.
func parseRecord(data []byte) (spans int, body []byte, err error) {
	if len(data) < 2 || data[0] != recordVersion {
		return 0, nil, errors.New("not a spool record of this version")
	}
	n, k := binary.Uvarint(data[1:])
	if k <= 0 || n > 1<<31 {
		return 0, nil, errors.New("bad span count in spool record")
	}
	return int(n), data[1+k:], nil
}

// spool is the exporter's disk queue: a WAL whose oldest segment is dropped
// (and its spans counted) when it is full. Appends come from the spiller
// and, at shutdown, from Shutdown; reads and commits from the sender.
type spool struct {
	w *wal.WAL
	m *metrics

	mu       sync.Mutex // held by next, done and dropOldest throughout
	cursor   wal.Offset // the sender has taken every record up to here
	inflight wal.Offset // the record being sent, 0 if none
}

func openSpool(c config, m *metrics) (*spool, error) {
	seg := min(max(c.spoolBytes/8, 64<<10), 64<<20)
	w, err := wal.Open(c.spoolDir, wal.Options{
		SegmentSize:  seg,
		MaxBytes:     max(c.spoolBytes, seg),
		Sync:         c.spoolSync,
		SyncInterval: c.spoolInterval,
		CacheBytes:   -1, // the memory queue is the cache; keep memory bounded
		Logger:       c.logger,
	})
	if err != nil {
		return nil, fmt.Errorf("otlp: spool: %w", err)
	}
	return &spool{w: w, m: m, cursor: w.Committed()}, nil
}

// doneCtx makes WAL.Read return what is there without waiting.
var doneCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// append writes one request; when the spool is full it drops the oldest
// segment (counting its spans) and tries again.
func (s *spool) append(body []byte, spans int) error {
	rec := appendRecordHeader(make([]byte, 0, len(body)+11), spans)
	rec = append(rec, body...)
	for {
		_, err := s.w.Append(context.Background(), rec)
		if err == nil {
			s.m.spilled.Add(int64(spans))
			return nil
		}
		if errors.Is(err, wal.ErrFull) && s.dropOldest() {
			continue
		}
		if errors.Is(err, wal.ErrTooLarge) {
			s.m.drop(reasonTooLarge, int64(spans))
			return nil
		}
		return err
	}
}

// dropOldest commits the spool's oldest segment, counting the spans of its
// records but the one being sent (whose send counts it). It reports
// whether it freed anything.
func (s *spool) dropOldest() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	end := s.w.OldestSegmentEnd()
	from := s.w.Committed()
	if end <= from {
		return false
	}
	var spans int64
	for after := from; after < end; {
		recs, err := s.w.Read(doneCtx, after, 4<<20)
		if err != nil || len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if r.Offset > end {
				break
			}
			after = r.Offset
			if r.Offset == s.inflight {
				continue
			}
			if n, _, err := parseRecord(r.Data); err == nil {
				spans += int64(n)
			}
		}
	}
	if err := s.w.Commit(end); err != nil {
		return false
	}
	s.cursor = max(s.cursor, end)
	s.m.drop(reasonSpoolFull, spans)
	return true
}

// next returns the oldest record the sender has not taken, marking it in
// flight, or ok false when there is none.
func (s *spool) next() (off wal.Offset, spans int, body []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		recs, err := s.w.Read(doneCtx, max(s.cursor, s.w.Committed()), 1)
		if err != nil || len(recs) == 0 {
			return 0, 0, nil, false
		}
		r := recs[0]
		s.cursor = r.Offset
		n, b, perr := parseRecord(r.Data)
		if perr != nil {
			// Not ours (another version, or damage that passed the
			// checksum): skip it rather than block the spool.
			_ = s.w.Commit(r.Offset)
			continue
		}
		s.inflight = r.Offset
		return r.Offset, n, b, true
	}
}

// done ends the send of record off: sent (or lost for good) commits it;
// otherwise the next call to next takes it again. It reports whether the
// record was dropped (spool full) during its send, which the caller counts
// when the send failed.
func (s *spool) done(off wal.Offset, commit bool) (droppedMeanwhile bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight = 0
	if off <= s.w.Committed() {
		return true
	}
	if commit {
		// A failed Commit leaves the record to be sent again after a
		// restart: at least once.
		_ = s.w.Commit(off)
		return false
	}
	s.cursor = min(s.cursor, off-1)
	return false
}

// pending reports whether records are waiting to be sent, or being sent.
func (s *spool) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != 0 {
		return true
	}
	recs, err := s.w.Read(doneCtx, max(s.cursor, s.w.Committed()), 1)
	return err == nil && len(recs) > 0
}

func (s *spool) bytes() int64 { return s.w.Stats().Bytes }

func (s *spool) close() error { return s.w.Close() }
