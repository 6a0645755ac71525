package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/tracerdev/tracer/storage"
)

// maxQuerySize lets searches carry large attribute values (the server's
// default, 256 KiB, would reject a query holding a 1 MiB value).
const maxQuerySize = 64 << 20

// Store is the ClickHouse storage.Store. It is safe for concurrent use.
type Store struct {
	cfg    Config
	limits storage.ReaderLimits // cfg.Limits with defaults
	conn   clickhouse.Conn
	// spare holds the columns of finished batches, at most
	// Config.MaxConcurrentBatches of them, so that writes reuse their
	// buffers (sync.Pool would drop them at every other garbage
	// collection, which a large batch triggers several times).
	spare chan *columns
	// attrsSince is when tracer_attributes (now tracer_search_attributes)
	// started to be written (zero:
	// the database was created with it): searches by attributes alone
	// over older spans use tracer_search's arrays.
	attrsSince time.Time
	// listed holds the listing rows already written (see listed).
	listed *listed
	// stop ends the dependencies job; done is closed when it has.
	stop context.CancelFunc
	done chan struct{}
}

var _ storage.Store = (*Store)(nil)

// New connects to ClickHouse, creates the database and tables when missing
// (see SchemaStatements), records or migrates the schema version and
// returns a Store. Close it when done.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("clickhouse config: %w", err)
	}
	admin, err := open(cfg, "default")
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	stmts, err := SchemaStatements(cfg)
	if err != nil {
		return nil, err
	}
	if err := admin.Exec(ctx, stmts[0]); err != nil {
		return nil, fmt.Errorf("create database %s: %w", cfg.Database, err)
	}
	conn, err := open(cfg, cfg.Database)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := applySchema(ctx, conn, cfg, cfg.Logger); err != nil {
		conn.Close()
		return nil, err
	}
	attrsSince, err := attributesSince(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	s := &Store{
		cfg:    cfg,
		limits: cfg.Limits.WithDefaults(),
		conn:   conn,
		spare:  make(chan *columns, cfg.MaxConcurrentBatches),
		listed: new(listed),
		done:   make(chan struct{}),

		attrsSince: attrsSince,
	}
	jobCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	if cfg.DependencyRefresh > 0 {
		go func() {
			defer close(s.done)
			s.refreshLoop(jobCtx, cfg.DependencyRefresh, cfg.DependencySettle)
		}()
	} else {
		close(s.done)
	}
	return s, nil
}

func open(cfg Config, database string) (clickhouse.Conn, error) {
	tlsConfig, err := cfg.TLS.config()
	if err != nil {
		return nil, err
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr: cfg.Addr,
		Auth: clickhouse.Auth{
			Database: database,
			Username: cfg.Username,
			Password: cfg.Password,
		},
		TLS:          tlsConfig,
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.ReadTimeout,
		MaxOpenConns: cfg.MaxOpenConns,
		MaxIdleConns: cfg.MaxOpenConns,
		Compression:  &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
		Settings:     clickhouse.Settings{"max_query_size": maxQuerySize},
	})
	if err != nil {
		return nil, fmt.Errorf("open clickhouse: %w", err)
	}
	return conn, nil
}

// Close stops the dependencies job, waits for it and closes the
// connections.
func (s *Store) Close() error {
	if s == nil || s.conn == nil {
		return errors.New("clickhouse: store not open")
	}
	s.stop()
	<-s.done
	return s.conn.Close()
}
