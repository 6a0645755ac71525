// Package wal is a segmented, checksummed write-ahead log that is also a
// durable queue: the collector's buffer between its receivers and its sink,
// the agent's buffer, and the disk spool of the library's exporter. It
// imports only the standard library, so that the library side may use it.
//
// Append writes a record and returns once it is durable according to the
// SyncPolicy; Read returns records after an offset, waiting for new ones;
// Commit records that the sink has durably written everything up to an
// offset, persists that checkpoint and deletes segments wholly below it.
// After Open, reading from Committed() replays everything the sink has not
// confirmed.
//
// # On disk
//
// The directory holds segment files named by the offset of their first
// record (%020d.seg), a checkpoint file holding the committed offset (two
// slots, overwritten in place, so that a Commit needs no free space), and a
// LOCK file that keeps a second process out. Each record is a 24-byte header
// (magic, length, offset, CRC-32C of the payload, CRC-32C of the header)
// and the payload, so that Open can cut a torn tail (an incomplete record at
// the end of a segment, left by a crash mid-write) and skip a damaged record
// while keeping the ones after it with their offsets: a damaged payload is
// stepped over by its (checked) length, a damaged header by searching for
// the next intact record.
//
// # Space
//
// Options.MaxBytes caps the disk space of the segments, counted a whole
// segment at a time; past it, or when the disk is full, Append returns
// ErrFull until Commit frees whole segments. Commit works on a full disk.
// Read returns a byte budget of records at a time (a larger record alone).
//
// # Damage and failure
//
// Open reports what it found in Stats: a torn tail of the last segment is
// what a crash during a write leaves; a torn tail of an earlier segment, or
// a damaged record, is data lost after it was acknowledged, and logged as an
// error. A failed fsync fails the log for good (Err, ErrFailed): only a
// restart, which recovers from what the disk holds, makes it write again.
//
// # Memory
//
// Append keeps a copy of each record in a cache bounded by
// Options.CacheBytes, so that a sink that keeps up reads from memory; a
// sink that falls behind, and the replay after Open, read the segment
// files.
//
// # Durability
//
// With SyncBatch (the default) Append returns after an fsync that covers its
// record; appends that arrive while an fsync runs share the next one (group
// commit). With SyncInterval, Append returns once the record is written to
// the operating system, and the log is fsynced every Options.SyncInterval:
// faster, but a power loss (not a process crash) may lose the records of the
// last interval even though Append returned.
package wal
