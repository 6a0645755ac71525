package query

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
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
	// MaxTraceIDs is the most trace ids one request may name (the
	// repeated traceID parameter of /api/traces).
	MaxTraceIDs int `yaml:"max_trace_ids"`
	// MaxRequestBytes bounds a request body (the OTLP/JSON that POST
	// /api/transform converts).
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
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
	DefaultMaxLookback     = 31 * 24 * time.Hour
	DefaultRequestTimeout  = 30 * time.Second
	DefaultMaxTraceIDs     = 100
	DefaultMaxRequestBytes = 32 << 20
)

// DefaultConfig returns the default configuration.
func DefaultConfig() Config {
	return Config{MaxLookback: DefaultMaxLookback, RequestTimeout: DefaultRequestTimeout,
		MaxTraceIDs: DefaultMaxTraceIDs, MaxRequestBytes: DefaultMaxRequestBytes}
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
	if c.MaxRequestBytes < 0 {
		errs = append(errs, fmt.Errorf("max_request_bytes %d: must not be negative (0 means %d)", c.MaxRequestBytes, DefaultMaxRequestBytes))
	}
	if c.MaxTraceIDs < 0 {
		errs = append(errs, fmt.Errorf("max_trace_ids %d: must not be negative (0 means %d)", c.MaxTraceIDs, DefaultMaxTraceIDs))
	}
	for _, o := range c.CORS.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("cors.allowed_origins %q: want * or an origin such as https://grafana.example.com", o))
		}
	}
	for _, h := range c.CORS.AllowedHeaders {
		if h == "" || strings.ContainsAny(h, " ,:\t\r\n") {
			errs = append(errs, fmt.Errorf("cors.allowed_headers %q: want a header name", h))
		}
	}
	return errors.Join(errs...)
}

// API serves the read API over a store.
type API struct {
	store   storage.ReadStore
	cfg     Config
	log     *slog.Logger
	reg     prometheus.Registerer
	ui      http.Handler
	now     func() time.Time
	metrics *apiMetrics
	causal  *causalCache
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
	a := &API{store: store, cfg: cfg, log: log, now: time.Now, causal: newCausalCache()}
	for _, o := range opts {
		o(a)
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.cfg.MaxTraceIDs == 0 {
		a.cfg.MaxTraceIDs = DefaultMaxTraceIDs
	}
	if a.cfg.MaxRequestBytes == 0 {
		a.cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	m, err := newAPIMetrics(a.reg)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	a.metrics = m
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
	// The route pattern the mux chose, for the metrics and the log line
	// (read after serving: the mux sets it on the request it is given).
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if info := infoFrom(r); info != nil {
				info.route = r.Pattern
			}
		}()
		mux.ServeHTTP(w, r)
	})
	if a.cfg.BasePath != "" {
		h = http.StripPrefix(a.cfg.BasePath, h)
	}
	return a.middleware(h)
}

// checkRange checks a time range a request asks for: start not after end,
// and no longer than Config.MaxLookback. startName names the parameter
// blamed (start, lookback, ...), what the answer shows.
func (a *API) checkRange(startName, startValue string, start, end time.Time) error {
	switch {
	case start.After(end):
		return badParam(startName, startValue, "a time range that starts before it ends ("+end.UTC().Format(time.RFC3339Nano)+")")
	case end.Sub(start) > a.cfg.MaxLookback:
		return badParam(startName, startValue, "a time range of at most "+a.cfg.MaxLookback.String()+" (the server's max_lookback)")
	}
	return nil
}

// parseTraceIDParam parses a trace id as Jaeger v2.20 accepts one
// (apiv3.TraceIDFromString in its http_gateway.go): 1 to 32 hex digits, or
// the 16 bytes in base64 (standard or URL alphabet, padded or not).
func parseTraceIDParam(name, s string) (storage.TraceID, error) {
	id, err := storage.ParseTraceID(s)
	if err == nil {
		return id, nil
	}
	if len(s) <= 24 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil && len(b) == len(id) {
				copy(id[:], b)
				if !id.IsZero() {
					return id, nil
				}
			}
		}
	}
	return storage.TraceID{}, badParam(name, s, "a trace id: 32 hex digits (or up to 32), or 16 bytes in base64, not all zero")
}
