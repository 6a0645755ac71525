package wal

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// validSegment returns the bytes of a segment holding records 1..n.
func validSegment(n int) []byte {
	var b []byte
	for i := 1; i <= n; i++ {
		p := rec(i)
		f := make([]byte, headerSize+len(p))
		copy(f[headerSize:], p)
		putHeader(f, Offset(i), len(p), crcOf(p))
		b = append(b, f...)
	}
	return b
}

// FuzzRecover writes arbitrary bytes as a segment file: Open never panics,
// recovers, serves what it kept in order, and accepts appends after it.
func FuzzRecover(f *testing.F) {
	good := validSegment(4)
	f.Add(good)
	f.Add(good[:len(good)-7])
	damaged := append([]byte(nil), good...)
	damaged[headerSize+len(rec(1))+2] ^= 1
	f.Add(damaged)
	f.Add([]byte{})
	f.Add(make([]byte, 100))
	f.Add(append(validSegment(2), magicBytes...))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segName(1)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := Open(dir, Options{Logger: quiet, SegmentSize: 1 << 16, MaxBytes: 1 << 20})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer w.Close()
		var after Offset
		done, cancel := context.WithCancel(context.Background())
		cancel() // Read returns what is there, and does not wait
		for {
			recs, err := w.Read(done, after, 64)
			if err != nil {
				break
			}
			for _, r := range recs {
				if r.Offset <= after {
					t.Fatalf("offset %d after %d", r.Offset, after)
				}
				after = r.Offset
			}
		}
		off, err := w.Append(context.Background(), []byte("new"))
		if err != nil {
			t.Fatalf("Append after recovery: %v", err)
		}
		if off <= after {
			t.Fatalf("new offset %d not after recovered %d", off, after)
		}
	})
}
