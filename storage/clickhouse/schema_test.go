package clickhouse_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tracerdev/tracer"
	"github.com/tracerdev/tracer/internal/chtest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/clickhouse"
	"github.com/tracerdev/tracer/storage/storagetest"
	"github.com/tracerdev/tracer/vclock"
)

func cfgWith(edit func(*clickhouse.Config)) clickhouse.Config {
	c := clickhouse.NewDefaultConfig()
	edit(&c)
	return c
}

func TestSchemaStatementsSingleServer(t *testing.T) {
	stmts, err := clickhouse.SchemaStatements(clickhouse.NewDefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stmts[0], "CREATE DATABASE IF NOT EXISTS tracer"; got != want {
		t.Errorf("first statement = %q, want %q", got, want)
	}
	if len(stmts) != 13 {
		t.Fatalf("got %d statements, want 13 (database + 12 tables)", len(stmts))
	}
	for _, s := range stmts {
		for _, bad := range []string{"ON CLUSTER", "Replicated", "Distributed", "_local"} {
			if strings.Contains(s, bad) {
				t.Errorf("single-server DDL contains %q:\n%s", bad, s)
			}
		}
	}
	for _, table := range []string{"tracer_schema_version", "tracer_spans", "tracer_search", "tracer_operations", "tracer_resources",
		"tracer_search_attributes", "tracer_attribute_values", "tracer_red", "tracer_red_services", "tracer_edge_writes", "tracer_edges", "tracer_edge_minutes"} {
		if !containsLine(stmts, "CREATE TABLE IF NOT EXISTS tracer."+table) {
			t.Errorf("no CREATE TABLE for tracer.%s", table)
		}
	}
}

func containsLine(stmts []string, prefix string) bool {
	for _, s := range stmts {
		if strings.HasPrefix(s, prefix+"\n") || s == prefix || strings.HasPrefix(s, prefix+" ") {
			return true
		}
	}
	return false
}

func TestSchemaStatementsCluster(t *testing.T) {
	cfg := cfgWith(func(c *clickhouse.Config) {
		c.Database = "traces"
		c.Cluster = clickhouse.ClusterConfig{Name: "prod", Replicated: true, Distributed: true,
			ReplicationPath: "/ch/{shard}/{database}/{table}"}
	})
	stmts, err := clickhouse.SchemaStatements(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*regexp.Regexp{
		"database": regexp.MustCompile(`^CREATE DATABASE IF NOT EXISTS traces ON CLUSTER prod$`),
		"spans local": regexp.MustCompile(`(?s)^CREATE TABLE IF NOT EXISTS traces\.tracer_spans_local ON CLUSTER prod\n.*` +
			`ENGINE = ReplicatedReplacingMergeTree\('/ch/\{shard\}/traces/tracer_spans_local', '\{replica\}', written\)\nPARTITION BY day\n`),
		"spans distributed": regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS traces\.tracer_spans ON CLUSTER prod AS traces\.tracer_spans_local\n` +
			`ENGINE = Distributed\(prod, traces, tracer_spans_local, cityHash64\(trace_id\)\)$`),
		"search distributed": regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS traces\.tracer_search ON CLUSTER prod AS traces\.tracer_search_local\n` +
			`ENGINE = Distributed\(prod, traces, tracer_search_local, cityHash64\(trace_id\)\)$`),
		"operations distributed": regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS traces\.tracer_operations ON CLUSTER prod AS traces\.tracer_operations_local\n` +
			`ENGINE = Distributed\(prod, traces, tracer_operations_local, cityHash64\(service, name\)\)$`),
		"resources distributed": regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS traces\.tracer_resources ON CLUSTER prod AS traces\.tracer_resources_local\n` +
			`ENGINE = Distributed\(prod, traces, tracer_resources_local, cityHash64\(hash\)\)$`),
		// Per-node bookkeeping stays local and unreplicated.
		"version": regexp.MustCompile(`(?s)^CREATE TABLE IF NOT EXISTS traces\.tracer_schema_version ON CLUSTER prod\n.*ENGINE = ReplacingMergeTree\(\)\nORDER BY version$`),
	}
	for name, re := range want {
		n := 0
		for _, s := range stmts {
			if re.MatchString(s) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d statements match %s, want 1; statements:\n%s", name, n, re, strings.Join(stmts, ";\n\n"))
		}
	}
	if len(stmts) != 24 {
		t.Errorf("got %d statements, want 24 (database, version, 11 local + 11 distributed)", len(stmts))
	}
}

