package wal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// The checkpoint file holds the committed offset in two slots, slotStride
// bytes apart so that they sit in different disk sectors. A slot is the
// offset (uint64) and its CRC-32C, little-endian. Commit overwrites the slot
// that does not hold the newest offset, in place, and fsyncs the file; Open
// takes the larger intact slot. Overwriting bytes the file already has needs
// no new disk block, so a commit works, and frees space, when the disk is
// full; a write torn by a crash damages one slot at most. (The file of one
// slot, 12 bytes, is the format before; Open reads it and extends it.)
const (
	slotSize       = 12
	slotStride     = 512
	checkpointSize = slotStride + slotSize
)

// checkpoint is the open checkpoint file.
type checkpoint struct {
	f    file
	path string
	next int // the slot the next write goes to
}

// openCheckpoint opens the checkpoint file in dir, creating it (or
// extending a file of the format before) with both slots at the offset it
// held, and returns the committed offset. A damaged file is reported in
// damaged and counts as offset 0.
func openCheckpoint(fs fileSystem, dir string) (c *checkpoint, off Offset, damaged error, err error) {
	path := filepath.Join(dir, checkpointName)
	f, err := fs.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, 0, nil, err
	}
	c = &checkpoint{f: f, path: path}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	b := make([]byte, checkpointSize)
	n, err := f.ReadAt(b, 0)
	if err != nil && n < int(min(fi.Size(), checkpointSize)) {
		f.Close()
		return nil, 0, nil, err
	}
	slots := [2]Offset{}
	intact := [2]bool{}
	for i := range slots {
		if at := i * slotStride; n >= at+slotSize {
			slots[i], intact[i] = parseSlot(b[at : at+slotSize])
		}
	}
	switch {
	case intact[0] && intact[1]:
		off = max(slots[0], slots[1])
		if slots[1] > slots[0] {
			c.next = 0
		} else {
			c.next = 1
		}
	case intact[0]:
		off, c.next = slots[0], 1
	case intact[1]:
		off, c.next = slots[1], 0
	case fi.Size() > 0:
		damaged = fmt.Errorf("checkpoint %s is damaged", path)
	}
	if fi.Size() != checkpointSize || !intact[0] || !intact[1] {
		// A new file, the format before, or a damaged slot: write both.
		if err := c.writeBoth(off); err != nil {
			f.Close()
			return nil, 0, nil, fmt.Errorf("prepare checkpoint: %w", err)
		}
		if err := syncDir(fs, dir); err != nil {
			f.Close()
			return nil, 0, nil, fmt.Errorf("prepare checkpoint: %w", err)
		}
	}
	return c, off, damaged, nil
}

func parseSlot(b []byte) (Offset, bool) {
	if crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:]) {
		return 0, false
	}
	return Offset(binary.LittleEndian.Uint64(b)), true
}

func appendSlot(b []byte, off Offset) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(off))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[len(b)-8:], castagnoli))
}

func (c *checkpoint) writeBoth(off Offset) error {
	b := make([]byte, checkpointSize)
	appendSlot(b[:0], off)
	appendSlot(b[slotStride:slotStride], off)
	if _, err := c.f.WriteAt(b, 0); err != nil {
		return err
	}
	if err := c.f.Truncate(checkpointSize); err != nil {
		return err
	}
	c.next = 0
	return c.f.Sync()
}

// write persists off in place. When it fails the slot it was writing may be
// damaged; the next write goes to the same slot, the other one still holds
// the last offset that was persisted.
func (c *checkpoint) write(off Offset) error {
	b := appendSlot(make([]byte, 0, slotSize), off)
	if _, err := c.f.WriteAt(b, int64(c.next*slotStride)); err != nil {
		return err
	}
	if err := c.f.Sync(); err != nil {
		return err
	}
	c.next = 1 - c.next
	return nil
}

func (c *checkpoint) close() error { return c.f.Close() }

func syncDir(fs fileSystem, dir string) error {
	d, err := fs.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
