package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/tracerdev/tracer/internal/chtest"
	"github.com/tracerdev/tracer/internal/cputime"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/clickhouse"
	"github.com/tracerdev/tracer/storage/storagetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	addr      string
	database  string
	spans     int
	perTrace  int
	hours     int
	rawRows   int
	queries   int
	batch     int
	skipWrite bool
	dataDir   string
	only      string
	serve     bool
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", "", "native address of an existing server (default: start one with internal/chtest)")
	fs.StringVar(&o.database, "database", "tracer_bench", "database")
	fs.IntVar(&o.spans, "spans", 10_000_000, "spans to store")
	fs.IntVar(&o.perTrace, "per-trace", 5, "spans per trace")
	fs.IntVar(&o.hours, "hours", 48, "hours the span start times spread over, ending now")
	fs.IntVar(&o.rawRows, "raw-rows", 2_000_000, "rows for the raw insert ceiling (0: skip)")
	fs.IntVar(&o.queries, "queries", 200, "runs of each read query")
	fs.IntVar(&o.batch, "batch", 50_000, "spans per WriteSpans call and batch")
	fs.BoolVar(&o.skipWrite, "skip-write", false, "reuse the data already in -database (with -data-dir or -addr)")
	fs.StringVar(&o.only, "only", "", "run only the read queries whose name contains this")
	fs.BoolVar(&o.serve, "serve", false, "only start a server, print \"addr ADDR pid PID\" and keep it until interrupted (for bench/collector.sh)")
	fs.StringVar(&o.dataDir, "data-dir", "", "keep the started server's files here, to reuse them with -skip-write (default: a temp dir, removed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	addr := o.addr
	serverPID := 0
	if addr == "" {
		var srv *chtest.Server
		if o.dataDir != "" {
			srv = chtest.StartDir(o.dataDir)
		} else {
			srv = chtest.Start()
		}
		if err := srv.Err(); err != nil {
			return fmt.Errorf("start clickhouse-server: %w", err)
		}
		defer srv.Stop()
		addr = srv.Addr
		serverPID = srv.PID()
		if o.serve {
			fmt.Fprintf(out, "addr %s pid %d\n", addr, srv.PID())
			<-ctx.Done()
			return nil
		}
	}
	fmt.Fprintf(out, "# ClickHouse storage benchmark: %d spans (%d per trace) over %dh, server %s\n", o.spans, o.perTrace, o.hours, addr)
	cfg := clickhouse.NewDefaultConfig()
	cfg.Addr = []string{addr}
	cfg.Database = o.database
	cfg.BatchSize = o.batch
	// The dependencies job is run once after the load (and timed), not
	// during it, so that the write figures are the writer's alone.
	cfg.DependencyRefresh = 0
	s, err := clickhouse.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	conn, err := ch.Open(&ch.Options{Addr: []string{addr}, Auth: ch.Auth{Database: o.database, Username: "default"},
		Compression: &ch.Compression{Method: ch.CompressionLZ4}})
	if err != nil {
		return err
	}
	defer conn.Close()
	server, err := serverVersion(ctx, conn)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "server version %s\n", server)

	if o.rawRows > 0 {
		if err := rawCeiling(ctx, conn, o.rawRows, out); err != nil {
			return fmt.Errorf("raw ceiling: %w", err)
		}
	}
	if o.spans == 0 && !o.skipWrite {
		return nil // the raw ceiling alone (bench/collector.sh uses this)
	}
	var sample sampleSet
	end := time.Now().Add(-time.Minute)
	begin := end.Add(-time.Duration(o.hours) * time.Hour)
	if !o.skipWrite {
		if sample, err = load(ctx, s, conn, o, begin, end, serverPID, out); err != nil {
			return fmt.Errorf("load: %w", err)
		}
		if err := precompute(ctx, s, end, true, out); err != nil {
			return err
		}
	} else {
		if sample, err = sampleExisting(ctx, conn); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		if err := precompute(ctx, s, end, false, out); err != nil {
			return err
		}
	}
	if err := diskUsage(ctx, conn, o.database, out); err != nil {
		return fmt.Errorf("disk usage: %w", err)
	}
	return latencies(ctx, s, sample, o.queries, o.only, end, out)
}