func TestSchemaStatementsOptions(t *testing.T) {
	for _, tt := range []struct {
		name       string
		cluster    clickhouse.ClusterConfig
		contains   []string
		notContain []string
	}{
		{"on cluster only", clickhouse.ClusterConfig{Name: "c1"},
			[]string{"ON CLUSTER c1", "ENGINE = ReplacingMergeTree()"}, []string{"Replicated", "Distributed", "_local"}},
		{"replicated", clickhouse.ClusterConfig{Name: "c1", Replicated: true, ReplicationPath: clickhouse.DefaultReplicationPath},
			[]string{"ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/tracer/tracer_spans', '{replica}', written)",
				"ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/tracer/tracer_resources', '{replica}')"}, []string{"Distributed"}},
		{"distributed, local DDL", clickhouse.ClusterConfig{Name: "c1", Distributed: true, LocalDDL: true},
			[]string{"tracer_spans_local", "Distributed(c1, tracer, tracer_spans_local"}, []string{"ON CLUSTER", "Replicated"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stmts, err := clickhouse.SchemaStatements(cfgWith(func(c *clickhouse.Config) { c.Cluster = tt.cluster }))
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(stmts, "\n")
			for _, s := range tt.contains {
				if !strings.Contains(all, s) {
					t.Errorf("DDL lacks %q:\n%s", s, all)
				}
			}
			for _, s := range tt.notContain {
				if strings.Contains(all, s) {
					t.Errorf("DDL contains %q:\n%s", s, all)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*clickhouse.Config)
		want string // substring of the error; "" for valid
	}{
		{"default", func(*clickhouse.Config) {}, ""},
		{"no addr", func(c *clickhouse.Config) { c.Addr = nil }, "addr"},
		{"addr without port", func(c *clickhouse.Config) { c.Addr = []string{"localhost"} }, "host:port"},
		{"database injection", func(c *clickhouse.Config) { c.Database = "x; DROP TABLE y" }, "database"},
		{"addr without host", func(c *clickhouse.Config) { c.Addr = []string{":9000"} }, "host:port"},
		{"addr without port", func(c *clickhouse.Config) { c.Addr = []string{"localhost:"} }, "host:port"},
		{"ipv6 addr", func(c *clickhouse.Config) { c.Addr = []string{"[::1]:9000"} }, ""},
		{"zero batch", func(c *clickhouse.Config) { c.BatchSize = 0 }, "batch_size"},
		{"zero read timeout", func(c *clickhouse.Config) { c.ReadTimeout = 0 }, "read_timeout"},
		{"zero write timeout", func(c *clickhouse.Config) { c.WriteTimeout = 0 }, "write_timeout"},
		{"negative limits", func(c *clickhouse.Config) { c.Limits.MaxTraces = -1 }, "limits"},
		{"tls options without tls", func(c *clickhouse.Config) { c.TLS.ServerName = "ch" }, "tls.enabled"},
		{"missing ca file", func(c *clickhouse.Config) {
			c.TLS = clickhouse.TLSConfig{Enabled: true, CAFile: "/nonexistent/ca.pem"}
		}, "ca_file"},
		{"zero concurrency", func(c *clickhouse.Config) { c.MaxConcurrentBatches = 0 }, "concurrent"},
		{"distributed without cluster", func(c *clickhouse.Config) { c.Cluster.Distributed = true }, "cluster name"},
		{"bad cluster name", func(c *clickhouse.Config) { c.Cluster.Name = "a'b" }, "cluster"},
		{"quote in replication path", func(c *clickhouse.Config) {
			c.Cluster = clickhouse.ClusterConfig{Name: "c", Replicated: true, ReplicationPath: "/x'"}
		}, "replication_path"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := cfgWith(tt.edit).Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error about %q", err, tt.want)
			}
		})
	}
	// Every problem is reported at once.
	err := cfgWith(func(c *clickhouse.Config) { c.Addr = nil; c.BatchSize = 0 }).Validate()
	if err == nil || !strings.Contains(err.Error(), "addr") || !strings.Contains(err.Error(), "batch_size") {
		t.Errorf("Validate with two problems = %v, want both", err)
	}
}

func TestSchemaFileVersion(t *testing.T) {
	if !strings.Contains(tracer.ClickHouseSchema, "schema_version: "+itoa(clickhouse.SchemaVersion)+"\n") {
		t.Errorf("clickhouse.sql does not declare schema_version: %d", clickhouse.SchemaVersion)
	}
	for _, banned := range []string{"DateTime64", "Map(", "CODEC", "TTL", "INDEX ", "LowCardinality", "MergeTree(day"} {
		if strings.Contains(stripComments(tracer.ClickHouseSchema), banned) {
			t.Errorf("clickhouse.sql uses %q, which ClickHouse 18.16 or 26.x lacks", banned)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// New applies the schema idempotently: a second New on the same database
// works and keeps the data; a database from a newer schema is refused.
func TestNewIsIdempotentAndChecksVersion(t *testing.T) {
	db := server.NewDatabase(t)
	cfg := cfgWith(func(c *clickhouse.Config) { c.Addr = []string{server.Addr}; c.Database = db })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s1, err := clickhouse.New(ctx, cfg)
	if err != nil {
		t.Fatalf("first New: %v", err)
	}
	sp := storagetest.FullSpan(storage.TraceID{9}, storage.SpanID{9}, storage.SpanID{}, time.Now().Add(-time.Minute))
	if err := s1.WriteSpans(ctx, []storage.Span{sp}); err != nil {
		t.Fatalf("WriteSpans: %v", err)
	}
	s1.Close()
	s2, err := clickhouse.New(ctx, cfg)
	if err != nil {
		t.Fatalf("second New: %v", err)
	}
	if _, err := s2.Trace(ctx, sp.TraceID); err != nil {
		t.Errorf("Trace after a second New: %v", err)
	}
	s2.Close()

	conn, err := server.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM tracer_schema_version").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("tracer_schema_version has %d rows after two New, want 1", n)
	}
	b, err := conn.PrepareBatch(ctx, "INSERT INTO tracer_schema_version (version, applied_at)")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Append(uint32(clickhouse.SchemaVersion+1), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	if s, err := clickhouse.New(ctx, cfg); err == nil {
		s.Close()
		t.Error("New on a database with a newer schema version: no error")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Errorf("New on a newer schema: %v, want an error saying so", err)
	}
}

// The Distributed layout works for real on the test server's one-shard
// cluster (tables created locally, as without ZooKeeper): the whole
// conformance suite passes through the Distributed tables.
func TestConformanceDistributed(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, lim storage.ReaderLimits) storage.Store {
		return newStore(t, func(c *clickhouse.Config) {
			c.Cluster = clickhouse.ClusterConfig{Name: chtest.ClusterName, Distributed: true, LocalDDL: true}
			c.Limits = lim
		})
	}, storagetest.REDCountsEachWrite())
}

// A database at schema version 1 (testdata/schema_v1.sql, the schema as
// released) is migrated by New: the new columns are added, the new table
// created, and the store then writes and reads spans with their
// resources.
func TestMigrateFromVersion1(t *testing.T) {
	v1, err := os.ReadFile("testdata/schema_v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := server.Open(cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range strings.Split(stripComments(string(v1)), ";\n") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			if err := conn.Exec(ctx, stmt); err != nil {
				t.Fatalf("v1 schema: %v", err)
			}
		}
	}
	b, err := conn.PrepareBatch(ctx, "INSERT INTO tracer_schema_version (version, applied_at)")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Append(uint32(1), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second New finds the database migrated
		s, err := clickhouse.New(ctx, cfg)
		if err != nil {
			t.Fatalf("New on a version 1 database: %v", err)
		}
		sp := storagetest.FullSpan(storage.TraceID{0x61}, storage.SpanID{1}, storage.SpanID{}, time.Now().Add(-time.Minute))
		if err := s.WriteSpans(ctx, []storage.Span{sp}); err != nil {
			t.Fatalf("WriteSpans after migrating: %v", err)
		}
		got, err := s.Trace(ctx, sp.TraceID)
		if err != nil {
			t.Fatal(err)
		}
		if d := storagetest.DiffSpans(got.Spans, []storage.Span{sp}); d != "" {
			t.Errorf("span read after migrating differs:\n%s", d)
		}
		found, err := s.FindTraces(ctx, storage.Query{Attributes: map[string]string{"service.version": "1.2.3"}})
		if err != nil || len(found) != 1 {
			t.Errorf("search on a resource attribute after migrating: %d traces, %v", len(found), err)
		}
		s.Close()
	}
	var v uint32
	if err := conn.QueryRow(ctx, "SELECT max(version) FROM tracer_schema_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != clickhouse.SchemaVersion {
		t.Errorf("schema version after migrating = %d, want %d", v, clickhouse.SchemaVersion)
	}
}

