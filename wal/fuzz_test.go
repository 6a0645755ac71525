package wal

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// validSegment returns the bytes of a segment holding records 1..n.
func validSegment(n int) []byte { return validSegmentFrom(1, n) }

// validSegmentFrom returns the bytes of n records from offset first.
func validSegmentFrom(first, n int) []byte {
	var b []byte
	for i := first; i < first+n; i++ {
		p := rec(i)
		f := make([]byte, headerSize+len(p))
		copy(f[headerSize:], p)
		putHeader(f, Offset(i), len(p), crcOf(p))
		b = append(b, f...)
	}
	return b
}

// FuzzRecover writes arbitrary bytes as segment files (split in two at
// split, the second named by second): Open never panics, recovers, serves
// what it kept in increasing offsets, and accepts appends after it.
func FuzzRecover(f *testing.F) {
	good := validSegment(4)
	f.Add(good, uint16(0), uint8(0))
	f.Add(good[:len(good)-7], uint16(0), uint8(0))
	damaged := append([]byte(nil), good...)
	damaged[headerSize+len(rec(1))+2] ^= 1
	f.Add(damaged, uint16(0), uint8(0))
	f.Add([]byte{}, uint16(0), uint8(0))
	f.Add(make([]byte, 100), uint16(0), uint8(0))
	f.Add(append(validSegment(2), magicBytes...), uint16(0), uint8(0))
	two := validSegment(2)
	f.Add(append(two, validSegmentFrom(3, 2)...), uint16(len(two)), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, split uint16, second uint8) {
		dir := t.TempDir()
		first := data
		if int(split) > 0 && int(split) < len(data) && second > 1 {
			first = data[:split]
			if err := os.WriteFile(filepath.Join(dir, segName(Offset(second))), data[split:], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, segName(1)), first, 0o644); err != nil {
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
			recs, err := w.Read(done, after, 4<<10)
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
