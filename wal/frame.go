package wal

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
)

// A record on disk is a 24-byte header followed by the payload:
//
//	magic   uint32  frameMagic
//	length  uint32  payload length
//	offset  uint64  the record's Offset
//	crc     uint32  CRC-32C of the payload
//	hcrc    uint32  CRC-32C of the 20 bytes above
//
// all little-endian. The header has its own checksum so that a damaged
// length is never trusted, and the offset is in the header so that records
// after a damaged one keep their offsets.
const (
	headerSize = 24
	frameMagic = 0x314c4157 // "WAL1" little-endian
	// maxRecord bounds a record's payload.
	maxRecord = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var magicBytes = binary.LittleEndian.AppendUint32(nil, frameMagic)

// putHeader writes the header of a record into h.
func putHeader(h []byte, off Offset, length int, crc uint32) {
	binary.LittleEndian.PutUint32(h[0:], frameMagic)
	binary.LittleEndian.PutUint32(h[4:], uint32(length))
	binary.LittleEndian.PutUint64(h[8:], uint64(off))
	binary.LittleEndian.PutUint32(h[16:], crc)
	binary.LittleEndian.PutUint32(h[20:], crc32.Checksum(h[:20], castagnoli))
}

type header struct {
	off    Offset
	length int64
	crc    uint32
}

// parseHeader reads a header, reporting whether it is intact.
func parseHeader(h []byte) (header, bool) {
	if len(h) < headerSize || binary.LittleEndian.Uint32(h[0:]) != frameMagic {
		return header{}, false
	}
	if crc32.Checksum(h[:20], castagnoli) != binary.LittleEndian.Uint32(h[20:]) {
		return header{}, false
	}
	hd := header{
		off:    Offset(binary.LittleEndian.Uint64(h[8:])),
		length: int64(binary.LittleEndian.Uint32(h[4:])),
		crc:    binary.LittleEndian.Uint32(h[16:]),
	}
	if hd.length > maxRecord || hd.off == 0 {
		return header{}, false
	}
	return hd, true
}

// frameReader iterates over the records of one segment file, skipping
// damaged ones.
type frameReader struct {
	r    io.ReaderAt
	size int64 // bytes of the file to look at
	pos  int64 // where the next record starts
	last Offset
	hbuf [headerSize]byte
	buf  []byte // payload buffer when the caller does not keep payloads

	corrupted int64 // damaged records skipped
	// tornAt is where an incomplete record at the end starts, or -1.
	tornAt int64
	// maxLen, unless negative, makes next stop (and set stopped) at a
	// record whose payload is longer, before reading it.
	maxLen  int64
	stopped bool
}

func newFrameReader(r io.ReaderAt, size, pos int64) *frameReader {
	return &frameReader{r: r, size: size, pos: pos, tornAt: -1, maxLen: -1}
}

// next returns the next intact record. keep says whether the payload is
// returned in a fresh slice (else in a buffer reused by the next call). At
// the end it returns ok false; fr.tornAt then says whether the segment ends
// in an incomplete record, fr.stopped whether fr.maxLen stopped it.
func (fr *frameReader) next(keep bool) (off Offset, payload []byte, ok bool, err error) {
	for {
		if fr.pos >= fr.size {
			return 0, nil, false, nil
		}
		if fr.size-fr.pos < headerSize {
			fr.tornAt = fr.pos
			return 0, nil, false, nil
		}
		if _, err := fr.r.ReadAt(fr.hbuf[:], fr.pos); err != nil {
			return 0, nil, false, err
		}
		hd, intact := parseHeader(fr.hbuf[:])
		if !intact {
			found, err := fr.resync()
			if err != nil {
				return 0, nil, false, err
			}
			if !found {
				fr.tornAt = fr.pos
				return 0, nil, false, nil
			}
			continue
		}
		end := fr.pos + headerSize + hd.length
		if end > fr.size {
			fr.tornAt = fr.pos
			return 0, nil, false, nil
		}
		if fr.maxLen >= 0 && hd.length > fr.maxLen {
			fr.stopped = true
			return 0, nil, false, nil
		}
		var p []byte
		if keep {
			p = make([]byte, hd.length)
		} else {
			if int64(cap(fr.buf)) < hd.length {
				fr.buf = make([]byte, hd.length)
			}
			p = fr.buf[:hd.length]
		}
		if _, err := fr.r.ReadAt(p, fr.pos+headerSize); err != nil {
			return 0, nil, false, err
		}
		fr.pos = end
		if crc32.Checksum(p, castagnoli) != hd.crc {
			fr.corrupted++
			fr.last = max(fr.last, hd.off)
			continue
		}
		fr.last = hd.off
		return hd.off, p, true, nil
	}
}

// resync looks for the next intact record after a damaged header at fr.pos.
// When it finds one it moves fr.pos there and counts the records skipped
// (from the gap in offsets, at least one).
func (fr *frameReader) resync() (bool, error) {
	const window = 64 << 10
	buf := make([]byte, window+headerSize)
	for from := fr.pos + 1; from < fr.size; from += window {
		n := min(int64(len(buf)), fr.size-from)
		if _, err := fr.r.ReadAt(buf[:n], from); err != nil && err != io.EOF {
			return false, err
		}
		w := buf[:n]
		for i := 0; ; {
			j := bytes.Index(w[i:], magicBytes)
			if j < 0 || int64(i+j) >= window {
				break
			}
			at := from + int64(i+j)
			if ok, err := fr.intactAt(at); err != nil {
				return false, err
			} else if ok {
				if _, err := fr.r.ReadAt(fr.hbuf[:], at); err != nil {
					return false, err
				}
				hd, _ := parseHeader(fr.hbuf[:])
				skipped := int64(1)
				if fr.last > 0 && hd.off > fr.last+1 {
					skipped = int64(hd.off - fr.last - 1)
				}
				fr.corrupted += skipped
				fr.pos = at
				return true, nil
			}
			i += j + 1
		}
	}
	return false, nil
}

// intactAt reports whether a whole intact record starts at pos.
func (fr *frameReader) intactAt(pos int64) (bool, error) {
	var h [headerSize]byte
	if fr.size-pos < headerSize {
		return false, nil
	}
	if _, err := fr.r.ReadAt(h[:], pos); err != nil {
		return false, err
	}
	hd, ok := parseHeader(h[:])
	if !ok || pos+headerSize+hd.length > fr.size {
		return false, nil
	}
	p := make([]byte, hd.length)
	if _, err := fr.r.ReadAt(p, pos+headerSize); err != nil {
		return false, err
	}
	return crc32.Checksum(p, castagnoli) == hd.crc, nil
}

func crcOf(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }
