package wal

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// faultFS is the operating system's file system with a disk of limited
// capacity and faults on demand: the test seam for full and failing disks.
// It counts the bytes of the files it opened.
type faultFS struct {
	mu       sync.Mutex
	capacity int64            // bytes the disk holds; 0: unlimited
	used     int64            // bytes of the files below
	sizes    map[string]int64 // the files it opened, by path
	// cow makes every write take new space, as on a copy-on-write file
	// system, instead of only the bytes that extend a file.
	cow bool
	// syncErr, when set, is returned by Sync of every file but directories.
	syncErr error
	syncs   int // Syncs of files, failed ones included
	// writeErr, when set, is returned by WriteAt of files whose name
	// starts with writeErrName.
	writeErr     error
	writeErrName string
}

func newFaultFS() *faultFS { return &faultFS{sizes: map[string]int64{}} }

// fill makes the disk full as it is now: another program took the rest.
func (fs *faultFS) fill() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.capacity = max(fs.used, 1)
}

// unlimit gives the disk all the space it wants again.
func (fs *faultFS) unlimit() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.capacity = 0
}

func (fs *faultFS) syncCount() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.syncs
}

func (fs *faultFS) OpenFile(name string, flag int, perm os.FileMode) (file, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.IsDir() {
		return &faultFile{File: f, fs: fs, dir: true}, nil
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.used += fi.Size() - fs.sizes[name]
	fs.sizes[name] = fi.Size()
	return &faultFile{File: f, fs: fs, name: name}, nil
}

func (fs *faultFS) Remove(name string) error {
	if err := os.Remove(name); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.used -= fs.sizes[name]
	delete(fs.sizes, name)
	return nil
}

type faultFile struct {
	*os.File
	fs   *faultFS
	name string
	dir  bool
}

func (f *faultFile) WriteAt(b []byte, off int64) (int, error) {
	fs := f.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.writeErr != nil && strings.HasPrefix(filepath.Base(f.name), fs.writeErrName) {
		return 0, &os.PathError{Op: "write", Path: f.name, Err: fs.writeErr}
	}
	size := fs.sizes[f.name]
	grow := max(0, off+int64(len(b))-size)
	need := grow
	if fs.cow {
		need = int64(len(b))
	}
	var err error
	if avail := fs.capacity - fs.used; fs.capacity > 0 && need > avail {
		err = &os.PathError{Op: "write", Path: f.name, Err: syscall.ENOSPC}
		fit := int64(0) // what a file system writes before it runs out
		if !fs.cow {
			fit = min(int64(len(b)), max(0, size+avail-off))
		}
		b = b[:fit]
	}
	n, werr := f.File.WriteAt(b, off)
	if end := off + int64(n); end > size {
		fs.used += end - size
		fs.sizes[f.name] = end
	}
	if werr != nil {
		return n, werr
	}
	return n, err
}

func (f *faultFile) Truncate(size int64) error {
	if err := f.File.Truncate(size); err != nil {
		return err
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.fs.used += size - f.fs.sizes[f.name]
	f.fs.sizes[f.name] = size
	return nil
}

func (f *faultFile) Sync() error {
	if f.dir {
		return f.File.Sync()
	}
	f.fs.mu.Lock()
	f.fs.syncs++
	err := f.fs.syncErr
	f.fs.mu.Unlock()
	if err != nil {
		return err
	}
	return f.File.Sync()
}
