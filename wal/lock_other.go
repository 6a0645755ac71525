//go:build !unix

package wal

import (
	"os"
	"path/filepath"
)

// lockDir opens the lock file; other systems get no exclusive lock.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
}
