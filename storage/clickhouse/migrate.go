package clickhouse

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// The tables of schema versions 1 to 3 that version 4 replaces.
const (
	oldTableIndex = "tracer_span_index"
	oldTableAttrs = "tracer_attributes"
	oldTableTimes = "tracer_span_times"
)

// copiedTable is an old table whose rows version 4 copies into a new one
// (server side, INSERT ... SELECT) before dropping it.
type copiedTable struct {
	from, to string
	// columns of to, and the expressions over from's columns that fill
	// them, in the same order.
	columns, exprs []string
}

// copiedTables are the copies of the migration to version 4:
// tracer_span_index (every span since version 1) becomes tracer_search,
// ordered by service and time, and tracer_attributes loses its trace id
// (tracer_search_attributes points at tracer_search by service and start
// time instead). tracer_span_times held a subset of tracer_span_index
// (the spans since version 3): it is dropped, not copied.
var copiedTables = []copiedTable{
	{
		from: oldTableIndex, to: tableSearch,
		columns: searchInsertColumns,
		exprs:   searchInsertColumns,
	},
	{
		from: oldTableAttrs, to: tableSearchAttr,
		columns: searchAttrInsertColumns,
		exprs:   searchAttrInsertColumns,
	},
}

// droppedTables are dropped once copied (or, tracer_span_times, as is).
var droppedTables = []string{oldTableIndex, oldTableAttrs, oldTableTimes}

// droppedColumns are columns of tracer_spans that version 4 no longer
// writes: the vector clock entries, which the span's attributes carry too
// (vclock.FromAttributes rebuilds the clock from them when it is read).
var droppedColumns = []string{"vc_nodes", "vc_counts"}

// queryHasTable counts a table (0 or 1). Arguments: database, table.
const queryHasTable = "SELECT count() FROM system.tables WHERE database = ? AND name = ?"

// migrateTo4 brings a database created at an older version up to version
// 4: it copies the rows of the replaced tables into the new ones (see
// copiedTables), drops the replaced tables and tracer_spans' clock
// columns. Each step is skipped when already done, so a migration that
// stopped half way is finished by the next start; a copy interrupted
// before its drop is made again, which leaves duplicate rows that the
// tables' engine (ReplacingMergeTree) and every reader remove. The copies
// run on the server; on a large database they take a while, and New
// waits for them (progress goes to logger).
func migrateTo4(ctx context.Context, conn clickhouse.Conn, c Config, logger *slog.Logger) error {
	db := c.Database
	on := c.Cluster.onCluster()
	for _, t := range copiedTables {
		ok, err := hasTable(ctx, conn, db, t.from)
		if err != nil {
			return err
		}
		if !ok {
			continue // copied and dropped, or never created (version 2 had no tracer_attributes)
		}
		var rows uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+"."+t.from).Scan(&rows); err != nil {
			return fmt.Errorf("count %s: %w", t.from, err)
		}
		logger.Info("clickhouse: migrating to schema version 4: copying", "from", t.from, "to", t.to, "rows", rows)
		start := time.Now()
		q := "INSERT INTO " + db + "." + t.to + " (" + strings.Join(t.columns, ", ") + ") SELECT " +
			strings.Join(t.exprs, ", ") + " FROM " + db + "." + t.from
		// Copies through Distributed tables are synchronous, as writes are.
		if err := conn.Exec(writeSettings(ctx, c), q); err != nil {
			return fmt.Errorf("copy %s into %s: %w", t.from, t.to, err)
		}
		logger.Info("clickhouse: migrating to schema version 4: copied", "from", t.from, "rows", rows, "took", time.Since(start).Round(time.Millisecond))
	}
	for _, t := range droppedTables {
		names := []string{t}
		if c.Cluster.Distributed {
			names = append(names, localName(t))
		}
		for _, n := range names {
			if err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+db+"."+n+on); err != nil {
				return fmt.Errorf("drop %s: %w", n, err)
			}
		}
	}
	tables := []string{tableSpans}
	if c.Cluster.Distributed {
		tables = []string{localName(tableSpans), tableSpans}
	}
	for _, t := range tables {
		for _, col := range droppedColumns {
			var n uint64
			if err := conn.QueryRow(ctx, queryHasColumn, db, t, col).Scan(&n); err != nil {
				return fmt.Errorf("look up column %s.%s: %w", t, col, err)
			}
			if n == 0 {
				continue
			}
			if err := conn.Exec(ctx, "ALTER TABLE "+db+"."+t+on+" DROP COLUMN "+col); err != nil {
				return fmt.Errorf("drop column %s.%s: %w", t, col, err)
			}
		}
	}
	return nil
}

func hasTable(ctx context.Context, conn clickhouse.Conn, db, table string) (bool, error) {
	var n uint64
	if err := conn.QueryRow(ctx, queryHasTable, db, table).Scan(&n); err != nil {
		return false, fmt.Errorf("look up table %s: %w", table, err)
	}
	return n > 0, nil
}
