package memory

// TODO(issue 11): these stubs keep the build green until the read
// capabilities of storage.ReadStore are implemented; this file is deleted
// then.

import (
	"context"
	"errors"

	"github.com/tracerdev/tracer/storage"
)

var errTODO = errors.New("memory: not implemented yet")

// FindTraceIDs is not implemented yet.
func (s *Store) FindTraceIDs(ctx context.Context, q storage.Query) ([]storage.TraceID, error) {
	return nil, errTODO
}

// FindTraceSummaries is not implemented yet.
func (s *Store) FindTraceSummaries(ctx context.Context, q storage.Query) ([]storage.TraceSummary, error) {
	return nil, errTODO
}

// StreamTrace is not implemented yet.
func (s *Store) StreamTrace(ctx context.Context, id storage.TraceID, fn func([]storage.Span) error) (bool, error) {
	return false, errTODO
}

// RED is not implemented yet.
func (s *Store) RED(ctx context.Context, q storage.REDQuery) ([]storage.REDSeries, error) {
	return nil, errTODO
}

// AttributeKeys is not implemented yet.
func (s *Store) AttributeKeys(ctx context.Context, q storage.AttributeQuery) ([]string, error) {
	return nil, errTODO
}

// AttributeValues is not implemented yet.
func (s *Store) AttributeValues(ctx context.Context, q storage.AttributeQuery) ([]string, error) {
	return nil, errTODO
}