func serverVersion(ctx context.Context, conn ch.Conn) (string, error) {
	var v string
	err := conn.QueryRow(ctx, "SELECT version()").Scan(&v)
	return v, err
}

// rawCeiling inserts span-like rows into one plain MergeTree table with
// columnar batches of 100k: what the server and driver can take at most.
func rawCeiling(ctx context.Context, conn ch.Conn, rows int, out io.Writer) error {
	if err := conn.Exec(ctx, "DROP TABLE IF EXISTS bench_raw"); err != nil {
		return err
	}
	if err := conn.Exec(ctx, `CREATE TABLE bench_raw (
		day Date, trace_id FixedString(16), span_id FixedString(8), parent_span_id FixedString(8),
		service String, name String, kind Int8, start_time Int64, end_time Int64, status_code Int8,
		attr_keys Array(String), attr_values Array(String), resource_keys Array(String), resource_values Array(String)
	) ENGINE = MergeTree() PARTITION BY day ORDER BY (trace_id, span_id)`); err != nil {
		return err
	}
	const batch = 100_000
	g := storagetest.NewGenerator(7)
	now := time.Now()
	var spans []storage.Span
	for len(spans) < batch {
		spans = append(spans, g.Trace(now.Add(-time.Duration(len(spans))*time.Millisecond), 5)...)
	}
	spans = spans[:batch]
	cols := rawColumns(spans)
	start := time.Now()
	for done := 0; done < rows; done += batch {
		b, err := conn.PrepareBatch(ctx, "INSERT INTO bench_raw (day, trace_id, span_id, parent_span_id, service, name, kind, start_time, end_time, status_code, attr_keys, attr_values, resource_keys, resource_values)")
		if err != nil {
			return err
		}
		for i, c := range cols {
			if err := b.Column(i).Append(c); err != nil {
				_ = b.Abort()
				return err
			}
		}
		if err := b.Send(); err != nil {
			return err
		}
	}
	el := time.Since(start)
	fmt.Fprintf(out, "raw insert ceiling: %d rows in %s = %.0f rows/s (one MergeTree table, columnar batches of %d)\n",
		rows, el.Round(time.Millisecond), float64(rows)/el.Seconds(), batch)
	return conn.Exec(ctx, "DROP TABLE bench_raw")
}

func rawColumns(spans []storage.Span) []any {
	n := len(spans)
	day := make([]time.Time, n)
	tid, sid, pid, svc, name := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	kind, status := make([]int8, n), make([]int8, n)
	st, et := make([]int64, n), make([]int64, n)
	ak, av, rk, rv := make([][]string, n), make([][]string, n), make([][]string, n), make([][]string, n)
	for i, s := range spans {
		day[i] = time.Unix(0, s.StartTime).UTC().Truncate(24 * time.Hour)
		tid[i], sid[i], pid[i] = string(s.TraceID[:]), string(s.SpanID[:]), string(s.ParentSpanID[:])
		svc[i], name[i], kind[i], status[i] = s.Service, s.Name, int8(s.Kind), int8(s.StatusCode)
		st[i], et[i] = s.StartTime, s.EndTime
		for _, a := range s.Attributes {
			ak[i], av[i] = append(ak[i], a.Key), append(av[i], a.Value)
		}
		for _, a := range s.Resource {
			rk[i], rv[i] = append(rk[i], a.Key), append(rv[i], a.Value)
		}
	}
	return []any{day, tid, sid, pid, svc, name, kind, st, et, status, ak, av, rk, rv}
}