// A database at schema version 2 (testdata/schema_v2.sql) holding spans
// is migrated by New: the new tables are created, the old spans are read
// and searched (by attributes alone too, through tracer_span_index),
// their dependencies are computed live, and RED series and attribute
// listings cover what is written after the upgrade (clickhouse.sql says
// so).
func TestMigrateFromVersion2(t *testing.T) {
	v2, err := os.ReadFile("testdata/schema_v2.sql")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config(t)
	cfg.DependencyRefresh = 0
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := server.Open(cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	old := time.Now().Add(-2 * time.Hour).UTC()
	ns := old.UnixNano()
	for _, stmt := range append(strings.Split(stripComments(string(v2)), ";\n"),
		"INSERT INTO tracer_schema_version (version, applied_at) SELECT 2, now()") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			if err := conn.Exec(ctx, stmt); err != nil {
				t.Fatalf("v2 database: %v", err)
			}
		}
	}
	tid := strings.Repeat("\x0b", 16)
	root, child, none := strings.Repeat("\x01", 8), strings.Repeat("\x02", 8), strings.Repeat("\x00", 8)
	insert := func(query string, rows ...[]any) { t.Helper(); insertRows(t, ctx, conn, query, rows...) }
	dayT := dayOfTest(old)
	insert("INSERT INTO tracer_spans (day, trace_id, span_id, parent_span_id, name, kind, start_time, end_time, service, attr_keys, attr_types, attr_values, written)",
		[]any{dayT, tid, root, none, "GET /", int8(2), ns, ns + int64(time.Second), "frontend", []string{"user.id"}, []uint8{0}, []string{"42"}, uint64(1)},
		[]any{dayT, tid, child, root, "GET /x", int8(2), ns + int64(time.Millisecond), ns + int64(time.Second), "backend", []string{}, []uint8{}, []string{}, uint64(1)})
	insert("INSERT INTO tracer_span_index (day, service, name, kind, start_time, duration, trace_id, span_id, parent_span_id, attr_keys, attr_values)",
		[]any{dayT, "frontend", "GET /", int8(2), ns, int64(time.Second), tid, root, none, []string{"user.id"}, []string{"42"}},
		[]any{dayT, "backend", "GET /x", int8(2), ns + int64(time.Millisecond), int64(999 * time.Millisecond), tid, child, root, []string{}, []string{}})
	s, err := clickhouse.New(ctx, cfg)
	if err != nil {
		t.Fatalf("New on a version 2 database: %v", err)
	}
	defer s.Close()
	oldID := storage.TraceID{0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b}
	tr, err := s.Trace(ctx, oldID)
	if err != nil || len(tr.Spans) != 2 {
		t.Fatalf("Trace of a version 2 trace: %d spans, %v", len(tr.Spans), err)
	}
	ids, err := s.FindTraceIDs(ctx, storage.Query{Attributes: map[string]string{"user.id": "42"}})
	if err != nil || !slices.Equal(ids, []storage.TraceID{oldID}) {
		t.Errorf("search by attribute alone over version 2 spans = %v, %v; want [%s]", ids, err, oldID)
	}
	deps, err := s.Dependencies(ctx, time.Now(), 3*time.Hour)
	if want := []storage.Dependency{{Parent: "frontend", Child: "backend", CallCount: 1}}; err != nil || !slices.Equal(deps, want) {
		t.Errorf("Dependencies over version 2 spans = %v, %v; want %v", deps, err, want)
	}
	red := storage.REDQuery{Start: old.Add(-time.Hour), End: time.Now().Add(time.Hour), Step: time.Hour}
	series, err := s.RED(ctx, red)
	if err != nil || len(series) != 0 {
		t.Errorf("RED over version 2 spans = %v, %v; want none (written before the upgrade)", series, err)
	}
	sp := storagetest.FullSpan(storage.TraceID{0x62}, storage.SpanID{1}, storage.SpanID{}, time.Now().Add(-time.Minute))
	if err := s.WriteSpans(ctx, []storage.Span{sp}); err != nil {
		t.Fatal(err)
	}
	series, err = s.RED(ctx, red)
	if err != nil || len(series) != 1 || series[0].Service != sp.Service {
		t.Errorf("RED after writing a span = %+v, %v; want one series of %s", series, err, sp.Service)
	}
	var v uint32
	if err := conn.QueryRow(ctx, "SELECT max(version) FROM tracer_schema_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != clickhouse.SchemaVersion {
		t.Errorf("schema version after migrating = %d, want %d", v, clickhouse.SchemaVersion)
	}
}

