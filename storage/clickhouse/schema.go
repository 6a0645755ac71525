package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/tracerdev/tracer"
)

// SchemaVersion is the version of clickhouse.sql this package applies; New
// records it in tracer_schema_version.
const SchemaVersion = 4

// addedColumn is a column a schema version added to a table that an older
// version created.
type addedColumn struct {
	table, name, typ string
}

// migrations holds, for each schema version after the first, the columns
// that bring a database at the previous version up to it (new tables come
// from clickhouse.sql's CREATE TABLE IF NOT EXISTS). New adds the missing
// ones in order.
//
// Version 2 stores each resource once (tracer_resources, resource_hash) and
// keeps the newest version of a rewritten span (written). Spans written at
// version 1 keep their resource in the old resource_* columns, which
// version 2 no longer reads: they come back without resource attributes.
var migrations = map[int][]addedColumn{
	2: {
		{tableSpans, "resource_hash", "FixedString(16)"},
		{tableSpans, "written", "UInt64"},
		{oldTableIndex, "resource_hash", "FixedString(16)"},
	},
	// Version 3 only adds tables (attributes, attribute values, RED,
	// dependency edges); see clickhouse.sql for what they cover of data
	// written before the upgrade.
	3: nil,
	// Version 4 replaces tables (see copiedTables and dropped): no column
	// is added.
	4: nil,
}

// Table names, as in clickhouse.sql.
const (
	tableVersion    = "tracer_schema_version"
	tableSpans      = "tracer_spans"
	tableSearch     = "tracer_search"
	tableOperations = "tracer_operations"
	tableResources  = "tracer_resources"
	tableSearchAttr = "tracer_search_attributes"
	tableAttrValues = "tracer_attribute_values"
	tableRED        = "tracer_red"
	tableREDSvc     = "tracer_red_services"
	tableEdgeWrites = "tracer_edge_writes"
	tableEdges      = "tracer_edges"
	tableEdgeMins   = "tracer_edge_minutes"
)

// dataTables are the tables retention drops partitions from.
var dataTables = []string{tableSpans, tableSearch, tableOperations, tableResources,
	tableSearchAttr, tableAttrValues, tableRED, tableREDSvc, tableEdgeWrites, tableEdges, tableEdgeMins}

type schemaStatement struct {
	table string // the table a CREATE TABLE statement creates
	local bool   // "-- tracer:local": never Distributed or Replicated
	shard string // "-- tracer:shard EXPR"
	body  string // the statement, no trailing ';'
}

var (
	createRE  = regexp.MustCompile(`(?m)^CREATE TABLE IF NOT EXISTS ([A-Za-z_][A-Za-z0-9_]*)`)
	engineRE  = regexp.MustCompile(`(?m)^ENGINE = ([A-Za-z]+)\(([^)]*)\)`)
	versionRE = regexp.MustCompile(`schema_version: (\d+)`)
)

// parseSchema splits clickhouse.sql into statements (each ends with ';' at
// the end of a line) and reads the "-- tracer:" directives before each.
func parseSchema(src string) ([]schemaStatement, error) {
	var (
		out []schemaStatement
		cur schemaStatement
		buf strings.Builder
	)
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "-- tracer:local"):
			cur.local = true
			continue
		case strings.HasPrefix(trimmed, "-- tracer:shard "):
			cur.shard = strings.TrimSpace(strings.TrimPrefix(trimmed, "-- tracer:shard "))
			continue
		case strings.HasPrefix(trimmed, "--"), trimmed == "" && buf.Len() == 0:
			continue
		}
		buf.WriteString(line)
		buf.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			cur.body = strings.TrimSuffix(strings.TrimSpace(buf.String()), ";")
			m := createRE.FindStringSubmatch(cur.body)
			if m == nil {
				return nil, fmt.Errorf("schema: statement is not CREATE TABLE IF NOT EXISTS: %.60q", cur.body)
			}
			cur.table = m[1]
			if !cur.local && cur.shard == "" {
				return nil, fmt.Errorf("schema: table %s has neither tracer:local nor tracer:shard", cur.table)
			}
			out = append(out, cur)
			cur = schemaStatement{}
			buf.Reset()
		}
	}
	if strings.TrimSpace(buf.String()) != "" {
		return nil, errors.New("schema: last statement does not end with ';'")
	}
	return out, nil
}

// fileSchemaVersion reads "schema_version: N" from clickhouse.sql's header.
func fileSchemaVersion(src string) (int, error) {
	m := versionRE.FindStringSubmatch(src)
	if m == nil {
		return 0, errors.New("schema: no schema_version in clickhouse.sql")
	}
	return strconv.Atoi(m[1])
}

