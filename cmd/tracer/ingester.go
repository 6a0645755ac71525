package main

import (
	"context"
	"errors"
)

func (m *Main) runIngester(ctx context.Context, args []string) error {
	return errors.New(`command "ingester" is not yet available in this build: all-in-one, collector and query are`)
}
