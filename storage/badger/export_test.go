package badger

import badgerdb "github.com/dgraph-io/badger/v4"

type badgerTxn = badgerdb.Txn
