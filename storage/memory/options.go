package memory

// DefaultMaxSpans is the number of spans a store holds unless told otherwise.
const DefaultMaxSpans = 1_000_000

type config struct {
	maxSpans int
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
