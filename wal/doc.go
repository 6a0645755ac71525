// Package wal is the collector's segmented write-ahead log, which is also its
// queue between the receivers and the sink.
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
// record (%020d.seg), a checkpoint file holding the committed offset, and a
// LOCK file that keeps a second process out. Each record is a 24-byte header
// (magic, length, offset, CRC-32C of the payload, CRC-32C of the header)
// and the payload, so that Open can cut a torn tail (an incomplete record at
// the end of a segment, left by a crash mid-write) and skip a damaged record
// while keeping the ones after it with their offsets: a damaged payload is
// stepped over by its (checked) length, a damaged header by searching for
// the next intact record.
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
