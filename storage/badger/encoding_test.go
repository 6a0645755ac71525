package badger

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// mapResources is a resolver over resources kept in a map.
type mapResources map[resID][]storage.Attribute

func (m mapResources) resource(id resID) ([]storage.Attribute, error) {
	a, ok := m[id]
	if !ok {
		return nil, errors.New("no such resource")
	}
	return a, nil
}

// encode encodes sp, its resource into m.
func (m mapResources) encode(sp *storage.Span) []byte {
	if len(sp.Resource) == 0 {
		return appendSpan(nil, sp, nil)
	}
	h := sha256.Sum256(appendAttrs(nil, sp.Resource))
	var id resID
	copy(id[:], h[:])
	m[id] = sp.Resource
	return appendSpan(nil, sp, &id)
}

func TestEncodingRoundTrip(t *testing.T) {
	base := time.Now()
	full := storagetest.FullSpan(storage.TraceID{1, 2}, storage.SpanID{3}, storage.SpanID{4}, base)
	extreme := full.Copy()
	extreme.StartTime, extreme.EndTime = 1<<62, -1<<62 // end before start, huge
	extreme.Flags, extreme.DroppedAttributes = 1<<32-1, 1<<32-1
	extreme.Kind, extreme.StatusCode = -1, 127
	extreme.Events[0].Time = -5
	tests := []struct {
		name string
		span storage.Span
	}{
		{"full", full},
		{"zero", storage.Span{}},
		{"extreme", extreme},
	}
	tests = append(tests, struct {
		name string
		span storage.Span
	}{"generated", storagetest.NewGenerator(1).Trace(base, 1)[0]})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mapResources{}
			b := res.encode(&tt.span)
			got, err := decodeSpan(b, res)
			if err != nil {
				t.Fatalf("decodeSpan: %v", err)
			}
			if d := storagetest.DiffSpans([]storage.Span{got}, []storage.Span{tt.span}); d != "" {
				t.Fatalf("round trip differs:\n%s", d)
			}
			// Every strict prefix is an error, never a panic.
			for i := range len(b) {
				if _, err := decodeSpan(b[:i], res); err == nil {
					t.Fatalf("decodeSpan(first %d of %d bytes): no error", i, len(b))
				}
			}
			if _, err := decodeSpan(append(b, 0), res); err == nil {
				t.Fatal("decodeSpan with a trailing byte: no error")
			}
		})
	}
}

func TestDecodeBad(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"version", []byte{3}},
		{"missing resource", appendSpan(nil, &storage.Span{}, &resID{1})},
		{"bad resource reference", func() []byte {
			b := appendSpan(nil, &storage.Span{}, &resID{1})
			b[len(b)-len(resID{})-1-8] = 2 // the reference's flag byte
			return b
		}()},
		{"varint overflow", append(append([]byte{spanVersion}, make([]byte, 32)...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)},
		{"huge string", append(append([]byte{spanVersion}, make([]byte, 32)...), 0xff, 0xff, 0xff, 0xff, 0x0f)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeSpan(tt.b, mapResources{}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func FuzzDecodeSpan(f *testing.F) {
	g := storagetest.NewGenerator(3)
	for _, sp := range g.Trace(time.Now(), 3) {
		f.Add(appendSpan(nil, &sp, nil))
	}
	full := storagetest.FullSpan(storage.TraceID{1}, storage.SpanID{2}, storage.SpanID{}, time.Now())
	f.Add(appendSpan(nil, &full, &resID{7}))
	f.Add([]byte{})
	f.Add([]byte{spanVersion, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		sp, err := decodeSpan(b, nil)
		if err != nil {
			return
		}
		// What decodes re-encodes to a span that decodes the same.
		res := mapResources{}
		again, err := decodeSpan(res.encode(&sp), res)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if d := storagetest.DiffSpans([]storage.Span{again}, []storage.Span{sp}); d != "" {
			t.Fatalf("re-encode differs:\n%s", d)
		}
	})
}

func TestAppendTermPrefixFree(t *testing.T) {
	long := string(make([]byte, maxInlineTerm+1))
	terms := []string{"", "a", "ab", "b", "\x00", "\x00\x01", long, long + "x"}
	for i, a := range terms {
		for j, b := range terms {
			ka, kb := appendTerm(nil, a), appendTerm(nil, b)
			if i != j && len(ka) <= len(kb) && string(kb[:len(ka)]) == string(ka) {
				t.Errorf("term(%q) is a prefix of term(%q)", a, b)
			}
		}
	}
}

func TestTimeOrder(t *testing.T) {
	times := []int64{-1 << 63, -5, -1, 0, 1, 5, 1 << 62, 1<<63 - 1}
	for i := 1; i < len(times); i++ {
		a, b := appendTime(nil, times[i-1]), appendTime(nil, times[i])
		if string(a) >= string(b) {
			t.Errorf("appendTime(%d) >= appendTime(%d)", times[i-1], times[i])
		}
		if got := readTime(b); got != times[i] {
			t.Errorf("readTime(appendTime(%d)) = %d", times[i], got)
		}
	}
}