// sampleSet holds what the read queries pick from.
type sampleSet struct {
	traceIDs []storage.TraceID
	services []string
	ops      []string
}

// load generates the data set and writes it through the Store, a batch at
// a time, generating the next batch while the previous one is written.
func load(ctx context.Context, s *clickhouse.Store, conn ch.Conn, o options, begin, end time.Time, serverPID int, out io.Writer) (sampleSet, error) {
	g := storagetest.NewGenerator(1)
	sample := sampleSet{services: g.Services(), ops: g.Operations()}
	traces := o.spans / o.perTrace
	step := end.Sub(begin) / time.Duration(max(traces, 1))
	batches := make(chan []storage.Span, 2)
	genCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	genDone := make(chan struct{})
	go func() {
		defer close(genDone)
		defer close(batches)
		var cur []storage.Span
		for i := range traces {
			tr := g.Trace(begin.Add(time.Duration(i)*step), o.perTrace)
			if i%(max(traces/1000, 1)) == 0 {
				sample.traceIDs = append(sample.traceIDs, tr[0].TraceID)
			}
			cur = append(cur, tr...)
			if len(cur) >= o.batch || i == traces-1 {
				select {
				case batches <- cur:
				case <-genCtx.Done():
					return
				}
				cur = make([]storage.Span, 0, o.batch+o.perTrace)
			}
		}
	}()
	start := time.Now()
	ev0, err := serverEvents(ctx, conn)
	if err != nil {
		return sample, err
	}
	cpu0, srv0 := cputime.Now(), procCPU(serverPID)
	written, lastReport := 0, time.Now()
	var werr error
	for b := range batches {
		if werr = s.WriteSpans(ctx, b); werr != nil {
			cancel()
			break
		}
		written += len(b)
		if time.Since(lastReport) > 30*time.Second {
			fmt.Fprintf(out, "  ... %d spans written, %.0f spans/s\n", written, float64(written)/time.Since(start).Seconds())
			lastReport = time.Now()
		}
	}
	for range batches { // drain so the generator can exit
	}
	<-genDone
	if werr != nil {
		return sample, werr
	}
	el := time.Since(start)
	fmt.Fprintf(out, "store write: %d spans in %s = %.0f spans/s (WriteSpans, batches of %d, every table; generation overlapped)\n",
		written, el.Round(time.Millisecond), float64(written)/el.Seconds(), o.batch)
	cpu := cputime.Now() - cpu0
	fmt.Fprintf(out, "  CPU per million spans: this process %.2f s (generation included)", cpu.Seconds()*1e6/float64(max(written, 1)))
	if serverPID > 0 {
		srv := procCPU(serverPID) - srv0
		fmt.Fprintf(out, ", clickhouse-server %.2f s (merges during the load included)", srv.Seconds()*1e6/float64(max(written, 1)))
	}
	fmt.Fprintln(out)
	ev1, err := serverEvents(ctx, conn)
	if err != nil {
		return sample, err
	}
	// What the server did for it (system.events during the load): where
	// its CPU goes.
	fmt.Fprintf(out, "  server work per span:")
	for _, e := range profiledEvents {
		fmt.Fprintf(out, " %s %.4g", e, float64(ev1[e]-ev0[e])/float64(max(written, 1)))
	}
	fmt.Fprintln(out)
	return sample, nil
}

// profiledEvents are the system.events counters load reports per span.
var profiledEvents = []string{"InsertQuery", "InsertedRows", "InsertedBytes", "MergedRows", "MergedUncompressedBytes",
	"MergesTimeMilliseconds", "FileOpen", "WriteBufferFromFileDescriptorWriteBytes", "MergeTreeDataWriterBlocks", "MergeTreeDataWriterBlocksAlreadySorted"}

