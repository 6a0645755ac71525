package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracerdev/tracer/collector"
)

const ingesterUsage = `Usage: tracer ingester [flags]

Reads spans from Kafka and writes them to storage: the second half of a
deployment where collectors write to Kafka (tracer collector --sink kafka)
instead of storage, so that storage can pause for hours, or ingest can grow
past one collector, without losing spans.

Every ingester of a deployment joins one Kafka consumer group
(--kafka-group-id) on --kafka-topic; the group shares the topic's partitions
out among them and moves them when an ingester comes or goes. A message is
an OTLP ExportTraceServiceRequest in protobuf (the OpenTelemetry Collector's
otlp_proto encoding), so the OpenTelemetry Collector's kafka exporter can
write the topic too. Spans are written in batches (--batch-size,
--batch-timeout), and a partition's offset is committed only after storage
has written the spans before it: an ingester that crashes, or a partition
that moves, is read again from the last commit. Nothing is lost; spans read
twice are stored once (storage writes are idempotent). A storage write that
fails is retried until it succeeds, the offsets left uncommitted meanwhile.
A message that is not OTLP is logged, counted and skipped.

Liveness GET /health, readiness GET /ready (503 while storage writes are
retried or no broker answers) and Prometheus metrics GET /metrics
(tracer_ingester_*, with the lag of each partition) on --telemetry-endpoint.
On SIGINT or SIGTERM it stops reading, writes and commits the batch in
progress within --shutdown-timeout and leaves the group.

` + configHelp

// ingesterSection is the ingester's own Kafka settings: its consumer group.
var ingesterSection = section{"Kafka consumer group (tracer ingester)", []setting{
	{flag: "kafka-group-id", env: "TRACER_KAFKA_GROUP_ID", key: "kafka.consumer.group_id",
		help:  "consumer group of the ingesters: the same for every ingester of a deployment (not the OpenTelemetry Collector's otel-collector, so that both can read one topic)",
		field: strField(func(c *config) *string { return &c.Kafka.Consumer.GroupID })},
	{flag: "kafka-initial-offset", env: "TRACER_KAFKA_INITIAL_OFFSET", key: "kafka.consumer.initial_offset", arg: "earliest|latest",
		help:  "where a group without a committed offset starts: earliest keeps every span the collectors wrote before the first ingester joined",
		field: strField(func(c *config) *string { return &c.Kafka.Consumer.InitialOffset })},
	{flag: "kafka-fetch-max-bytes", env: "TRACER_KAFKA_FETCH_MAX_BYTES", key: "kafka.consumer.fetch_max_bytes",
		help:  "most bytes one fetch returns over all partitions (a larger message still comes, alone)",
		field: bytesField(func(c *config) *int { return &c.Kafka.Consumer.FetchMaxBytes })},
	{flag: "kafka-fetch-max-partition-bytes", env: "TRACER_KAFKA_FETCH_MAX_PARTITION_BYTES", key: "kafka.consumer.fetch_max_partition_bytes",
		help:  "most bytes one fetch returns per partition",
		field: bytesField(func(c *config) *int { return &c.Kafka.Consumer.FetchMaxPartitionBytes })},
	{flag: "kafka-session-timeout", env: "TRACER_KAFKA_SESSION_TIMEOUT", key: "kafka.consumer.session_timeout",
		help:  "how long the group waits for an ingester's heartbeat before it gives that ingester's partitions to the others",
		field: durField(func(c *config) *time.Duration { return &c.Kafka.Consumer.SessionTimeout })},
	{flag: "kafka-heartbeat-interval", env: "TRACER_KAFKA_HEARTBEAT_INTERVAL", key: "kafka.consumer.heartbeat_interval",
		help:  "how often an ingester tells the group it is alive",
		field: durField(func(c *config) *time.Duration { return &c.Kafka.Consumer.HeartbeatInterval })},
	{flag: "kafka-rebalance-timeout", env: "TRACER_KAFKA_REBALANCE_TIMEOUT", key: "kafka.consumer.rebalance_timeout",
		help:  "how long the group waits for ingesters to give partitions up; an ingester finishes its batch within half of it, else leaves it uncommitted for the next owner",
		field: durField(func(c *config) *time.Duration { return &c.Kafka.Consumer.RebalanceTimeout })},
}}

// ingesterCommand is "tracer ingester".
var ingesterCommand = &command{
	name:  "ingester",
	usage: ingesterUsage,
	sections: []section{
		kafkaSection,
		ingesterSection,
		batchSection,
		storageSection,
		pick(telemetrySection.title, telemetrySection,
			map[string]string{"shutdown_timeout": "how long shutdown may write the batch in progress; what is not written by then stays uncommitted in Kafka"},
			"telemetry.endpoint", "telemetry.log_level", "telemetry.log_format", "shutdown_timeout"),
	},
	validate: func(c *config) []error {
		if err := c.Config.ValidateIngester(); err != nil {
			return split(err)
		}
		return nil
	},
}

func (m *Main) runIngester(ctx context.Context, args []string) error {
	return m.run(ctx, ingesterCommand, args, m.serveIngester)
}

// serveIngester runs "tracer ingester" until ctx is done or a component
// fails, then shuts it down within cfg.ShutdownTimeout (m.Abort cuts that
// short: the batch in progress stays uncommitted in Kafka). Like the
// collector, it runs retention on the storage it writes.
func (m *Main) serveIngester(ctx context.Context, cfg config) error {
	log := newLogger(m.Stderr, cfg.Telemetry)
	reg, health, tel, err := startProcessTelemetry(ctx, cfg.Telemetry.Endpoint, log)
	if err != nil {
		return err
	}
	store, err := m.openStoreReporting(ctx, cfg.Storage, health, log)
	if err != nil {
		return errors.Join(err, tel.stop())
	}
	log.Info("storage opened", "type", cfg.Storage.Type, "location", storageLocation(cfg.Storage),
		"retention", retentionText(cfg.Storage.Retention), "write_timeout", cfg.Storage.WriteTimeout.String())
	fail := func(err error) error { return errors.Join(err, tel.stop(), store.Close()) }
	in, err := collector.NewIngester(cfg.Config, store, log, collector.WithIngesterRegisterer(reg), collector.WithIngesterHealth(health))
	if err != nil {
		return fail(err)
	}
	if err := in.Start(ctx); err != nil {
		return fail(err)
	}
	ret := startRetention(ctx, store, cfg.Storage.Retention, retentionInterval(cfg.Storage.Retention), log)
	log.Info("ingester serving", "brokers", strings.Join(cfg.Kafka.Brokers, ","), "topic", cfg.Kafka.Topic, "group", cfg.Kafka.Consumer.GroupID)

	var failed error
	select {
	case <-ctx.Done():
	case <-health.Failed():
		failed = fmt.Errorf("ingester failed: %w", health.Err())
		log.Error("a component failed: shutting down", "err", health.Err())
	}
	ret.stop()
	sctx, cancel := m.shutdownContext(ctx, cfg.ShutdownTimeout, log, "writing and committing the batch in progress",
		"second interrupt: stopping at once; the batch in progress stays uncommitted in kafka")
	defer cancel()
	err = in.Shutdown(sctx)
	if terr := tel.stop(); terr != nil {
		err = errors.Join(err, terr)
	}
	if cerr := store.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close storage: %w", cerr))
	}
	return errors.Join(failed, err)
}
