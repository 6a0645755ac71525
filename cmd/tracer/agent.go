package main

import (
	"context"
	"errors"
)

// agentConfig is "tracer agent"'s own configuration (under "agent" in the
// YAML file): where it sends. TODO(issue 15).
type agentConfig struct{}

func (m *Main) runAgent(ctx context.Context, args []string) error {
	return errors.New(`command "agent" is not yet available in this build: all-in-one, collector and query are`)
}
