package query

import (
	"encoding/base64"
	"testing"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

var (
	base64Std    = base64.StdEncoding
	base64RawURL = base64.RawURLEncoding
)

// newStore returns a memory store holding spans, closed at the end of t.
func newStore(t testing.TB, spans []storage.Span, opts ...memory.Option) storage.ReadStore {
	return newMemory(t, spans, opts...)
}
