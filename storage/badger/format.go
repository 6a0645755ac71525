package badger

import (
	"errors"
	"fmt"

	badgerdb "github.com/dgraph-io/badger/v4"
)

// formatVersion is the version of the key layout. Version 1 (no record)
// had spans and indexes without the aggregates (RED, dependency edges,
// attribute listings) and the child index that keep them; a directory of
// version 1 is refused, since its aggregates would be silently empty.
const formatVersion = 2

var formatKey = []byte{pMeta, 'f', 'o', 'r', 'm', 'a', 't'}

// checkFormat records the format version in a new store, and refuses a
// store of another version with an error that says what to do.
func checkFormat(db *badgerdb.DB) error {
	return db.Update(func(txn *badgerdb.Txn) error {
		item, err := txn.Get(formatKey)
		if errors.Is(err, badgerdb.ErrKeyNotFound) {
			it := txn.NewIterator(badgerdb.IteratorOptions{})
			it.Rewind()
			empty := !it.Valid()
			it.Close()
			if !empty {
				return fmt.Errorf("the directory holds spans in the format of an older Tracer (version 1, without the aggregates that RED series, dependencies and attribute listings read): this version would answer those wrong, so it does not open it; move the directory aside (or delete it) and start with an empty one")
			}
			return txn.Set(formatKey, []byte{formatVersion})
		}
		if err != nil {
			return fmt.Errorf("read format version: %w", err)
		}
		return item.Value(func(v []byte) error {
			if len(v) != 1 || v[0] != formatVersion {
				return fmt.Errorf("the directory holds data in format version %v, this Tracer reads version %d: open it with the Tracer that wrote it, or move it aside and start with an empty one", v, formatVersion)
			}
			return nil
		})
	})
}
