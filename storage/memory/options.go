package memory

import "github.com/tracerdev/tracer/storage"

// DefaultMaxSpans is the number of spans a store holds unless told otherwise.
const DefaultMaxSpans = 1_000_000

// DefaultMaxBytes is the memory a store's spans take unless told otherwise.
const DefaultMaxBytes = 1 << 30

type config struct {
	maxSpans int
	maxBytes int64
	limits   storage.ReaderLimits
}

// Option configures a Store.
type Option interface {
	apply(config) config
}

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithMaxSpans bounds the number of spans the store holds; n < 1 is ignored.
func WithMaxSpans(n int) Option {
	return optionFunc(func(c config) config {
		if n > 0 {
			c.maxSpans = n
		}
		return c
	})
}

// WithMaxBytes bounds the memory the stored spans take (their strings, their
// slices and the span values, each resource counted once per write that
// brought it); n < 1 is ignored.
func WithMaxBytes(n int64) Option {
	return optionFunc(func(c config) config {
		if n > 0 {
			c.maxBytes = n
		}
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