// serverEvents reads the server's event counters.
func serverEvents(ctx context.Context, conn ch.Conn) (map[string]uint64, error) {
	rows, err := conn.Query(ctx, "SELECT event, value FROM system.events")
	if err != nil {
		return nil, fmt.Errorf("system.events: %w", err)
	}
	defer rows.Close()
	out := make(map[string]uint64)
	for rows.Next() {
		var name string
		var v uint64
		if err := rows.Scan(&name, &v); err != nil {
			return nil, err
		}
		out[name] = v
	}
	return out, rows.Err()
}

// procCPU returns the CPU time (user + system) process pid has used, from
// /proc (0 when pid is 0 or /proc cannot tell).
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in ")".
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// precompute times the live dependencies over the last day once, then the
// background job's work over everything just loaded (it ran not during
// the load), so that the read figures see the precomputed edges.
func precompute(ctx context.Context, s *clickhouse.Store, end time.Time, timeLive bool, out io.Writer) error {
	if timeLive {
		t0 := time.Now()
		deps, err := s.Dependencies(ctx, end, 24*time.Hour)
		if err != nil {
			return fmt.Errorf("live dependencies: %w", err)
		}
		fmt.Fprintf(out, "dependencies (last 24h) before the job ran (all live): %s, %d edges\n", time.Since(t0).Round(time.Millisecond), len(deps))
	}
	time.Sleep(clickhouse.ClockMargin + 1100*time.Millisecond) // the job's stamps: see ClockMargin
	t0 := time.Now()
	if err := s.RefreshDependencies(ctx, 0); err != nil {
		return fmt.Errorf("refresh dependencies: %w", err)
	}
	fmt.Fprintf(out, "dependencies job over the loaded data: %s\n", time.Since(t0).Round(time.Millisecond))
	return nil
}

func sampleExisting(ctx context.Context, conn ch.Conn) (sampleSet, error) {
	var sample sampleSet
	rows, err := conn.Query(ctx, "SELECT DISTINCT trace_id FROM tracer_search WHERE cityHash64(trace_id) % 1000 = 0 LIMIT 2000")
	if err != nil {
		return sample, err
	}
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			rows.Close()
			return sample, err
		}
		var id storage.TraceID
		copy(id[:], raw)
		sample.traceIDs = append(sample.traceIDs, id)
	}
	rows.Close()
	g := storagetest.NewGenerator(1)
	sample.services, sample.ops = g.Services(), g.Operations()
	if len(sample.traceIDs) == 0 {
		return sample, errors.New("no data in the database")
	}
	return sample, rows.Err()
}

