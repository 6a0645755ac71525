package query

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracerdev/tracer/storage"
)

// Config configures the API.
type Config struct {
	// MaxLookback is the longest time range one search, dependency or
	// metrics request may cover.
	MaxLookback time.Duration `yaml:"max_lookback"`
	// RequestTimeout bounds the time one request may spend in storage.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// BasePath is the path prefix the API and UI are served under ("" or
	// "/tracer", say), for a reverse proxy; Jaeger's query.base-path.
	BasePath string `yaml:"base_path"`
	// CORS configures cross-origin requests; off when AllowedOrigins is
	// empty.
	CORS CORSConfig `yaml:"cors"`
}

// CORSConfig configures cross-origin resource sharing.
type CORSConfig struct {
	// AllowedOrigins are the origins allowed ("*" allows any).
	AllowedOrigins []string `yaml:"allowed_origins"`
	// AllowedHeaders are request headers allowed beyond the CORS-safelisted
	// ones.
	AllowedHeaders []string `yaml:"allowed_headers"`
}

// Defaults.
const (
	DefaultMaxLookback    = 31 * 24 * time.Hour
	DefaultRequestTimeout = 30 * time.Second
)

// DefaultConfig returns the default configuration.
func DefaultConfig() Config {
	return Config{MaxLookback: DefaultMaxLookback, RequestTimeout: DefaultRequestTimeout}
}

// Validate checks c.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxLookback <= 0 {
		errs = append(errs, fmt.Errorf("max_lookback %s: must be positive", c.MaxLookback))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("request_timeout %s: must be positive", c.RequestTimeout))
	}
	if c.BasePath != "" && (c.BasePath[0] != '/' || c.BasePath[len(c.BasePath)-1] == '/') {
		errs = append(errs, fmt.Errorf("base_path %q: must start with / and not end with one", c.BasePath))
	}
	return errors.Join(errs...)
}

// API serves the read API over a store.
type API struct {
	store storage.ReadStore
	cfg   Config
	log   *slog.Logger
	reg   prometheus.Registerer
	ui    http.Handler
	now   func() time.Time
}

// Option configures an API.
type Option func(*API)

// WithUI serves h for every path outside /api/ (the web UI). Without it a
// placeholder page says how to build the UI.
func WithUI(h http.Handler) Option { return func(a *API) { a.ui = h } }

// WithRegisterer registers the API's metrics on reg.
func WithRegisterer(reg prometheus.Registerer) Option { return func(a *API) { a.reg = reg } }

// WithClock sets the clock the API reads "now" from (for tests).
func WithClock(now func() time.Time) Option { return func(a *API) { a.now = now } }

// New returns the API over store.
func New(store storage.ReadStore, cfg Config, log *slog.Logger, opts ...Option) (*API, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	a := &API{store: store, cfg: cfg, log: log, now: time.Now}
	for _, o := range opts {
		o(a)
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a, nil
}

// Handler returns the HTTP handler of every route.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	a.registerV1(mux)
	a.registerV3(mux)
	a.registerSPM(mux)
	a.registerTracer(mux)
	a.registerUI(mux)
	var h http.Handler = mux
	if a.cfg.BasePath != "" {
		h = http.StripPrefix(a.cfg.BasePath, h)
	}
	return a.middleware(h)
}
