// Package vcstate keeps the per-trace vector clock of a process: the holder
// that the SDK's span processor ticks, the propagator encodes and the gRPC
// instrumentation merges responses into. It is shared by sdk, propagation
// and interceptors and is not part of the public API.
//
// One Holder exists per (processor, trace): a process is one node of the
// vector clock, and all its spans of a trace are events of that node. The
// node's counter comes from one process-wide atomic counter, so that every
// event of the node gets a distinct, growing count even when a trace's
// holder is dropped and later recreated.
//
// Extraction does not know which processor will handle a request, so it only
// validates the incoming text and parks it in the context (Inbound); the
// first span started under that context merges it into its holder.
//
// The holders are bounded in count (Config.MaxSpans open spans, in shards)
// and in age (Config.MaxIdle since a span of the trace last started); what
// is evicted is counted (Processor.Evicted and the EvictedMetric counter).
// A span start or end costs one shard lock and no scan: a holder indexes
// its open spans once it has more than a few, and the shard keeps its
// holders in a list by last start, so the oldest is found at once.
//
// A holder's clock is marked pruned when its causal past is known to be
// missing: a span started under a remote parent that sent no clock, or
// under a local parent whose holder is gone (see package vclock, "What the
// clock can tell").
package vcstate
