package wal

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
)

// diskUse returns the disk space the segment files in dir take, in blocks
// as the file system allocated them.
func diskUse(t *testing.T, dir string) int64 {
	t.Helper()
	n := int64(0)
	for _, p := range segFiles(t, dir) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Sys().(*syscall.Stat_t).Blocks * 512
	}
	return n
}

// TestDiskUseBoundedByCap appends records of several sizes until the log is
// full, commits part, and fills it again: the blocks its segments take on
// the disk never pass MaxBytes, and Stats counts each segment whole.
func TestDiskUseBoundedByCap(t *testing.T) {
	const seg, maxBytes = 4 << 10, 32 << 10
	for _, tc := range []struct {
		name  string
		sizes []int // record sizes appended in turn, with their header
	}{
		{"small records", []int{100}},
		{"records leaving slack", []int{1500}},
		{"mixed sizes", []int{100, 3000, 700, 2100}},
		{"records above a segment", []int{600, 6000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := open(t, dir, Options{SegmentSize: seg, MaxBytes: maxBytes})
			check := func(when string) {
				st := w.Stats()
				if use := diskUse(t, dir); use > maxBytes {
					t.Fatalf("%s: segments take %d bytes of disk, cap %d", when, use, maxBytes)
				}
				whole := int64(0)
				for _, p := range segFiles(t, dir) {
					fi, err := os.Stat(p)
					if err != nil {
						t.Fatal(err)
					}
					whole += max((fi.Size()+seg-1)/seg, 1) * seg
				}
				if st.Bytes != whole || st.Bytes > maxBytes {
					t.Fatalf("%s: Stats.Bytes = %d, segments counted whole %d, cap %d", when, st.Bytes, whole, maxBytes)
				}
			}
			var offs []Offset
			fill := func() {
				for i := 0; ; i++ {
					off, err := w.Append(context.Background(), make([]byte, tc.sizes[i%len(tc.sizes)]-headerSize))
					if errors.Is(err, ErrFull) {
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					offs = append(offs, off)
					check("appending")
				}
			}
			fill()
			check("full")
			if err := w.Commit(offs[len(offs)/2]); err != nil {
				t.Fatal(err)
			}
			check("after Commit")
			fill()
			check("full again")
		})
	}
}
