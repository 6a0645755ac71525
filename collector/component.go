package collector

import (
	"context"
	"log/slog"
)

// Component is a part of the collector with a lifecycle, as in the
// OpenTelemetry Collector (component/component.go): Start starts its work
// and returns (it may not block); Shutdown stops it, honouring ctx's
// deadline, and waits for its goroutines. Shutdown is idempotent and safe
// without Start; a Component is not restarted after Shutdown.
type Component interface {
	Start(ctx context.Context) error
	Shutdown(ctx context.Context) error
}

// Settings are what every component is built with: where it logs, the
// metrics it updates and the Health it reports to. Components of one
// process share one Metrics (registered once) and one Health. Nil fields
// take defaults: slog.Default(), metrics on a registry of their own, a new
// Health.
type Settings struct {
	Logger  *slog.Logger
	Metrics *Metrics
	Health  *Health
}

func (s Settings) withDefaults() Settings {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Metrics == nil {
		// A fresh registry cannot refuse the collector's metrics.
		s.Metrics, _ = NewMetrics(newRegistry())
	}
	if s.Health == nil {
		s.Health = NewHealth()
	}
	return s
}
