package badger

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	badgerdb "github.com/dgraph-io/badger/v4"
)

// openDB opens Badger, recovering from the one state a crash leaves that
// Badger cannot open by itself: an empty memtable file, created just before
// the process died (dgraph-io/badger#2207; the fix proposed upstream,
// dgraph-io/badger#2331, skips such files in memtable.go's openMemTables).
// An empty .mem file holds no data, so removing it loses nothing; Open then
// retries once.
func openDB(bo badgerdb.Options, log *slog.Logger) (*badgerdb.DB, error) {
	db, err := badgerdb.Open(bo)
	if err == nil {
		return db, nil
	}
	removed, rerr := removeEmptyMemtables(bo.Dir)
	if rerr != nil || len(removed) == 0 {
		return nil, err
	}
	log.Warn("badger did not open: removed empty memtable files a crash left, retrying", "dir", bo.Dir, "removed", removed, "err", err)
	db, err = badgerdb.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("after removing empty memtable files %v: %w", removed, err)
	}
	return db, nil
}

// removeEmptyMemtables removes the zero-length .mem files in dir and returns
// their names.
func removeEmptyMemtables(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
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
