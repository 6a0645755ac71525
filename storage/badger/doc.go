// Package badger is an embedded on-disk storage.Store on Badger
// (github.com/dgraph-io/badger/v4), the default store of `tracer
// all-in-one`.
//
// # Why Badger
//
// Jaeger's embedded backend uses Badger for the same job. It is pure Go (no
// cgo), an LSM tree that takes the write-heavy, append-mostly load of spans
// well, keeps large values in a separate value log so the key tree stays
// small for index scans, offers ordered prefix iteration in both directions
// (a trace is one prefix scan, a search walks an index newest first), and
// supports concurrent transactions with snapshot reads. SQLite or bbolt would
// serialise writers; Pebble would also fit but Badger is what operators of
// Jaeger already know.
//
// # Key layout
//
// Every key starts with a one-byte prefix. A term is a string in a key: a 0
// byte, its uvarint length and its bytes, or for strings over 256 bytes a 1
// byte and 16 bytes of SHA-256 (hits on hashed terms are confirmed against the
// span). Times are big-endian with the sign bit flipped, so byte order is
// time order. Ids are the raw 16-byte trace id and 8-byte span id.
//
//	0x01 trace span                              -> span (binary, see below)
//	0x02 term(service) start trace span          (service index)
//	0x03 term(service) term(name) start trace span (operation index)
//	0x04 term(key) term(value) start trace span  (attribute index)
//	0x05 term(service) duration start trace span (duration index)
//	0x06 start trace span                        -> parent, status, service
//	0x07 term(service)                           -> service (services list)
//	0x08 term(service) term(name) kind           -> name (operations list)
//	0x09 resource id                             -> resource attributes
//	0x0a resource id hour                        (spans of that hour use it)
//	0x0b trace parent span                       -> start, status, service (child index)
//	0x0c level group bucket term(service) [term(name)] kind -> RED counts
//	0x0d level bucket term(parent) term(child)   -> edge counts
//	0x0e start trace span                        -> parent start, status, services (skewed edge)
//	0x0f hour res term(service) term(key)        -> key (attribute key listing)
//	0x10 hour res term(service) term(key) term(value) -> value (attribute value listing)
//	0x7f "format"                                -> format version
//
// The attribute index holds, for each span, its own attributes and the
// resource attributes whose key the span does not have: exactly what a
// Query's Attributes match; and the resource attributes that the span
// overrides with another value, so that it also holds every span a
// Query's ResourceAttributes match (hits are confirmed against the span). The vector clock's attributes (tracer.vc.*)
// change on every span and are left out of it; a query on them alone is
// answered by testing the spans another index yields. Keying spans by trace id and span id makes writes
// idempotent: a retried batch overwrites the same keys.
//
// Trace is one prefix scan of 0x01. FindTraces picks one index (an
// attribute, else service and operation, else service and duration, else
// service, else start time), walks it from the newest start time down and
// reads each hit's span to test the rest of the query when the index key
// does not settle it (status and resource attributes are always tested),
// until it has Limit traces; then it loads them (FindTraces), returns their
// ids (FindTraceIDs), or summarizes each from one prefix scan that decodes
// only the head of each span (FindTraceSummaries). The duration index is
// walked in duration order, keeping the Limit most recent traces.
// StreamTrace reads MaxStreamBatch spans per iterator from one read
// transaction (a snapshot), resuming after the last key read: neither the
// trace nor the store's lock is held across the callback, and Close waits
// for a stream under way to reach its next batch.
//
// # Aggregates
//
// What would otherwise scan the whole window is counted on write:
//
//   - RED (0x0c): per minute, ten minutes and hour (level), per service and
//     kind or per service, operation and kind (group): the errors and the
//     storage.LatencyBucket histogram (the calls are its count). RED reads
//     each part of the range from the coarsest level whose buckets the range
//     holds whole and whose width divides the step; Start and End are
//     rounded down to the minute.
//   - Dependency edges (0x0d): per minute, ten minutes and hour of the
//     child's start, per parent and child service, the calls and errors of
//     the child spans whose parent is stored, in another service, and
//     started no later than the child; a child whose parent started after it (clock skew) is kept
//     alone (0x0e) with the parent's start, so that Dependencies can leave it
//     out when the parent started after the window's end. Dependencies sums
//     the buckets the window holds whole (the coarsest first) and counts the
//     partial minutes at its ends exactly from their spans, as before, with
//     storage.DependencyCounter.
//   - Attribute listings (0x0f, 0x10): per hour of span start, span or
//     resource attribute, and service, the keys, and the values up to
//     ReaderLimits.MaxAttributeValues per key; keys and values over 256
//     bytes, and the values of the vector clock's attributes, are not
//     listed. AttributeKeys and AttributeValues read the hours that overlap
//     the window (the last 24 hours when Start is zero).
//
// The writer keeps them exact: it reads the stored version of each span it
// writes, the span's parent (by id) and, for a span that is new or moved,
// its stored children (the child index 0x0b), and counts the difference
// between the edges and RED counts before and after the write. A retried
// batch changes nothing, a rewritten span moves its counts, and a parent
// written after its children counts their edges then.
//
// # Span encoding
//
// A span value is a hand-written binary encoding (encoding/binary varints,
// length-prefixed strings; see appendSpan): compact and decoded with one
// allocation for all of a span's strings. Its first byte is a version.
//
// A resource is stored once, under the hash of its encoding (0x09), and
// spans refer to it by that id: the spans of one WriteSpans call that share
// a Resource slice (as the decoder gives them) have it hashed once, and a
// resource already known stored is not written again. A read decodes each
// resource once and the spans of that resource in the result share it.
// 0x0a records the hours whose spans use a resource, so that Purge deletes a
// resource with the last hour of spans that used it.
//
// # Writes
//
// Writes run one at a time (the collector writes from one goroutine
// anyway). A call is stored in transactions of about a thousand spans, each
// holding its spans, their index entries and the aggregate values they
// change, so that a crash leaves the aggregates describing exactly the
// spans stored. The aggregate values last written are cached in memory
// (bounded), so that a write reads few of them. A call of 1000 spans (100
// traces of 10) writes about a fifth more Badger entries than without the
// aggregates (the child index, the RED and edge values, the listed
// values), and Badger's cost is per entry: measured with
// BenchmarkWriteFresh and BenchmarkWriteSpans on a loaded 2-core machine,
// a call of fresh spans takes about 1.2 to 1.35 times as long (a retried
// call 1.3 to 1.5 times), the process 1.2 times the CPU, and 1.3 times the
// bytes and allocations.
//
// A span with a zero trace or span id, or whose encoding exceeds the value
// size Badger takes (just under the value log file size), is rejected with a
// storage.RejectedError naming it; the rest of its call is stored. Any other
// error is Badger's and the caller retries the call. A span written again
// with other content (a new name, start time, attributes) has the index
// entries of its stored version deleted in the same batch, so a search
// matches only what Trace returns; Services and Operations list only names
// that some index entry still holds.
//
// A span rewritten with only another kind leaves its old (name, kind) in
// Operations until Purge finds no span of that name, and the attribute
// listings keep what an old version carried (they list what was seen).
//
// # Retention
//
// The store runs no goroutine of its own. Purge, which its owner calls
// (the binary's retention loop), deletes spans that started before a time
// with all their index entries (it reads each old span to find them), then
// the aggregates of the minutes and hours that end at or before that time,
// then the list entries and resources no span uses any more, and then runs
// value log garbage collection, which frees the disk of large spans once Badger's
// compactions have counted them as deleted. Badger's TTL is not used: it
// would expire spans without their index entries.
//
// # Format
//
// The key layout has a version, recorded at 0x7f. Version 2 (this one)
// added the child index, the aggregates and the override entries of the
// attribute index. Open upgrades a directory written by an older Tracer
// (version 1, which has no record): it writes every stored span again
// through the write path, in key order, counting a span as stored only once
// it is written again, so that the aggregates come out as if the spans had
// been written with this version (it logs a warning first; it takes about
// as long as writing the spans did, minutes for millions). The version is
// recorded last, so a crash restarts the upgrade, which first deletes what
// the interrupted one wrote. A directory of another version is refused
// with an error that says what to do.
//
// # Crashes
//
// A crash can leave an empty memtable file that Badger refuses to open
// (dgraph-io/badger#2207); Open removes such files, which hold no data, and
// logs them.
//
// # Limits
//
// Readers apply storage.ReaderLimits (WithReaderLimits): at most
// MaxTraceSpans spans of a trace, in span id order; Query.Limit up to
// MaxTraces; Dependencies holds at most MaxDependencySpans spans of the
// window's partial minutes (whole minutes are read from the aggregates);
// RED returns at most MaxREDPoints points; AttributeQuery.Limit up to
// MaxAttributeValues, which also bounds the values listed on write.
package badger
