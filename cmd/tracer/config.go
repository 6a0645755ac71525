package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/query"
	"github.com/tracerdev/tracer/storage/backend"
)

// config is the binary's configuration, one for every command, so that one
// YAML file serves a deployment: the collector's keys (collector.Config,
// inline), the query API's under "query" and all-in-one's demo under
// "demo". Each command has flags and variables for the parts it runs and
// validates only those.
type config struct {
	collector.Config `yaml:",inline"`
	Query            queryConfig `yaml:"query"`
	Demo             demoConfig  `yaml:"demo"`
	Agent            agentConfig `yaml:"agent"`
}

// queryConfig is the query API's configuration: where the binary serves it,
// and query.Config.
type queryConfig struct {
	// Endpoint is the API's (and the UI's) listen address.
	Endpoint     string `yaml:"endpoint"`
	query.Config `yaml:",inline"`
}

// LoadFile reads a YAML file over c, as collector.Config.LoadFile does.
func (c *config) LoadFile(path string) error { return collector.LoadYAML(path, c) }

// defaultConfig is the defaults of every package with the binary's data
// directories and the query API on 8080, the Jaeger UI's port.
func defaultConfig() config {
	cfg := config{Config: collector.NewDefaultConfig(), Query: queryConfig{Endpoint: "localhost:8080", Config: query.DefaultConfig()}, Demo: defaultDemoConfig(), Agent: defaultAgentConfig()}
	cfg.WAL.Dir = "tracer-data/wal"
	cfg.Storage.Badger.Dir = "tracer-data/badger"
	return cfg
}

// validateQuery reports the problems of the query API's settings, each
// starting with its YAML key (as withSources wants).
func validateQuery(q queryConfig) []error {
	var errs []error
	if _, _, err := net.SplitHostPort(q.Endpoint); err != nil {
		errs = append(errs, fmt.Errorf("query.endpoint %q is not host:port: %v", q.Endpoint, err))
	}
	if err := q.Config.Validate(); err != nil {
		for _, e := range split(err) {
			errs = append(errs, fmt.Errorf("query.%w", e))
		}
	}
	return errs
}

// split returns the errors a joined error holds, or err alone.
func split(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// configHelp ends the usage text of every server command, before its
// settings.
const configHelp = `Configuration, later sources win:
  1. defaults (below)
  2. a YAML file: --config or $TRACER_CONFIG (one file for every command:
     keys as in collector.Config and, under query:, the query API's; named
     below, and a few more; sizes there are numbers of bytes, durations as
     below; an unknown key is an error)
  3. environment variables (named below)
  4. flags
Every problem in the result is reported at once, each with its source.

An environment variable that is set counts even when it is empty: it means
what the flag with the same value means. TRACER_TELEMETRY_ENDPOINT= disables
the telemetry endpoint as --telemetry-endpoint= does; TRACER_SHUTDOWN_TIMEOUT=
is an error, as --shutdown-timeout= is. Unset a variable to keep the default.

Values:
  bool      --flag alone is true; --flag=false (with the =) turns it off;
            true, false, 1, 0 in the environment
  int       a decimal integer
  size      bytes, as a plain integer or with a unit, upper or lower case:
            KiB MiB GiB TiB (powers of 1024; Ki Mi Gi Ti too) or
            kB MB GB TB (powers of 1000): 1048576, 64MiB, 512KB, 1.5GiB
  duration  a number with a unit: ns, us, ms, s, m, h (300ms, 30s, 1h30m, 72h)
  list      comma-separated
Flags take one or two dashes: -log-level warn, --log-level=warn.
`

// command is a server command's configuration: its usage text, its settings
// (flags and environment variables) and what it validates.
type command struct {
	name     string // as typed after "tracer"
	usage    string // the text before the settings
	sections []section
	// validate returns the problems of what the command runs, each starting
	// with the YAML key it is about where there is one.
	validate func(*config) []error
}

// helpHint ends every configuration error of the command.
func (c *command) helpHint() string {
	return `run "tracer ` + c.name + ` --help" for the flags, their environment variables and defaults`
}

// printUsage writes the command's help.
func (c *command) printUsage(m *Main) {
	def := defaultConfig()
	fmt.Fprint(m.Stdout, c.usage)
	printSettings(m.Stdout, append([]section{configSetting}, c.sections...), &def)
}

// loadConfig builds the command's configuration from defaults, the YAML
// file, the environment and flags, and validates it, reporting every
// problem at once, each with its source. For -h or --help it prints the
// usage to Stdout and returns flag.ErrHelp.
func (m *Main) loadConfig(c *command, args []string) (config, error) {
	cfg := defaultConfig()
	var seen []occurrence
	fs := newFlagSet("tracer "+c.name, append([]section{configSetting}, c.sections...), &seen)
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.printUsage(m)
			return cfg, err
		}
		return cfg, fmt.Errorf("%w\n%s", err, c.helpHint())
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %s (a boolean flag takes its value after =: --clickhouse-tls=false)\n%s",
			strings.Join(fs.Args(), " "), c.helpHint())
	}

	var errs []error
	path, _ := m.lookupEnv("TRACER_CONFIG")
	var flags []occurrence
	for _, o := range seen {
		if o.s.flag == "config" {
			path = o.val
		} else {
			flags = append(flags, o)
		}
	}
	if path != "" {
		if err := cfg.LoadFile(path); err != nil {
			errs = append(errs, err)
		}
	}
	from := map[string]string{}
	errs = append(errs, applyEnv(&cfg, c.sections, m.lookupEnv, from)...)
	errs = append(errs, applyFlags(&cfg, flags, from)...)
	if c.name != "agent" { // the agent forwards: its batches are requests to the collectors
		applyClickHouseBatch(&cfg, path, from)
	}
	if problems := c.validate(&cfg); len(problems) > 0 {
		errs = append(errs, withSources(errors.Join(problems...), from)...)
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("invalid configuration:\n%w\n%s", err, c.helpHint())
	}
	return cfg, nil
}

