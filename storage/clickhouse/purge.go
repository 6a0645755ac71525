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
	for _, p := range parts {
		cluster := s.cfg.Cluster.Name
		if s.cfg.Cluster.LocalDDL {
			cluster = ""
		}
		q, err := DropPartitionQuery(s.cfg.Database, p.table, cluster, p.id)
		if err != nil {
			return fmt.Errorf("purge: %w", err)
		}
		if err := s.conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("purge: drop partition %s of %s: %w", p.id, p.table, err)
		}
	}
	return nil
}

// DropPartitionQuery returns the ALTER TABLE that drops one day partition.
// ALTER takes no bound parameters, so every part is checked: database,
// table and cluster must be identifiers and id a YYYYMMDD partition id (as
// system.parts lists it).
func DropPartitionQuery(database, table, cluster, id string) (string, error) {
	if !identRE.MatchString(database) || !identRE.MatchString(table) || (cluster != "" && !identRE.MatchString(cluster)) {
		return "", fmt.Errorf("drop partition: bad identifier in %q.%q on %q", database, table, cluster)
	}
	if !partitionIDRE.MatchString(id) {
		return "", fmt.Errorf("drop partition: unexpected partition id %q in %s", id, table)
	}
	onCluster := ""
	if cluster != "" {
		onCluster = " ON CLUSTER " + cluster
	}
	return fmt.Sprintf("ALTER TABLE %s.%s%s DROP PARTITION ID '%s'", database, table, onCluster, id), nil
}
