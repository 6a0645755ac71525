package clickhouse

import (
	"crypto/tls"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Config configures a Store. Start from NewDefaultConfig.
type Config struct {
	// Addr is the list of native-protocol addresses (host:port), tried in
	// order.
	Addr []string
	// Database is created if missing. It must be a plain identifier.
	Database string
	Username string
	Password string
	// TLS, when set, encrypts the connection (the server's secure native
	// port, 9440 by default).
	TLS *tls.Config
	// DialTimeout bounds connecting to the server.
	DialTimeout time.Duration
	// MaxOpenConns caps the connection pool.
	MaxOpenConns int

	// BatchSize is the largest number of spans sent in one INSERT: a
	// WriteSpans call with more is split into batches of this size.
	BatchSize int
	// MaxConcurrentBatches caps how many batches one WriteSpans call sends
	// at the same time. A Store keeps the column buffers of up to this many
	// finished batches for reuse (roughly the batch's encoded size each).
	MaxConcurrentBatches int

	// Cluster configures DDL and writes for a ClickHouse cluster; the zero
	// value is a single server.
	Cluster ClusterConfig
}

// ClusterConfig describes a ClickHouse cluster.
type ClusterConfig struct {
	// Name is the cluster (from the servers' remote_servers), used for ON
	// CLUSTER and for Distributed tables. Empty means a single server.
	Name string
	// Replicated uses Replicated* engines for the tables (needs ZooKeeper
	// or ClickHouse Keeper and the {shard} and {replica} macros).
	Replicated bool
	// ReplicationPath is the ZooKeeper path of a replicated table;
	// {database} and {table} are replaced by Tracer, {shard} by the server.
	ReplicationPath string
	// Distributed creates each table as "<name>_local" plus a Distributed
	// table "<name>" over the cluster, sharded by trace id.
	Distributed bool
	// LocalDDL leaves ON CLUSTER out: New then creates the tables (and
	// Purge drops partitions) only on the server it is connected to. Use
	// it when the cluster has no ZooKeeper/Keeper for distributed DDL, and
	// apply the schema on every server (run New against each).
	LocalDDL bool
}

// onCluster returns the ON CLUSTER clause for DDL, or "".
func (c ClusterConfig) onCluster() string {
	if c.Name == "" || c.LocalDDL {
		return ""
	}
	return " ON CLUSTER " + c.Name
}

// Defaults.
const (
	DefaultAddr                 = "127.0.0.1:9000"
	DefaultDatabase             = "tracer"
	DefaultBatchSize            = 50_000
	DefaultMaxConcurrentBatches = 2
	DefaultDialTimeout          = 5 * time.Second
	DefaultMaxOpenConns         = 8
	DefaultReplicationPath      = "/clickhouse/tables/{shard}/{database}/{table}"
)

// NewDefaultConfig returns a Config for a local single server.
func NewDefaultConfig() Config {
	return Config{
		Addr:                 []string{DefaultAddr},
		Database:             DefaultDatabase,
		Username:             "default",
		DialTimeout:          DefaultDialTimeout,
		MaxOpenConns:         DefaultMaxOpenConns,
		BatchSize:            DefaultBatchSize,
		MaxConcurrentBatches: DefaultMaxConcurrentBatches,
		Cluster:              ClusterConfig{ReplicationPath: DefaultReplicationPath},
	}
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Addr) == 0 {
		errs = append(errs, errors.New("addr: at least one address is required"))
	}
	for _, a := range c.Addr {
		if strings.TrimSpace(a) == "" || !strings.Contains(a, ":") {
			errs = append(errs, fmt.Errorf("addr %q: want host:port", a))
		}
	}
	if !identRE.MatchString(c.Database) {
		errs = append(errs, fmt.Errorf("database %q: want an identifier ([A-Za-z_][A-Za-z0-9_]*)", c.Database))
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("batch size %d: must be at least 1", c.BatchSize))
	}
	if c.MaxConcurrentBatches < 1 {
		errs = append(errs, fmt.Errorf("max concurrent batches %d: must be at least 1", c.MaxConcurrentBatches))
	}
	if c.DialTimeout <= 0 {
		errs = append(errs, fmt.Errorf("dial timeout %s: must be positive", c.DialTimeout))
	}
	if c.MaxOpenConns < 1 {
		errs = append(errs, fmt.Errorf("max open conns %d: must be at least 1", c.MaxOpenConns))
	}
	if err := c.Cluster.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c ClusterConfig) validate() error {
	var errs []error
	if c.Name != "" && !identRE.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("cluster name %q: want an identifier", c.Name))
	}
	if c.Name == "" && (c.Replicated || c.Distributed) {
		errs = append(errs, errors.New("cluster: replicated or distributed tables need a cluster name"))
	}
	if c.Replicated && (c.ReplicationPath == "" || strings.ContainsAny(c.ReplicationPath, `'\`)) {
		errs = append(errs, fmt.Errorf("cluster replication path %q: must be set and contain no quotes or backslashes", c.ReplicationPath))
	}
	return errors.Join(errs...)
}
