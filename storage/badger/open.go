package badger

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	badgerdb "github.com/dgraph-io/badger/v4"
)

// openDB opens Badger, recovering from the one state a crash leaves that
// Badger cannot open by itself: an empty memtable file, created just before
// the process died (dgraph-io/badger#2207: Badger's Open then fails with
// "while opening memtables ... Create a new file", after growing the file,
// so that a second Open works). The fix proposed upstream,
// dgraph-io/badger#2331, skips such files when it opens memtables; an empty
// .mem file holds no data, so openDB removes them first, and logs what it
// removed. Should Open still fail on memtables, it retries once.
func openDB(bo badgerdb.Options, log *slog.Logger) (*badgerdb.DB, error) {
	removed, err := removeEmptyMemtables(bo.Dir)
	if err != nil {
		return nil, fmt.Errorf("remove empty memtable files: %w", err)
	}
	if len(removed) > 0 {
		log.Warn("removed empty memtable files that a crash left", "dir", bo.Dir, "files", removed)
	}
	db, err := badgerdb.Open(bo)
	if err != nil && strings.Contains(err.Error(), "while opening memtables") {
		log.Warn("badger did not open its memtables, retrying once", "dir", bo.Dir, "err", err)
		db, err = badgerdb.Open(bo)
	}
	return db, err
}

// removeEmptyMemtables removes the zero-length .mem files in dir and returns
// their names.
func removeEmptyMemtables(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // a new store: badger creates the directory
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".mem") {
			continue
		}
		info, err := e.Info()
		if err != nil || info.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return removed, err
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}
