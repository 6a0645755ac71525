package clickhouse

import (
	"context"
	"fmt"
	"regexp"
	"time"
)

// queryPartitions lists the day partitions of the data tables older than a
// day. Arguments: database, the data tables' names (an array), and the
// first day to keep as a partition id (YYYYMMDD).
const queryPartitions = "SELECT DISTINCT table, partition_id FROM system.parts" +
	" WHERE database = ? AND active AND has(?, table) AND partition_id < ?" +
	" ORDER BY table, partition_id"

// partitionIDRE is the partition id of a Date partition key.
var partitionIDRE = regexp.MustCompile(`^[0-9]{8}$`)

// partitionsArgs returns queryPartitions' arguments.
func partitionsArgs(database string, tables []string, before time.Time) []any {
	return []any{database, tables, dayOf(before.UnixNano()).Format("20060102")}
}

// Purge deletes spans that started before t by dropping the whole day
// partitions before t's day (UTC): spans of t's own day are kept until a
// later Purge.
func (s *Store) Purge(ctx context.Context, before time.Time) error {
	tables := make([]string, len(dataTables))
	for i, t := range dataTables {
		if s.cfg.Cluster.Distributed {
			t = localName(t)
		}
		tables[i] = t
	}
	rows, err := s.conn.Query(ctx, queryPartitions, partitionsArgs(s.cfg.Database, tables, before)...)
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
	// A day dropped and written again lists its rows again.
	defer s.listed.forget()
	for _, p := range parts {
		q, err := dropPartitionQuery(s.cfg.Database, p.table, s.cfg.Cluster, p.id)
		if err != nil {
			return fmt.Errorf("purge: %w", err)
		}
		if err := s.conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("purge: drop partition %s of %s: %w", p.id, p.table, err)
		}
	}
	return nil
}

// dropPartitionQuery returns the ALTER TABLE that drops one day partition.
// ALTER takes no bound parameters, so every part is checked: database,
// table and cluster must be identifiers and id a YYYYMMDD partition id (as
// system.parts lists it).
func dropPartitionQuery(database, table string, cluster ClusterConfig, id string) (string, error) {
	if !identRE.MatchString(database) || !identRE.MatchString(table) || (cluster.Name != "" && !identRE.MatchString(cluster.Name)) {
		return "", fmt.Errorf("drop partition: bad identifier in %q.%q on %q", database, table, cluster.Name)
	}
	if !partitionIDRE.MatchString(id) {
		return "", fmt.Errorf("drop partition: unexpected partition id %q in %s", id, table)
	}
	return fmt.Sprintf("ALTER TABLE %s.%s%s DROP PARTITION ID '%s'", database, table, cluster.onCluster(), id), nil
}
