package collector

import "testing"

func TestDirtyPool(t *testing.T) {
	p := &dirtyPool{}
	for _, n := range []int{1, 4096, 4097, 100_000, 1 << 24, 1<<24 + 1} {
		b := p.Get(n)
		if len(*b) != n || cap(*b) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(*b), cap(*b))
		}
		p.Put(b)
	}
	// A buffer whose capacity is no tier's is not pooled: a later Get of
	// its tier must not hand it out too short.
	for range 100 {
		odd := make([]byte, 5000)
		p.Put(&odd)
		if b := p.Get(8000); len(*b) != 8000 || cap(*b) < 8000 {
			t.Fatalf("Get(8000) after Put of a 5000-byte buffer: len %d cap %d", len(*b), cap(*b))
		}
	}
	// Reused buffers keep their length right.
	for range 100 {
		b := p.Get(10_000)
		p.Put(b)
		if b := p.Get(9000); len(*b) != 9000 || cap(*b) != 16384 {
			t.Fatalf("Get(9000): len %d cap %d, want 9000 16384", len(*b), cap(*b))
		}
	}
}