// run loads the command's configuration and serves it with serve.
func (m *Main) run(ctx context.Context, c *command, args []string, serve func(context.Context, config) error) error {
	cfg, err := m.loadConfig(c, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil // the usage is printed: asking for it is no failure
	}
	if err != nil {
		return err
	}
	return serve(ctx, cfg)
}

// lookupEnv is m.LookupEnv, or no environment without one.
func (m *Main) lookupEnv(key string) (string, bool) {
	if m.LookupEnv == nil {
		return "", false
	}
	return m.LookupEnv(key)
}

// The batch defaults with storage clickhouse: ClickHouse wants few, large
// inserts (every batch is an insert into each of its tables, so a part per
// table and its merges). At the generic 8,192 spans a batch of a busy
// collector made ~6 rows per span across 9 inserts; storage.clickhouse
// batch_size (50,000 by default) never applied, as the pipeline's batch
// already split the writes.
const (
	clickhouseBatchMaxBytes = 64 << 20
	clickhouseBatchTimeout  = time.Second
)

// applyClickHouseBatch sets the batch settings nobody chose (in the YAML
// file at path, the environment or the flags: from) to ClickHouse's when
// the storage is ClickHouse: batch.size to storage.clickhouse.batch_size,
// batch.max_bytes to 64 MiB, batch.timeout to 1s.
func applyClickHouseBatch(cfg *config, path string, from map[string]string) {
	if cfg.Storage.Type != backend.TypeClickHouse {
		return
	}
	inFile := map[string]bool{}
	if path != "" {
		var doc struct {
			Batch map[string]any `yaml:"batch"`
		}
		if data, err := os.ReadFile(path); err == nil && yaml.Unmarshal(data, &doc) == nil {
			for k := range doc.Batch {
				inFile[k] = true
			}
		}
	}
	chosen := func(key string) bool {
		_, ok := from["batch."+key]
		return ok || inFile[key]
	}
	if !chosen("size") && cfg.Storage.ClickHouse.BatchSize > 0 {
		cfg.Batch.Size = cfg.Storage.ClickHouse.BatchSize
	}
	if !chosen("max_bytes") {
		cfg.Batch.MaxBytes = clickhouseBatchMaxBytes
	}
	if !chosen("timeout") {
		cfg.Batch.Timeout = clickhouseBatchTimeout
	}
}
