package clickhouse

import (
	"context"
	"fmt"
	"regexp"
	"time"
)

// QueryPartitions lists the day partitions of the data tables older than a
// day. Arguments: database, the three table names, and the first day to
// keep as a partition id (YYYYMMDD).
const QueryPartitions = "SELECT DISTINCT table, partition_id FROM system.parts" +
	" WHERE database = ? AND active AND table IN (?, ?, ?) AND partition_id < ?" +
	" ORDER BY table, partition_id"

// partitionIDRE is the partition id of a Date partition key.
var partitionIDRE = regexp.MustCompile(`^[0-9]{8}$`)

// PartitionsArgs returns QueryPartitions' arguments.
func PartitionsArgs(database string, tables [3]string, before time.Time) []any {
	return []any{database, tables[0], tables[1], tables[2], dayOf(before.UnixNano()).Format("20060102")}
}

// Purge deletes spans that started before t by dropping the whole day
// partitions before t's day (UTC): spans of t's own day are kept until a
// later Purge.
func (s *Store) Purge(ctx context.Context, before time.Time) error {
	var tables [3]string
	for i, t := range dataTables {
		if s.cfg.Cluster.Distributed {
			t = localName(t)
		}
		tables[i] = t
	}
	rows, err := s.conn.Query(ctx, QueryPartitions, PartitionsArgs(s.cfg.Database, tables, before)...)
	if err != nil {
		return fmt.Errorf("purge: list partitions: %w", err)
	}
	type part struct{ table, id string }
	var parts []part
	for rows.Next() {
		var p part
		if err := rows.Scan(&p.table, &p.id); err != nil {
			rows.Close()
			return fmt.Errorf("purge: list partitions: %w", err)
		}
		parts = append(parts, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("purge: list partitions: %w", err)
	}
	onCluster := ""
	if s.cfg.Cluster.Name != "" {
		onCluster = " ON CLUSTER " + s.cfg.Cluster.Name
	}
	for _, p := range parts {
		// ALTER takes no bound parameters: the table comes from our own
		// list and the id is checked to be eight digits.
		if !partitionIDRE.MatchString(p.id) {
			return fmt.Errorf("purge: unexpected partition id %q in %s", p.id, p.table)
		}
		q := fmt.Sprintf("ALTER TABLE %s.%s%s DROP PARTITION ID '%s'", s.cfg.Database, p.table, onCluster, p.id)
		if err := s.conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("purge: drop partition %s of %s: %w", p.id, p.table, err)
		}
	}
	return nil
}
