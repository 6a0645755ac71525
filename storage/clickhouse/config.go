package clickhouse

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// Config configures a Store; it is the one configuration of the ClickHouse
// backend (the binary's storage.clickhouse YAML section, the exporter and
// the tests all use it). Start from NewDefaultConfig.
type Config struct {
	// Addr is the list of native-protocol addresses (host:port), tried in
	// order.
	Addr []string `yaml:"addr"`
	// Database is created if missing. It must be a plain identifier.
	Database string `yaml:"database"`
	Username string `yaml:"username"`
	// Password is best set in the YAML file or the environment, not on a
	// command line.
	Password string `yaml:"password"`
	// TLS encrypts the connection (the server's secure native port, 9440
	// by default).
	TLS TLSConfig `yaml:"tls"`
	// DialTimeout bounds connecting to the server.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// ReadTimeout bounds every wait for the server's next packet (a hung
	// server fails a call after it instead of clickhouse-go's 300 s).
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds one WriteSpans call, whatever the caller's
	// context allows.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// MaxOpenConns caps the connection pool.
	MaxOpenConns int `yaml:"max_open_conns"`

	// BatchSize is the largest number of spans sent in one INSERT: a
	// WriteSpans call with more is split into batches of this size.
	BatchSize int `yaml:"batch_size"`
	// MaxConcurrentBatches caps how many batches one WriteSpans call sends
	// at the same time. A Store keeps the column buffers of up to this many
	// finished batches for reuse (roughly the batch's encoded size each).
	MaxConcurrentBatches int `yaml:"max_concurrent_batches"`

	// Cluster configures DDL and writes for a ClickHouse cluster; the zero
	// value is a single server. Its YAML keys sit beside the others.
	Cluster ClusterConfig `yaml:",inline"`

	// DependencyRefresh is how often the Store's background job computes
	// the dependency edges of the minutes written since (see
	// clickhouse.sql); 0 turns the job off (Dependencies then computes
	// every minute live, exactly but slowly).
	DependencyRefresh time.Duration `yaml:"dependency_refresh"`
	// DependencySettle is how long after a minute was last written the
	// job waits before computing it, so that a busy minute is computed
	// once rather than after every batch; until then readers compute it
	// live.
	DependencySettle time.Duration `yaml:"dependency_settle"`

	// Logger receives the background job's errors (nil: slog.Default()).
	Logger *slog.Logger `yaml:"-"`

	// Limits caps what the reader returns (zero fields: the defaults).
	// The storage factory (storage/backend) fills it from its own Limits,
	// so it has no YAML key here.
	Limits storage.ReaderLimits `yaml:"-"`
}

// TLSConfig configures TLS to the server.
type TLSConfig struct {
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM file of the CAs to trust instead of the system's.
	CAFile string `yaml:"ca_file"`
	// ServerName overrides the name checked in the server's certificate.
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// ClusterConfig describes a ClickHouse cluster.
type ClusterConfig struct {
	// Name is the cluster (from the servers' remote_servers), used for ON
	// CLUSTER and for Distributed tables. Empty means a single server.
	Name string `yaml:"cluster"`
	// Replicated uses Replicated* engines for the tables (needs ZooKeeper
	// or ClickHouse Keeper and the {shard} and {replica} macros).
	Replicated bool `yaml:"replicated"`
	// ReplicationPath is the ZooKeeper path of a replicated table;
	// {database} and {table} are replaced by Tracer, {shard} by the server.
	ReplicationPath string `yaml:"replication_path"`
	// Distributed creates each table as "<name>_local" plus a Distributed
	// table "<name>" over the cluster, sharded by trace id.
	Distributed bool `yaml:"distributed"`
	// LocalDDL leaves ON CLUSTER out: New then creates the tables (and
	// Purge drops partitions) only on the server it is connected to. Use
	// it when the cluster has no ZooKeeper/Keeper for distributed DDL, and
	// apply the schema on every server (run New against each).
	LocalDDL bool `yaml:"local_ddl"`
}

// onCluster returns the ON CLUSTER clause of every DDL statement (schema
// and retention), or "". It is the one place that decides it.
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
	DefaultUsername             = "default"
	DefaultBatchSize            = 50_000
	DefaultMaxConcurrentBatches = 2
	DefaultDialTimeout          = 5 * time.Second
	DefaultReadTimeout          = 30 * time.Second
	DefaultWriteTimeout         = 60 * time.Second
	DefaultMaxOpenConns         = 8
	DefaultReplicationPath      = "/clickhouse/tables/{shard}/{database}/{table}"
	DefaultDependencyRefresh    = 10 * time.Second
	DefaultDependencySettle     = 30 * time.Second
)

