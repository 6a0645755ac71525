package storagetest

import (
	"context"
	"testing"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// eachWrite is a store whose RED counts every span written, once per write,
// as a backend that aggregates on write does.
type eachWrite struct {
	storage.Store
	log []storage.Span
}

func (s *eachWrite) WriteSpans(ctx context.Context, spans []storage.Span) error {
	for i := range spans {
		s.log = append(s.log, spans[i].Copy())
	}
	return s.Store.WriteSpans(ctx, spans)
}

func (s *eachWrite) RED(ctx context.Context, q storage.REDQuery) ([]storage.REDSeries, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return wantRED(s.log, q), nil
}

// TestREDCountsEachWrite: the REDRewritten case fails a backend that counts
// each write unless told so, and passes one that counts once either way.
func TestREDCountsEachWrite(t *testing.T) {
	tests := []struct {
		name    string
		each    bool
		c       config
		wantBad bool
	}{
		{"once, strict", false, config{}, false},
		{"once, REDCountsEachWrite", false, config{redCountsEachWrite: true}, false},
		{"each write, strict", true, config{}, true},
		{"each write, REDCountsEachWrite", true, config{redCountsEachWrite: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := memory.New()
			defer m.Close()
			var s storage.Store = m
			if tt.each {
				s = &eachWrite{Store: m}
			}
			problems := redRewritten(t, s, tt.c)
			if bad := len(problems) > 0; bad != tt.wantBad {
				t.Errorf("REDRewritten found problems %v, want %v: %q", bad, tt.wantBad, problems)
			}
		})
	}
	var c config
	REDCountsEachWrite().apply(&c)
	if !c.redCountsEachWrite {
		t.Error("REDCountsEachWrite() does not set the option")
	}
}
