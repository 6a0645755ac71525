// Package storage defines Tracer's storage contract: the span model every
// backend stores, the Writer that stores it, the Reader that finds it, the
// DependencyReader behind the service graph and the Purger that applies
// retention.
//
// Backends live in sub-packages (memory, badger, clickhouse). Every backend
// passes the one conformance suite in storage/storagetest.
//
// The contract, which every backend keeps:
//
//   - Writes are synchronous: when WriteSpans returns nil, the spans are
//     durable for that backend and visible to readers.
//   - Writes are idempotent: writing the same span (same trace id and span id)
//     again, as a retried batch does, never shows it twice to readers. The
//     last version written is the one Trace returns, and the only one a
//     search matches or Operations lists.
//   - The only permanent write error is a *RejectedError (Reject, Rejected):
//     it names the spans of the call that the backend cannot store and why;
//     every other span of the call is stored. Any other write error is about
//     the deployment (connection, server, schema, disk, deadline) and the
//     caller retries the whole call.
//   - The spans a writer is given are read-only to it, and their slices may be
//     shared: all the spans of one resource may hold the same Resource slice,
//     which a backend may store once.
//   - Readers return copies the caller owns; the caller may modify them,
//     except that the spans of one resource in one result may share their
//     Resource slice.
//   - Readers are bounded by ReaderLimits: a trace comes back with at most
//     MaxTraceSpans spans (Trace.Truncated says more are stored), a search
//     asks for at most MaxTraces traces, and Dependencies holds at most
//     MaxDependencySpans spans. Arguments a reader refuses (a limit over the
//     maximum, a negative lookback) are errors wrapping ErrInvalidQuery.
//   - Retention has one owner, the caller of Purger.Purge; a backend runs
//     no retention of its own, and Purge also reclaims the space the purged
//     spans took where the backend needs a step for it.
//   - All methods are safe for concurrent use and honour ctx's deadline.
//   - Attribute values are data, never code: a backend stores any key or value
//     (quotes, backslashes, SQL, invalid UTF-8) exactly or rejects the span
//     with an error; it never interprets them.
package storage
