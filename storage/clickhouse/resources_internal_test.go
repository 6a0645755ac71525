package clickhouse

import (
	"slices"
	"testing"

	"github.com/tracerdev/tracer/storage"
)

func TestHashResources(t *testing.T) {
	a := []storage.Attribute{{Key: "service.name", Type: storage.TypeString, Value: "a"}, {Key: "n", Type: storage.TypeInt, Value: "1"}}
	hash := func(res []storage.Attribute) resourceHash { return hashResources([]storage.Span{{Resource: res}})[0] }
	for _, tt := range []struct {
		name  string
		other []storage.Attribute
		same  bool
	}{
		{"same content, another slice", slices.Clone(a), true},
		{"another value", []storage.Attribute{a[0], {Key: "n", Type: storage.TypeInt, Value: "2"}}, false},
		{"another type", []storage.Attribute{a[0], {Key: "n", Type: storage.TypeString, Value: "1"}}, false},
		{"another order", []storage.Attribute{a[1], a[0]}, false},
		{"key and value boundary moved", []storage.Attribute{a[0], {Key: "n1", Type: storage.TypeInt, Value: ""}}, false},
		{"fewer attributes", a[:1], false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := hash(tt.other) == hash(a); got != tt.same {
				t.Errorf("hashes equal = %v, want %v", got, tt.same)
			}
		})
	}
	if !hash(nil).isZero() || hash(a).isZero() {
		t.Error("the empty resource must hash to zero, and only it")
	}
	// Interleaved shared slices hash as their content does.
	b := []storage.Attribute{{Key: "service.name", Type: storage.TypeString, Value: "b"}}
	spans := []storage.Span{{Resource: a}, {Resource: b}, {Resource: a}, {Resource: nil}, {Resource: b}}
	got := hashResources(spans)
	want := []resourceHash{hash(a), hash(b), hash(a), {}, hash(b)}
	if !slices.Equal(got, want) {
		t.Errorf("hashResources = %x, want %x", got, want)
	}
}
