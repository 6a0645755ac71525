package clickhouse

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"slices"
	"unsafe"

	"github.com/tracerdev/tracer/storage"
)

// resourceHash identifies a resource by its content: the first 16 bytes of
// the SHA-256 of its attributes (key, type and value of each, in order,
// lengths prefixed). The zero hash stands for the empty resource, which has
// no row in tracer_resources.
type resourceHash [16]byte

func (h resourceHash) isZero() bool { return h == resourceHash{} }

// sliceKey identifies a Resource slice by identity: spans decoded from one
// OTLP resource share one slice, which is then hashed once per call.
type sliceKey struct {
	first *storage.Attribute
	n     int
}

// recentResources is how many distinct Resource slices hashResources
// remembers: the decoder yields the spans of one resource one after the
// other, so a few cover interleaved batches without a map's allocations.
const recentResources = 8

// hashResources returns the hash of each span's resource, hashing a slice
// that consecutive (or recent) spans share once.
func hashResources(spans []storage.Span) []resourceHash {
	out := make([]resourceHash, len(spans))
	var (
		keys    [recentResources]sliceKey
		sums    [recentResources]resourceHash
		next    int
		h       hash.Hash
		scratch []byte // reused by hashAttributes
	)
spans:
	for i := range spans {
		res := spans[i].Resource
		if len(res) == 0 {
			continue
		}
		k := sliceKey{&res[0], len(res)}
		for j := range keys {
			if keys[j] == k {
				out[i] = sums[j]
				continue spans
			}
		}
		if h == nil {
			h = sha256.New()
		}
		out[i], scratch = hashAttributes(h, res, scratch)
		keys[next], sums[next] = k, out[i]
		next = (next + 1) % recentResources
	}
	return out
}

// hashAttributes returns the resourceHash of attrs, using h and scratch
// (returned for reuse).
func hashAttributes(h hash.Hash, attrs []storage.Attribute, scratch []byte) (resourceHash, []byte) {
	h.Reset()
	scratch = slices.Grow(scratch[:0], sha256.Size)
	for i := range attrs {
		a := &attrs[i]
		scratch = binary.AppendUvarint(scratch[:0], uint64(len(a.Key)))
		scratch = append(scratch, a.Key...)
		scratch = append(scratch, byte(a.Type))
		scratch = binary.AppendUvarint(scratch, uint64(len(a.Value)))
		_, _ = h.Write(scratch)
		// Values may be large: hashed where they are, not copied (the hash
		// only reads them).
		_, _ = h.Write(unsafe.Slice(unsafe.StringData(a.Value), len(a.Value)))
	}
	// The sum goes into scratch: a local array would escape through the
	// interface call, one allocation per resource.
	scratch = h.Sum(scratch[:0])
	var out resourceHash
	copy(out[:], scratch)
	return out, scratch
}
