package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/tracerdev/tracer/internal/chtest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/badger"
	"github.com/tracerdev/tracer/storage/clickhouse"
	"github.com/tracerdev/tracer/storage/memory"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/query:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	backend  string
	dir      string
	addr     string
	database string
	spans    int
	skipLoad bool
	sync     bool
	load     loadOptions
	bench    benchOptions
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.backend, "backend", "badger", "storage backend: badger, clickhouse or memory")
	fs.StringVar(&o.dir, "dir", "", "badger: the store's directory (default: a temp dir, removed); clickhouse: the started server's directory, kept for -skip-load (default: a temp dir, removed)")
	fs.StringVar(&o.addr, "addr", "", "clickhouse: native address of a running server (default: start one with internal/chtest)")
	fs.StringVar(&o.database, "database", "tracer_query_bench", "clickhouse: database")
	fs.IntVar(&o.spans, "spans", 1_000_000, "spans to load")
	fs.BoolVar(&o.skipLoad, "skip-load", false, "reuse the data already stored (with -dir, or -addr and -database)")
	fs.BoolVar(&o.sync, "sync", false, "badger: fsync each write while loading (the store's default; slower, reads are the same)")
	fs.IntVar(&o.load.perTrace, "per-trace", 10, "mean spans per trace (each trace has 1 to 2×this-1)")
	fs.IntVar(&o.load.extraAttrs, "extra-attrs", 5, "attributes added to each generated span beyond the generator's 5 (0: bench/clickhouse's data set)")
	fs.IntVar(&o.load.batch, "batch", 0, "spans per WriteSpans call (default: 1000, 50000 on clickhouse)")
	fs.Uint64Var(&o.load.seed, "seed", 1, "seed of the data and of the query parameters")
	fs.DurationVar(&o.bench.hours, "window", 24*time.Hour, "time range the spans spread over, ending now; searches cover it all")
	fs.IntVar(&o.bench.runs, "runs", 200, "runs of each query kind (dependencies and RED: a quarter, at least 5)")
	fs.DurationVar(&o.bench.maxKindTime, "max-kind-time", 60*time.Second, "stop measuring a kind after this long (its row shows the runs done)")
	fs.StringVar(&o.bench.only, "only", "", "run only the kinds whose name contains this")
	fs.IntVar(&o.bench.limit, "limit", 20, "traces per search")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []error
	switch o.backend {
	case "badger", "clickhouse":
	case "memory":
		if o.skipLoad {
			errs = append(errs, errors.New("-skip-load: the memory backend keeps nothing between runs"))
		}
	default:
		errs = append(errs, fmt.Errorf("-backend %q: want badger, clickhouse or memory", o.backend))
	}
	if o.skipLoad && o.backend == "badger" && o.dir == "" {
		errs = append(errs, errors.New("-skip-load needs -dir, the store loaded before"))
	}
	if o.skipLoad && o.backend == "clickhouse" && o.addr == "" && o.dir == "" {
		errs = append(errs, errors.New("-skip-load needs -addr or -dir, where the data was loaded before"))
	}
	if o.spans < 1 && !o.skipLoad {
		errs = append(errs, fmt.Errorf("-spans %d: must be positive", o.spans))
	}
	if o.load.perTrace < 1 {
		errs = append(errs, fmt.Errorf("-per-trace %d: must be positive", o.load.perTrace))
	}
	if o.load.extraAttrs < 0 || o.load.extraAttrs > len(extraAttrs) {
		errs = append(errs, fmt.Errorf("-extra-attrs %d: must be 0 to %d", o.load.extraAttrs, len(extraAttrs)))
	}
	if o.load.batch < 0 {
		errs = append(errs, fmt.Errorf("-batch %d: must not be negative", o.load.batch))
	}
	if o.bench.hours < time.Hour {
		errs = append(errs, fmt.Errorf("-window %s: must be at least 1h", o.bench.hours))
	}
	if o.bench.runs < 1 {
		errs = append(errs, fmt.Errorf("-runs %d: must be positive", o.bench.runs))
	}
	if o.bench.limit < 1 {
		errs = append(errs, fmt.Errorf("-limit %d: must be positive", o.bench.limit))
	}
	if o.load.batch == 0 {
		o.load.batch = 1000 // small batches, as a collector writes under moderate load
		if o.backend == "clickhouse" {
			o.load.batch = 50_000
		}
	}
	o.load.spans = o.spans
	o.load.hours = o.bench.hours
	o.bench.seed = o.load.seed
	return o, errors.Join(errs...)
}

