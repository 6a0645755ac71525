package storagetest

// Option tells Run what a backend does where the contract lets backends
// differ. Without options the suite expects the strictest reading.
type Option interface {
	apply(*config)
}

type config struct {
	redCountsEachWrite bool
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// REDCountsEachWrite says that the backend aggregates RED series on write,
// as storage.REDReader lets such a backend document: a span written n times
// (a retried batch, a span written again) may count n times, each time as
// the version then written. The REDRewritten case then accepts either that
// or each span counted once as its last version. Without it, the suite
// expects the latter.
func REDCountsEachWrite() Option {
	return optionFunc(func(c *config) { c.redCountsEachWrite = true })
}