// dayOfTest is the day partition of t (UTC).
func dayOfTest(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// A database at schema version 3 (testdata/schema_v3.sql) holding spans is
// migrated by New to version 4: tracer_span_index and tracer_attributes
// are copied into tracer_search and tracer_search_attributes and dropped
// with tracer_span_times and tracer_spans' clock columns, and every old
// span reads back as it was written (its vector clock too, from its
// attributes), is found by service and operation and by attribute alone,
// and its dependency is computed. A second New finds it migrated.
func TestMigrateFromVersion3(t *testing.T) {
	v3, err := os.ReadFile("testdata/schema_v3.sql")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config(t)
	cfg.DependencyRefresh = 0
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := server.Open(cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range append(strings.Split(stripComments(string(v3)), ";\n"),
		"INSERT INTO tracer_schema_version (version, applied_at) SELECT 3, now()") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			if err := conn.Exec(ctx, stmt); err != nil {
				t.Fatalf("v3 database: %v", err)
			}
		}
	}
	old := time.Now().Add(-2 * time.Hour).UTC()
	ns := old.UnixNano()
	tid := storage.TraceID{0x0c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	root := storage.Span{TraceID: tid, SpanID: storage.SpanID{1}, Flags: 1, Name: "GET /", Kind: storage.KindServer,
		StartTime: ns, EndTime: ns + int64(time.Second), Service: "frontend", StatusCode: storage.StatusUnset,
		Attributes: []storage.Attribute{
			{Key: "user.id", Type: storage.TypeString, Value: "42"},
			{Key: vclock.AttrNode, Type: storage.TypeString, Value: "frontend-1"},
			{Key: vclock.AttrTick, Type: storage.TypeInt, Value: "3"},
		}}
	child := storage.Span{TraceID: tid, SpanID: storage.SpanID{2}, ParentSpanID: root.SpanID, Name: "GET /x", Kind: storage.KindServer,
		StartTime: ns + int64(time.Millisecond), EndTime: ns + int64(900*time.Millisecond), Service: "backend",
		StatusCode: storage.StatusError, StatusMessage: "boom",
		Attributes: []storage.Attribute{{Key: "http.method", Type: storage.TypeString, Value: "GET"}}}
	insert := func(query string, rows ...[]any) { t.Helper(); insertRows(t, ctx, conn, query, rows...) }
	dayT := dayOfTest(old)
	noRes := string(make([]byte, 16))
	var spanRows, indexRows, timeRows, attrRows [][]any
	for _, sp := range []storage.Span{root, child} {
		var keys, values []string
		var types []uint8
		for _, a := range sp.Attributes {
			keys, values, types = append(keys, a.Key), append(values, a.Value), append(types, uint8(a.Type))
			if a.Key != vclock.AttrTick {
				attrRows = append(attrRows, []any{dayT, a.Key, clickhouse.ValueHash(a.Value), sp.StartTime, sp.Service, string(sp.TraceID[:])})
			}
		}
		var vcNodes []string
		var vcCounts []uint64
		if c, ok := sp.Clock(); ok {
			for n, v := range c.All() {
				vcNodes, vcCounts = append(vcNodes, n), append(vcCounts, v)
			}
		}
		ids := []any{string(sp.TraceID[:]), string(sp.SpanID[:]), string(sp.ParentSpanID[:])}
		spanRows = append(spanRows, append([]any{dayT}, append(ids, sp.Flags, sp.Name, int8(sp.Kind), sp.StartTime, sp.EndTime,
			int8(sp.StatusCode), sp.StatusMessage, sp.Service, noRes, keys, types, values, vcNodes, vcCounts, uint64(1))...))
		indexRows = append(indexRows, append([]any{dayT, sp.Service, sp.Name, int8(sp.Kind), sp.StartTime, sp.EndTime - sp.StartTime},
			append(ids, int8(sp.StatusCode), keys, values, noRes)...))
		timeRows = append(timeRows, append([]any{dayT, sp.StartTime}, append(ids, sp.Service, int8(sp.StatusCode))...))
	}
	insert("INSERT INTO tracer_spans (day, trace_id, span_id, parent_span_id, flags, name, kind, start_time, end_time, status_code,"+
		" status_message, service, resource_hash, attr_keys, attr_types, attr_values, vc_nodes, vc_counts, written)", spanRows...)
	insert("INSERT INTO tracer_span_index (day, service, name, kind, start_time, duration, trace_id, span_id, parent_span_id,"+
		" status_code, attr_keys, attr_values, resource_hash)", indexRows...)
	insert("INSERT INTO tracer_span_times (day, start_time, trace_id, span_id, parent_span_id, service, status_code)", timeRows...)
	insert("INSERT INTO tracer_attributes (day, key, value_hash, start_time, service, trace_id)", attrRows...)
	// A version 3 writer marked the minutes its spans touched.
	insert("INSERT INTO tracer_edge_writes (day, minute)", []any{dayT, old.Unix() / 60 * 60}, []any{dayT, old.Unix()/60*60 + 60})

	for round := range 2 { // the second New finds the database migrated
		s, err := clickhouse.New(ctx, cfg)
		if err != nil {
			t.Fatalf("New %d on a version 3 database: %v", round, err)
		}
		tr, err := s.Trace(ctx, tid)
		if err != nil {
			t.Fatalf("Trace of a version 3 trace: %v", err)
		}
		if d := storagetest.DiffSpans(tr.Spans, []storage.Span{root, child}); d != "" {
			t.Errorf("version 3 spans read after migrating differ:\n%s", d)
		}
		for _, sp := range tr.Spans {
			if sp.SpanID == root.SpanID {
				if c, ok := sp.Clock(); !ok || c.String() != "frontend-1:3" {
					t.Errorf("clock of the migrated root = %v, %v; want frontend-1:3", c, ok)
				}
			}
		}
		for _, q := range []storage.Query{
			{Attributes: map[string]string{"user.id": "42"}},
			{Service: "frontend", Attributes: map[string]string{"user.id": "42"}},
			{Service: "backend", Operation: "GET /x"},
			{Service: "backend", Attributes: map[string]string{"http.method": "GET"}, StartMin: old.Add(-time.Minute)},
		} {
			ids, err := s.FindTraceIDs(ctx, q)
			if err != nil || !slices.Equal(ids, []storage.TraceID{tid}) {
				t.Errorf("search %+v over version 3 spans = %v, %v; want [%s]", q, ids, err, tid)
			}
		}
		deps, err := s.Dependencies(ctx, time.Now(), 3*time.Hour)
		if want := []storage.Dependency{{Parent: "frontend", Child: "backend", CallCount: 1, ErrorCount: 1}}; err != nil || !slices.Equal(deps, want) {
			t.Errorf("Dependencies over version 3 spans = %v, %v; want %v", deps, err, want)
		}
		s.Close()
	}
	for _, q := range []struct {
		query string
		want  uint64
	}{
		{"SELECT count() FROM system.tables WHERE database = currentDatabase() AND name IN ('tracer_span_index', 'tracer_span_times', 'tracer_attributes')", 0},
		{"SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = 'tracer_spans' AND name LIKE 'vc_%'", 0},
		{"SELECT count() FROM tracer_search FINAL", 2},
		{"SELECT count() FROM tracer_search_attributes FINAL", 3},
		{"SELECT toUInt64(max(version)) FROM tracer_schema_version", clickhouse.SchemaVersion},
	} {
		var n uint64
		if err := conn.QueryRow(ctx, q.query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q.query, err)
		}
		if n != q.want {
			t.Errorf("%s = %d, want %d", q.query, n, q.want)
		}
	}
}

// insertRows inserts rows with one batch of query (an old schema's tables,
// written as an old binary wrote them).
func insertRows(t *testing.T, ctx context.Context, conn driver.Conn, query string, rows ...[]any) {
	t.Helper()
	b, err := conn.PrepareBatch(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := b.Append(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
}
