package clickhouse_test

import (
	"fmt"
	"strings"

	"github.com/tracerdev/tracer/storage/clickhouse"
)

// The DDL for a sharded, replicated cluster: local Replicated tables and
// Distributed tables over them, created ON CLUSTER.
func ExampleSchemaStatements() {
	cfg := clickhouse.NewDefaultConfig()
	cfg.Addr = []string{"ch-1:9000", "ch-2:9000"}
	cfg.Cluster = clickhouse.ClusterConfig{
		Name:            "traces",
		Replicated:      true,
		ReplicationPath: clickhouse.DefaultReplicationPath,
		Distributed:     true,
	}
	stmts, err := clickhouse.SchemaStatements(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range stmts {
		first, _, _ := strings.Cut(s, "\n")
		fmt.Println(first)
		if i := strings.Index(s, "ENGINE = "); i >= 0 {
			engine, _, _ := strings.Cut(s[i:], "\n")
			fmt.Println("  " + engine)
		}
	}
	// Output:
	// CREATE DATABASE IF NOT EXISTS tracer ON CLUSTER traces
	// CREATE TABLE IF NOT EXISTS tracer.tracer_schema_version ON CLUSTER traces
	//   ENGINE = ReplacingMergeTree()
	// CREATE TABLE IF NOT EXISTS tracer.tracer_spans_local ON CLUSTER traces
	//   ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/tracer/tracer_spans_local', '{replica}', written)
	// CREATE TABLE IF NOT EXISTS tracer.tracer_spans ON CLUSTER traces AS tracer.tracer_spans_local
	//   ENGINE = Distributed(traces, tracer, tracer_spans_local, cityHash64(trace_id))
	// CREATE TABLE IF NOT EXISTS tracer.tracer_search_local ON CLUSTER traces
	//   ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/tracer/tracer_search_local', '{replica}')
	// CREATE TABLE IF NOT EXISTS tracer.tracer_search ON CLUSTER traces AS tracer.tracer_search_local
	//   ENGINE = Distributed(traces, tracer, tracer_search_local, cityHash64(trace_id))
	// CREATE TABLE IF NOT EXISTS tracer.tracer_operations_local ON CLUSTER traces
	//   ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/tracer/tracer_operations_local', '{replica}')
	// CREATE TABLE IF NOT EXISTS tracer.tracer_operations ON CLUSTER traces AS tracer.tracer_operations_local
	//   ENGINE = Distributed(traces, tracer, tracer_operations_local, cityHash64(service, name))
	// CREATE TABLE IF NOT EXISTS tracer.tracer_resources_local ON CLUSTER traces
	//   ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/tracer/tracer_resources_local', '{replica}')
	// CREATE TABLE IF NOT EXISTS tracer.tracer_resources ON CLUSTER traces AS tracer.tracer_resources_local
	//   ENGINE = Distributed(traces, tracer, tracer_resources_local, cityHash64(hash))
	// CREATE TABLE IF NOT EXISTS tracer.tracer_search_attributes_local ON CLUSTER traces
	//   ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/tracer/tracer_search_attributes_local', '{replica}')
	// CREATE TABLE IF NOT EXISTS tracer.tracer_search_attributes ON CLUSTER traces AS tracer.tracer_search_attributes_local
	//   ENGINE = Distributed(traces, tracer, tracer_search_attributes_local, cityHash64(key, value_hash))
	// CREATE TABLE IF NOT EXISTS tracer.tracer_attribute_values_local ON CLUSTER traces
	//   ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/tracer/tracer_attribute_values_local', '{replica}')
	// CREATE TABLE IF NOT EXISTS tracer.tracer_attribute_values ON CLUSTER traces AS tracer.tracer_attribute_values_local
	//   ENGINE = Distributed(traces, tracer, tracer_attribute_values_local, cityHash64(key, value))
	// CREATE TABLE IF NOT EXISTS tracer.tracer_red_local ON CLUSTER traces
	//   ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/tracer/tracer_red_local', '{replica}')
	// CREATE TABLE IF NOT EXISTS tracer.tracer_red ON CLUSTER traces AS tracer.tracer_red_local
	//   ENGINE = Distributed(traces, tracer, tracer_red_local, cityHash64(service, name))
	// CREATE TABLE IF NOT EXISTS tracer.tracer_red_services_local ON CLUSTER traces
	//   ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/tracer/tracer_red_services_local', '{replica}')
	// CREATE TABLE IF NOT EXISTS tracer.tracer_red_services ON CLUSTER traces AS tracer.tracer_red_services_local
	//   ENGINE = Distributed(traces, tracer, tracer_red_services_local, cityHash64(service))
	// CREATE TABLE IF NOT EXISTS tracer.tracer_edge_writes_local ON CLUSTER traces
	//   ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/tracer/tracer_edge_writes_local', '{replica}', at)
	// CREATE TABLE IF NOT EXISTS tracer.tracer_edge_writes ON CLUSTER traces AS tracer.tracer_edge_writes_local
	//   ENGINE = Distributed(traces, tracer, tracer_edge_writes_local, cityHash64(minute))
	// CREATE TABLE IF NOT EXISTS tracer.tracer_edges_local ON CLUSTER traces
	//   ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/tracer/tracer_edges_local', '{replica}', computed)
	// CREATE TABLE IF NOT EXISTS tracer.tracer_edges ON CLUSTER traces AS tracer.tracer_edges_local
	//   ENGINE = Distributed(traces, tracer, tracer_edges_local, cityHash64(minute))
	// CREATE TABLE IF NOT EXISTS tracer.tracer_edge_minutes_local ON CLUSTER traces
	//   ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/tracer/tracer_edge_minutes_local', '{replica}', computed)
	// CREATE TABLE IF NOT EXISTS tracer.tracer_edge_minutes ON CLUSTER traces AS tracer.tracer_edge_minutes_local
	//   ENGINE = Distributed(traces, tracer, tracer_edge_minutes_local, cityHash64(minute))
}
