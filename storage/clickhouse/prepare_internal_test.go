package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// flakyConn fails the first PrepareBatch calls with errs, one each.
type flakyConn struct {
	clickhouse.Conn
	errs  []error
	calls int
}

func (c *flakyConn) PrepareBatch(context.Context, string, ...driver.PrepareBatchOption) (driver.Batch, error) {
	c.calls++
	if len(c.errs) > 0 {
		err := c.errs[0]
		c.errs = c.errs[1:]
		return nil, err
	}
	return nil, nil
}

// A batch whose connection the server had closed in the pool is prepared
// again once; any other error is returned at once.
func TestPrepareBatchRetriesStaleConnection(t *testing.T) {
	closed := fmt.Errorf("read: %w", net.ErrClosed)
	tests := []struct {
		name      string
		errs      []error
		cancel    bool
		wantCalls int
		wantErr   bool
	}{
		{"ok", nil, false, 1, false},
		{"closed connection", []error{closed}, false, 2, false},
		{"reset", []error{syscall.ECONNRESET}, false, 2, false},
		{"closed twice", []error{closed, closed}, false, 2, true},
		{"server error", []error{errors.New("code: 60, table does not exist")}, false, 1, true},
		{"cancelled", []error{closed}, true, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &flakyConn{errs: tt.errs}
			s := &Store{conn: c}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			_, err := s.prepareBatch(ctx, "INSERT INTO t")
			if (err != nil) != tt.wantErr || c.calls != tt.wantCalls {
				t.Errorf("err = %v, calls = %d; want error %v, %d calls", err, c.calls, tt.wantErr, tt.wantCalls)
			}
		})
	}
}