func diskUsage(ctx context.Context, conn ch.Conn, db string, out io.Writer) error {
	rows, err := conn.Query(ctx, "SELECT table, toUInt64(count()), sum(rows), sum(bytes_on_disk), sum(data_uncompressed_bytes) FROM system.parts"+
		" WHERE database = ? AND active AND table LIKE 'tracer_%' GROUP BY table ORDER BY table", db)
	if err != nil {
		return err
	}
	defer rows.Close()
	var spans, total uint64
	for rows.Next() {
		var table string
		var parts, n, disk, raw uint64
		if err := rows.Scan(&table, &parts, &n, &disk, &raw); err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-24s %12d rows %10.1f MB on disk (%.1f MB uncompressed, %d parts)\n", table, n, float64(disk)/1e6, float64(raw)/1e6, parts)
		if table == "tracer_spans" {
			spans = n
		}
		total += disk
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if spans == 0 {
		return nil
	}
	fmt.Fprintf(out, "bytes on disk per span: %.1f (all tables; %d span rows)\n", float64(total)/float64(spans), spans)
	// Where the bytes are: the largest columns, compressed, per span.
	crows, err := conn.Query(ctx, "SELECT table, name, data_compressed_bytes, data_uncompressed_bytes FROM system.columns"+
		" WHERE database = ? AND table LIKE 'tracer_%' ORDER BY data_compressed_bytes DESC LIMIT 16", db)
	if err != nil {
		return err
	}
	defer crows.Close()
	fmt.Fprintf(out, "  largest columns (bytes per span compressed / uncompressed):")
	for crows.Next() {
		var table, name string
		var c, u uint64
		if err := crows.Scan(&table, &name, &c, &u); err != nil {
			return err
		}
		fmt.Fprintf(out, " %s.%s %.1f/%.1f", strings.TrimPrefix(table, "tracer_"), name, float64(c)/float64(spans), float64(u)/float64(spans))
	}
	fmt.Fprintln(out)
	return crows.Err()
}

type probe struct {
	name string
	n    int
	fn   func(ctx context.Context, i int) (int, error) // returns a result count
}

func latencies(ctx context.Context, s *clickhouse.Store, sample sampleSet, runs int, only string, end time.Time, out io.Writer) error {
	r := rand.New(rand.NewPCG(3, 4))
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	probes := []probe{
		{"get trace by id", runs, func(ctx context.Context, i int) (int, error) {
			tr, err := s.Trace(ctx, sample.traceIDs[r.IntN(len(sample.traceIDs))])
			return len(tr.Spans), err
		}},
		{"search service+operation (all data, limit 20)", runs, func(ctx context.Context, i int) (int, error) {
			tr, err := s.FindTraces(ctx, storage.Query{Service: pick(sample.services), Operation: pick(sample.ops)})
			return len(tr), err
		}},
		{"search service+operation (last 1h, limit 20)", runs, func(ctx context.Context, i int) (int, error) {
			tr, err := s.FindTraces(ctx, storage.Query{Service: pick(sample.services), Operation: pick(sample.ops),
				StartMin: end.Add(-time.Hour), StartMax: end})
			return len(tr), err
		}},
		{"search service+attribute user.id (all data)", runs, func(ctx context.Context, i int) (int, error) {
			tr, err := s.FindTraces(ctx, storage.Query{Service: pick(sample.services),
				Attributes: map[string]string{"user.id": strconv.Itoa(r.IntN(1000))}})
			return len(tr), err
		}},
		{"search attribute only user.id (last 1h)", runs, func(ctx context.Context, i int) (int, error) {
			tr, err := s.FindTraces(ctx, storage.Query{StartMin: end.Add(-time.Hour), StartMax: end,
				Attributes: map[string]string{"user.id": strconv.Itoa(r.IntN(1000))}})
			return len(tr), err
		}},
		{"search attribute only user.id (all data)", max(runs/10, 5), func(ctx context.Context, i int) (int, error) {
			tr, err := s.FindTraces(ctx, storage.Query{Attributes: map[string]string{"user.id": strconv.Itoa(r.IntN(1000))}})
			return len(tr), err
		}},
		{"search service only (all data, limit 20)", runs, func(ctx context.Context, i int) (int, error) {
			tr, err := s.FindTraces(ctx, storage.Query{Service: pick(sample.services)})
			return len(tr), err
		}},
		{"search operation only (all data, limit 20)", runs, func(ctx context.Context, i int) (int, error) {
			tr, err := s.FindTraces(ctx, storage.Query{Operation: pick(sample.ops)})
			return len(tr), err
		}},
		{"search duration >= 199ms only (all data)", runs, func(ctx context.Context, i int) (int, error) {
			tr, err := s.FindTraces(ctx, storage.Query{DurationMin: 199 * time.Millisecond})
			return len(tr), err
		}},
		{"search service+duration >= 150ms (all data)", runs, func(ctx context.Context, i int) (int, error) {
			tr, err := s.FindTraces(ctx, storage.Query{Service: pick(sample.services), DurationMin: 150 * time.Millisecond})
			return len(tr), err
		}},
		{"search attribute only user.id (all data, ids)", runs, func(ctx context.Context, i int) (int, error) {
			ids, err := s.FindTraceIDs(ctx, storage.Query{Attributes: map[string]string{"user.id": strconv.Itoa(r.IntN(1000))}})
			return len(ids), err
		}},
		{"summaries service+operation (all data, limit 20)", runs, func(ctx context.Context, i int) (int, error) {
			sums, err := s.FindTraceSummaries(ctx, storage.Query{Service: pick(sample.services), Operation: pick(sample.ops)})
			return len(sums), err
		}},
		{"summaries attribute only user.id (all data)", runs, func(ctx context.Context, i int) (int, error) {
			sums, err := s.FindTraceSummaries(ctx, storage.Query{Attributes: map[string]string{"user.id": strconv.Itoa(r.IntN(1000))}})
			return len(sums), err
		}},
		{"stream trace by id", runs, func(ctx context.Context, i int) (int, error) {
			n := 0
			_, err := s.StreamTrace(ctx, sample.traceIDs[r.IntN(len(sample.traceIDs))], func(b []storage.Span) error {
				n += len(b)
				return nil
			})
			return n, err
		}},
		{"RED 24h per service, 1m step", max(runs/10, 5), func(ctx context.Context, i int) (int, error) {
			series, err := s.RED(ctx, storage.REDQuery{Start: end.Add(-24 * time.Hour), End: end, Step: time.Minute})
			return len(series), err
		}},
		{"RED 24h one service by operation, 5m step", max(runs/10, 5), func(ctx context.Context, i int) (int, error) {
			series, err := s.RED(ctx, storage.REDQuery{Services: []string{pick(sample.services)}, GroupByOperation: true,
				Start: end.Add(-24 * time.Hour), End: end, Step: 5 * time.Minute})
			return len(series), err
		}},
		{"attribute keys (last 24h)", runs, func(ctx context.Context, i int) (int, error) {
			keys, err := s.AttributeKeys(ctx, storage.AttributeQuery{Start: end.Add(-24 * time.Hour), End: end})
			return len(keys), err
		}},
		{"attribute values user.id (last 24h)", runs, func(ctx context.Context, i int) (int, error) {
			vals, err := s.AttributeValues(ctx, storage.AttributeQuery{Key: "user.id", Start: end.Add(-24 * time.Hour), End: end})
			return len(vals), err
		}},
		{"services", runs, func(ctx context.Context, i int) (int, error) {
			svcs, err := s.Services(ctx)
			return len(svcs), err
		}},
		{"operations", runs, func(ctx context.Context, i int) (int, error) {
			ops, err := s.Operations(ctx, pick(sample.services), storage.KindUnspecified)
			return len(ops), err
		}},
		{"dependencies (last 1h)", max(runs/10, 5), func(ctx context.Context, i int) (int, error) {
			d, err := s.Dependencies(ctx, end, time.Hour)
			return len(d), err
		}},
		{"dependencies (last 24h)", max(runs/40, 3), func(ctx context.Context, i int) (int, error) {
			d, err := s.Dependencies(ctx, end, 24*time.Hour)
			return len(d), err
		}},
	}
	fmt.Fprintf(out, "%-48s %6s %10s %10s %10s %8s\n", "query", "runs", "p50", "p99", "max", "results")
	for _, p := range probes {
		if !strings.Contains(p.name, only) {
			continue
		}
		// One warm-up run, not measured.
		if _, err := p.fn(ctx, -1); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		d := make([]time.Duration, 0, p.n)
		results := 0
		for i := range p.n {
			t0 := time.Now()
			n, err := p.fn(ctx, i)
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			d = append(d, time.Since(t0))
			results += n
		}
		slices.Sort(d)
		q := func(f float64) time.Duration { return d[min(len(d)-1, int(f*float64(len(d))))] }
		fmt.Fprintf(out, "%-48s %6d %10s %10s %10s %8.1f\n", p.name, p.n, q(0.5).Round(10*time.Microsecond),
			q(0.99).Round(10*time.Microsecond), d[len(d)-1].Round(10*time.Microsecond), float64(results)/float64(p.n))
	}
	return nil
}
