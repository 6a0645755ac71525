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
//
// The attribute index holds, for each span, its own attributes and the
// resource attributes whose key the span does not have: exactly what a
// Query's Attributes match. The vector clock's attributes (tracer.vc.*)
// change on every span and are left out of it; a query on them alone is
// answered by testing the spans another index yields. Keying spans by trace id and span id makes writes
// idempotent: a retried batch overwrites the same keys.
//
// Trace is one prefix scan of 0x01. FindTraces picks one index (an
// attribute, else service and operation, else service and duration, else
// service, else start time), walks it from the newest start time down and
// reads each hit's span to test the rest of the query when the index key
// does not settle it, until it has Limit traces; then it loads them. The
// duration index is walked in duration order, keeping the Limit most recent
// traces. Dependencies scan 0x06 over the window, whose values carry what an
// edge needs, so no span in the window is decoded; only parents that started
// before the window are read from their spans.
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
// A span with a zero trace or span id, or whose encoding exceeds the value
// size Badger takes (just under the value log file size), is rejected with a
// storage.RejectedError naming it; the rest of its call is stored. Any other
// error is Badger's and the caller retries the call. A span written again
// with other content (a new name, start time, attributes) has the index
// entries of its stored version deleted in the same batch, so a search
// matches only what Trace returns; Services and Operations list only names
// that some index entry still holds.
//
// Two caveats: a span rewritten with only another kind leaves its old
// (name, kind) in Operations until Purge finds no span of that name; and two
// calls that write different versions of one span at the same time may
// leave the index entries of one behind (a retried batch carries the same
// content and is exact).
//
// # Retention
//
// The store runs no goroutine of its own. Purge, which its owner calls
// (the binary's retention loop), deletes spans that started before a time
// with all their index entries (it reads each old span to find them), then
// the list entries and resources no span uses any more, and then runs value
// log garbage collection, which frees the disk of large spans once Badger's
// compactions have counted them as deleted. Badger's TTL is not used: it
// would expire spans without their index entries.
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
// window.
package badger
