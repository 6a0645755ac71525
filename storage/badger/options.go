package badger

import (
	"log/slog"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
)

type config struct {
	syncWrites bool
	limits     storage.ReaderLimits
	logger     *slog.Logger
	tune       func(badgerdb.Options) badgerdb.Options
}

func defaultConfig() config {
	return config{syncWrites: true, logger: slog.Default()}
}

// Option configures a Store.
type Option interface {
	apply(config) config
}

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithSyncWrites sets whether each write is fsynced before WriteSpans
// returns (the default, as the storage contract asks). Without it a crash
// may lose the last writes acknowledged.
func WithSyncWrites(sync bool) Option {
	return optionFunc(func(c config) config {
		c.syncWrites = sync
		return c
	})
}

// WithReaderLimits sets the caps of the store's readers; zero fields keep
// their defaults.
func WithReaderLimits(l storage.ReaderLimits) Option {
	return optionFunc(func(c config) config {
		c.limits = l
		return c
	})
}

// WithLogger sets the logger for the store and for Badger, whose messages
// below warning level are dropped. A nil logger is ignored.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c config) config {
		if l != nil {
			c.logger = l
		}
		return c
	})
}

// WithBadgerOptions lets fn adjust Badger's options (memory table size,
// caches, compression) after the store has set its own. Dir, ValueDir,
// SyncWrites and Logger are the store's and are reset after fn. A nil fn is
// ignored.
func WithBadgerOptions(fn func(badgerdb.Options) badgerdb.Options) Option {
	return optionFunc(func(c config) config {
		if fn != nil {
			c.tune = fn
		}
		return c
	})
}