// NewDefaultConfig returns a Config for a local single server.
func NewDefaultConfig() Config {
	return Config{
		Addr:                 []string{DefaultAddr},
		Database:             DefaultDatabase,
		Username:             DefaultUsername,
		DialTimeout:          DefaultDialTimeout,
		ReadTimeout:          DefaultReadTimeout,
		WriteTimeout:         DefaultWriteTimeout,
		MaxOpenConns:         DefaultMaxOpenConns,
		BatchSize:            DefaultBatchSize,
		MaxConcurrentBatches: DefaultMaxConcurrentBatches,
		DependencyRefresh:    DefaultDependencyRefresh,
		DependencySettle:     DefaultDependencySettle,
		Cluster:              ClusterConfig{ReplicationPath: DefaultReplicationPath},
	}
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// CheckAddr reports whether a is a usable host:port address: the one check
// of a ClickHouse address.
func CheckAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("addr %q: want host:port: %w", a, err)
	}
	if strings.TrimSpace(host) == "" || port == "" {
		return fmt.Errorf("addr %q: want host:port", a)
	}
	return nil
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(c.Addr) == 0 {
		bad("addr: at least one host:port is required")
	}
	for _, a := range c.Addr {
		if err := CheckAddr(a); err != nil {
			errs = append(errs, err)
		}
	}
	if !identRE.MatchString(c.Database) {
		bad("database %q: want an identifier ([A-Za-z_][A-Za-z0-9_]*)", c.Database)
	}
	if c.BatchSize < 1 {
		bad("batch_size %d: must be at least 1", c.BatchSize)
	}
	if c.MaxConcurrentBatches < 1 {
		bad("max_concurrent_batches %d: must be at least 1", c.MaxConcurrentBatches)
	}
	if c.DialTimeout <= 0 {
		bad("dial_timeout %s: must be positive", c.DialTimeout)
	}
	if c.ReadTimeout <= 0 {
		bad("read_timeout %s: must be positive", c.ReadTimeout)
	}
	if c.WriteTimeout <= 0 {
		bad("write_timeout %s: must be positive", c.WriteTimeout)
	}
	if c.MaxOpenConns < 1 {
		bad("max_open_conns %d: must be at least 1", c.MaxOpenConns)
	}
	if c.DependencyRefresh < 0 {
		bad("dependency_refresh %s: must not be negative", c.DependencyRefresh)
	}
	if c.DependencySettle < 0 {
		bad("dependency_settle %s: must not be negative", c.DependencySettle)
	}
	if l := c.Limits; l.MaxTraceSpans < 0 || l.MaxTraces < 0 || l.MaxDependencySpans < 0 || l.MaxREDPoints < 0 || l.MaxAttributeValues < 0 {
		bad("limits must not be negative: %+v", l)
	}
	if _, err := c.TLS.config(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Cluster.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// config returns the *tls.Config to dial with, nil when TLS is off.
func (t TLSConfig) config() (*tls.Config, error) {
	if !t.Enabled {
		if t.CAFile != "" || t.ServerName != "" || t.InsecureSkipVerify {
			return nil, errors.New("tls: options are set but tls.enabled is false")
		}
		return nil, nil
	}
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // the operator asked for it
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s: no PEM certificate in it", t.CAFile)
		}
	}
	return c, nil
}

func (c ClusterConfig) validate() error {
	var errs []error
	if c.Name != "" && !identRE.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("cluster %q: want an identifier", c.Name))
	}
	if c.Name == "" && (c.Replicated || c.Distributed) {
		errs = append(errs, errors.New("cluster: replicated or distributed tables need a cluster name"))
	}
	if c.Replicated && (c.ReplicationPath == "" || strings.ContainsAny(c.ReplicationPath, `'\`)) {
		errs = append(errs, fmt.Errorf("replication_path %q: must be set and contain no quotes or backslashes", c.ReplicationPath))
	}
	return errors.Join(errs...)
}