// run is the command: open the backend, load it unless told not to, and
// measure. The table goes to out, progress and logs to stderr.
func run(ctx context.Context, args []string, out, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, where, closeStore, err := open(ctx, o, log)
	if err != nil {
		return err
	}
	defer closeStore()

	fmt.Fprintf(out, "# query benchmark: backend %s (%s), %s, GOMAXPROCS %d, %d CPUs\n",
		o.backend, where, runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU())
	if !o.skipLoad {
		st, err := load(ctx, store, o.load, time.Now().Add(-time.Minute), stderr)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		fmt.Fprintf(out, "# loaded %d spans in %d traces in %s = %.0f spans/s (batches of %d, %d attributes per span)\n",
			st.spans, st.traces, st.took.Round(time.Millisecond), float64(st.spans)/st.took.Seconds(), o.load.batch, 5+o.load.extraAttrs)
		if r, ok := store.(refresher); ok {
			took, err := precompute(ctx, r)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "# dependencies job over the loaded data: %s\n", took.Round(time.Millisecond))
		}
	}
	results, err := bench(ctx, store, o.bench, log, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "# %d runs per kind (dependencies and RED: %d), searches over %s for %d traces; API = HTTP request on loopback, body read\n",
		o.bench.runs, heavyRuns(o.bench.runs), o.bench.hours, o.bench.limit)
	printTable(out, results)
	var failed []string
	for _, r := range results {
		if r.err != nil {
			failed = append(failed, r.kind)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d kinds failed: %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// open opens the backend o selects; closeStore closes it and stops what
// open started.
func open(ctx context.Context, o options, log *slog.Logger) (store storage.Store, where string, closeStore func(), err error) {
	var cleanup []func()
	closeAll := func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	defer func() {
		if err != nil {
			closeAll() // the returns on error leave closeStore nil
		}
	}()
	switch o.backend {
	case "memory":
		s := memory.New(memory.WithMaxSpans(max(o.spans, 1)), memory.WithMaxBytes(1<<40))
		return s, "in process", func() { _ = s.Close() }, nil
	case "badger":
		dir := o.dir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "tracer-query-bench-"); err != nil {
				return nil, "", nil, err
			}
			cleanup = append(cleanup, func() { _ = os.RemoveAll(dir) })
		} else if !o.skipLoad {
			if err := mustBeEmpty(dir); err != nil {
				return nil, "", nil, err
			}
		}
		s, err := badger.Open(dir, badger.WithSyncWrites(o.sync), badger.WithLogger(log))
		if err != nil {
			return nil, "", nil, err
		}
		cleanup = append(cleanup, func() {
			if err := s.Close(); err != nil {
				log.Warn("close badger", "err", err)
			}
		})
		return s, dir, closeAll, nil
	}
	addr := o.addr
	if addr == "" {
		var srv *chtest.Server
		if o.dir != "" {
			srv = chtest.StartDir(o.dir)
		} else {
			srv = chtest.Start()
		}
		if err := srv.Err(); err != nil {
			return nil, "", nil, fmt.Errorf("start clickhouse-server: %w", err)
		}
		cleanup = append(cleanup, srv.Stop)
		addr = srv.Addr
	}
	cfg := clickhouse.NewDefaultConfig()
	cfg.Addr = []string{addr}
	cfg.Database = o.database
	cfg.BatchSize = o.load.batch
	if !o.skipLoad {
		if err := databaseMustBeEmpty(ctx, cfg); err != nil {
			return nil, "", nil, err
		}
	}
	s, err := clickhouse.New(ctx, cfg)
	if err != nil {
		return nil, "", nil, fmt.Errorf("clickhouse %s: %w", addr, err)
	}
	cleanup = append(cleanup, func() { _ = s.Close() })
	return s, addr + "/" + o.database, closeAll, nil
}

// mustBeEmpty refuses to load into a directory that holds a store already:
// the data sets would mix.
func mustBeEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("-dir %s is not empty: remove it, or pass -skip-load to reuse what it holds", filepath.Clean(dir))
	}
	return nil
}

// databaseMustBeEmpty refuses to load into a ClickHouse database that has
// tables already: the data sets would mix.
func databaseMustBeEmpty(ctx context.Context, cfg clickhouse.Config) error {
	conn, err := ch.Open(&ch.Options{Addr: cfg.Addr, Auth: ch.Auth{Database: "default", Username: cfg.Username, Password: cfg.Password},
		DialTimeout: cfg.DialTimeout})
	if err != nil {
		return fmt.Errorf("clickhouse %s: %w", cfg.Addr[0], err)
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ?", cfg.Database).Scan(&n); err != nil {
		return fmt.Errorf("clickhouse %s: %w", cfg.Addr[0], err)
	}
	if n > 0 {
		return fmt.Errorf("database %s on %s has %d tables: drop it, pass another -database, or -skip-load to reuse it", cfg.Database, cfg.Addr[0], n)
	}
	return nil
}

// refresher is a store that precomputes dependencies in a background job
// (ClickHouse), which can be run at once.
type refresher interface {
	RefreshDependencies(ctx context.Context, settle time.Duration) error
}

// precompute runs the dependencies job over the data just loaded, as the
// store's own job would within its refresh interval, so that dependencies
// are measured as a long-running store answers them and the job does not
// compete with the measurements. It waits ClockMargin first: the job
// leaves minutes written more recently for its next run.
func precompute(ctx context.Context, r refresher) (time.Duration, error) {
	select {
	case <-time.After(clickhouse.ClockMargin + 1100*time.Millisecond):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	t0 := time.Now()
	if err := r.RefreshDependencies(ctx, 0); err != nil {
		return 0, fmt.Errorf("precompute dependencies: %w", err)
	}
	return time.Since(t0), nil
}
