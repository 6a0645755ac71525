package vcstate

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"

	"github.com/tracerdev/tracer/vclock"
)

// Holder is one trace's clock in one process.
type Holder struct {
	mu       sync.Mutex
	deps     vclock.Clock // other nodes' entries
	depsText string       // cached encoding of deps
	local    uint64       // this node's counter after its last event
	open     int          // spans of this trace open in this process
	idle     int64        // unix nanos when open last dropped to 0
	full     string       // cached full encoding at fullAt
	fullAt   uint64
	attrs    [3]attribute.KeyValue // scratch for SetAttributes, guarded by mu
}

// mergeLocked merges text (validated) into deps, except the node's own entry.
func (h *Holder) mergeLocked(text, node string) {
	changed, err := h.deps.MergeText(text, node)
	if err == nil && changed {
		h.depsText = h.deps.String()
		h.full = ""
	}
}

// textLocked returns the full clock's encoding.
func (h *Holder) textLocked(node string) string {
	if h.full != "" && h.fullAt == h.local {
		return h.full
	}
	var buf [512]byte
	h.full = string(h.deps.AppendTextWith(buf[:0], node, h.local))
	h.fullAt = h.local
	return h.full
}
