package clickhouse

import (
	"context"
	"fmt"
	"log/slog"
	"math"
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
		if err := copyTable(ctx, conn, c, t, logger); err != nil {
			return err
		}
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

// copySliceRows is about how many rows one INSERT ... SELECT of a copy
// moves: a copy is cut into slices of a day partition by start time, so
// that each statement ends well within Config.ReadTimeout (the server
// sends nothing while it copies) and the log shows progress.
const copySliceRows = 500_000

// copyTable copies t.from into t.to, day by day and slice by slice.
func copyTable(ctx context.Context, conn clickhouse.Conn, c Config, t copiedTable, logger *slog.Logger) error {
	// The days and their rows, from the table (on a cluster, the
	// Distributed one: every shard's days).
	rows, err := conn.Query(ctx, "SELECT toString(day) AS d, count() FROM "+c.Database+"."+t.from+" GROUP BY d ORDER BY d")
	if err != nil {
		return fmt.Errorf("list days of %s: %w", t.from, err)
	}
	type day struct {
		date string
		rows uint64
	}
	var days []day
	var total uint64
	for rows.Next() {
		var d day
		if err := rows.Scan(&d.date, &d.rows); err != nil {
			rows.Close()
			return fmt.Errorf("list days of %s: %w", t.from, err)
		}
		days = append(days, d)
		total += d.rows
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list days of %s: %w", t.from, err)
	}
	logger.Info("clickhouse: migrating to schema version 4: copying", "from", t.from, "to", t.to, "rows", total, "days", len(days))
	start := time.Now()
	q := "INSERT INTO " + c.Database + "." + t.to + " (" + strings.Join(t.columns, ", ") + ") SELECT " +
		strings.Join(t.exprs, ", ") + " FROM " + c.Database + "." + t.from +
		" WHERE day = toDate(?) AND start_time >= ? AND start_time <= ?"
	// Copies through Distributed tables are synchronous, as writes are.
	wctx := writeSettings(ctx, c)
	var done uint64
	for _, d := range days {
		from, err := time.Parse(time.DateOnly, d.date)
		if err != nil {
			return fmt.Errorf("day %q of %s: %w", d.date, t.from, err)
		}
		n := int64(max(1, (d.rows+copySliceRows-1)/copySliceRows))
		step := int64(24*time.Hour) / n
		for i := range n {
			// The first and last slices reach past the day: a start time
			// outside Date's range sits in the first or last day.
			lo, hi := from.UnixNano()+i*step, from.UnixNano()+(i+1)*step-1
			if i == 0 {
				lo = math.MinInt64
			}
			if i == n-1 {
				hi = math.MaxInt64
			}
			if err := conn.Exec(wctx, q, d.date, lo, hi); err != nil {
				return fmt.Errorf("copy %s into %s (day %s): %w", t.from, t.to, d.date, err)
			}
		}
		done += d.rows
		logger.Info("clickhouse: migrating to schema version 4: copied", "from", t.from, "day", d.date,
			"rows", done, "of", total, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}
