package wal

import (
	"io"
	"os"
)

// fileSystem is where the WAL's files come from. Production uses the
// operating system's; tests put one in Options.fs that fails writes, fsyncs
// or file creation as a full or failing disk would.
type fileSystem interface {
	OpenFile(name string, flag int, perm os.FileMode) (file, error)
	Remove(name string) error
}

// file is the part of *os.File the WAL uses.
type file interface {
	io.ReaderAt
	io.WriterAt
	Stat() (os.FileInfo, error)
	Truncate(size int64) error
	Sync() error
	Close() error
}

var _ file = (*os.File)(nil)

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (file, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // not a typed nil in an interface
	}
	return f, nil
}

func (osFS) Remove(name string) error { return os.Remove(name) }