// SchemaStatements returns the DDL New applies for c, in order: the
// database, then clickhouse.sql's tables, rewritten for c.Cluster:
//
//   - Name set: every statement gets ON CLUSTER name (unless LocalDDL).
//   - Replicated: data tables use Replicated* engines with
//     ReplicationPath ({database}, {table} filled in) and '{replica}'.
//   - Distributed: each data table is created as "<table>_local" and a
//     Distributed table "<table>" over it, sharded as clickhouse.sql says
//     (by trace id for spans), is created beside it; reads and writes use
//     the Distributed tables.
//
// Table names are qualified with c.Database.
func SchemaStatements(c Config) ([]string, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	stmts, err := parseSchema(tracer.ClickHouseSchema)
	if err != nil {
		return nil, err
	}
	onCluster := c.Cluster.onCluster()
	db := c.Database
	out := []string{"CREATE DATABASE IF NOT EXISTS " + db + onCluster}
	for _, s := range stmts {
		name := s.table
		distributed := c.Cluster.Distributed && !s.local
		if distributed {
			name = localName(s.table)
		}
		body := createRE.ReplaceAllLiteralString(s.body, "CREATE TABLE IF NOT EXISTS "+db+"."+name+onCluster)
		if c.Cluster.Replicated && !s.local {
			m := engineRE.FindStringSubmatch(body)
			if m == nil {
				return nil, fmt.Errorf("schema: table %s: no ENGINE = X(...) line", s.table)
			}
			path := strings.NewReplacer("{database}", db, "{table}", name).Replace(c.Cluster.ReplicationPath)
			args := "'" + path + "', '{replica}'"
			if strings.TrimSpace(m[2]) != "" {
				args += ", " + m[2]
			}
			body = engineRE.ReplaceAllLiteralString(body, "ENGINE = Replicated"+m[1]+"("+args+")")
		}
		out = append(out, body)
		if distributed {
			out = append(out, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s AS %s.%s\nENGINE = Distributed(%s, %s, %s, %s)",
				db, s.table, onCluster, db, name, c.Cluster.Name, db, name, s.shard))
		}
	}
	return out, nil
}

func localName(table string) string { return table + "_local" }

// applySchema creates the tables when missing and records or migrates the
// schema version. conn is connected to c.Database, which exists.
func applySchema(ctx context.Context, conn clickhouse.Conn, c Config, logger *slog.Logger) error {
	fileVersion, err := fileSchemaVersion(tracer.ClickHouseSchema)
	if err != nil {
		return err
	}
	if fileVersion != SchemaVersion {
		return fmt.Errorf("schema: clickhouse.sql is version %d, this package applies %d", fileVersion, SchemaVersion)
	}
	stmts, err := SchemaStatements(c)
	if err != nil {
		return err
	}
	for _, s := range stmts[1:] {
		if err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("apply schema: %w", err)
		}
	}
	current, err := schemaVersion(ctx, conn)
	if err != nil {
		return err
	}
	if current > SchemaVersion {
		return fmt.Errorf("schema: database %s is at version %d, newer than this binary's %d", c.Database, current, SchemaVersion)
	}
	if current == SchemaVersion {
		return nil
	}
	for v := current + 1; v <= SchemaVersion; v++ {
		for _, col := range migrations[v] {
			if err := addColumn(ctx, conn, c, col); err != nil {
				return fmt.Errorf("migrate to version %d: %w", v, err)
			}
		}
		if v == 4 {
			if err := migrateTo4(ctx, conn, c, logger); err != nil {
				return fmt.Errorf("migrate to version 4: %w", err)
			}
		}
	}
	return recordVersion(ctx, conn, SchemaVersion)
}

// querySchemaVersion reads the recorded schema version (0 when none).
const querySchemaVersion = "SELECT max(version) FROM " + tableVersion

// queryHasColumn counts a column of a table (0 or 1). Arguments: database,
// table, column.
const queryHasColumn = "SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?"

// addColumn adds col to its table (the local and the Distributed one on a
// cluster) unless the table has it already: a migration that stopped half
// way is finished by the next start.
func addColumn(ctx context.Context, conn clickhouse.Conn, c Config, col addedColumn) error {
	tables := []string{col.table}
	if c.Cluster.Distributed {
		tables = []string{localName(col.table), col.table}
	}
	for _, t := range tables {
		// A table a later version replaced (and dropped) needs no column.
		if ok, err := hasTable(ctx, conn, c.Database, t); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		var n uint64
		if err := conn.QueryRow(ctx, queryHasColumn, c.Database, t, col.name).Scan(&n); err != nil {
			return fmt.Errorf("look up column %s.%s: %w", t, col.name, err)
		}
		if n > 0 {
			continue
		}
		q := "ALTER TABLE " + c.Database + "." + t + c.Cluster.onCluster() + " ADD COLUMN " + col.name + " " + col.typ
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("add column %s.%s: %w", t, col.name, err)
		}
	}
	return nil
}

func schemaVersion(ctx context.Context, conn clickhouse.Conn) (int, error) {
	var v uint32
	if err := conn.QueryRow(ctx, querySchemaVersion).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v), nil
}

func recordVersion(ctx context.Context, conn clickhouse.Conn, v int) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+tableVersion+" (version, applied_at)")
	if err != nil {
		return fmt.Errorf("record schema version: %w", err)
	}
	if err := b.Append(uint32(v), time.Now().UTC().Truncate(time.Second)); err != nil {
		_ = b.Abort()
		return fmt.Errorf("record schema version: %w", err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("record schema version: %w", err)
	}
	return nil
}

// queryAttributesSince reads the oldest schema version recorded and when
// version 3 (tracer_attributes) was first applied.
const queryAttributesSince = "SELECT min(version), minIf(applied_at, version >= 3) FROM " + tableVersion

// attributesSince returns when the database started to fill
// tracer_attributes: zero when it was created at version 3 or later, else
// when it was migrated to version 3.
func attributesSince(ctx context.Context, conn clickhouse.Conn) (time.Time, error) {
	var (
		oldest uint32
		at     time.Time
	)
	if err := conn.QueryRow(ctx, queryAttributesSince).Scan(&oldest, &at); err != nil {
		return time.Time{}, fmt.Errorf("read schema history: %w", err)
	}
	if oldest >= 3 {
		return time.Time{}, nil
	}
	return at, nil
}
