package clickhouse

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
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

// hashResources returns the hash of each span's resource, hashing each
// distinct slice once.
func hashResources(spans []storage.Span) []resourceHash {
	out := make([]resourceHash, len(spans))
	var (
		memo    map[sliceKey]resourceHash
		last    sliceKey
		lastSum resourceHash
		h       hash.Hash
		scratch []byte
	)
	for i := range spans {
		res := spans[i].Resource
		if len(res) == 0 {
			continue
		}
		k := sliceKey{&res[0], len(res)}
		if k == last {
			out[i] = lastSum
			continue
		}
		sum, ok := memo[k]
		if !ok {
			if h == nil {
				h, memo = sha256.New(), make(map[sliceKey]resourceHash)
			}
			sum, scratch = hashAttributes(h, res, scratch)
			memo[k] = sum
		}
		out[i], last, lastSum = sum, k, sum
	}
	return out
}

// hashAttributes returns the resourceHash of attrs, using h and scratch
// (returned for reuse).
func hashAttributes(h hash.Hash, attrs []storage.Attribute, scratch []byte) (resourceHash, []byte) {
	h.Reset()
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
	var sum [sha256.Size]byte
	var out resourceHash
	copy(out[:], h.Sum(sum[:0]))
	return out, scratch
}
