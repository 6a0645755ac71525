package main

import "time"

// kafkaSection is the Kafka settings that "tracer collector --sink kafka"
// and "tracer ingester" share; each adds its own (producer, consumer).
var kafkaSection = section{"Kafka (collector --sink kafka, ingester)", []setting{
	{flag: "kafka-brokers", env: "TRACER_KAFKA_BROKERS", key: "kafka.brokers", arg: "host:port,...",
		help:  "seed brokers (Kafka's port is 9092)",
		field: listField(func(c *config) *[]string { return &c.Kafka.Brokers })},
	{flag: "kafka-topic", env: "TRACER_KAFKA_TOPIC", key: "kafka.topic",
		help:  "topic of the spans (otlp_spans, the OpenTelemetry Collector's default)",
		field: strField(func(c *config) *string { return &c.Kafka.Topic })},
	{flag: "kafka-client-id", env: "TRACER_KAFKA_CLIENT_ID", key: "kafka.client_id",
		help:  "client id given to the brokers",
		field: strField(func(c *config) *string { return &c.Kafka.ClientID })},
	{flag: "kafka-dial-timeout", env: "TRACER_KAFKA_DIAL_TIMEOUT", key: "kafka.dial_timeout",
		help:  "how long connecting to a broker may take",
		field: durField(func(c *config) *time.Duration { return &c.Kafka.DialTimeout })},
}}

// sinkSection chooses where "tracer collector" writes; all-in-one always
// writes to its storage and has no such flag.
var sinkSection = section{"Sink", []setting{
	{flag: "sink", env: "TRACER_SINK", key: "sink", arg: "storage|kafka",
		help:  "where the collector writes the spans: storage (the Storage settings), or kafka (the Kafka settings: OTLP protobuf messages for \"tracer ingester\" or an OpenTelemetry Collector's kafka receiver to read)",
		field: strField(func(c *config) *string { return &c.Sink })},
}}

// kafkaProducerSection is the Kafka sink's own settings
// (collector.KafkaProducerConfig).
var kafkaProducerSection = section{"Kafka producer (collector --sink kafka; always idempotent, acks=all)", []setting{
	{flag: "kafka-compression", env: "TRACER_KAFKA_COMPRESSION", key: "kafka.producer.compression", arg: "none|gzip|snappy|lz4|zstd",
		help:  "compression of the record batches (none, as the OpenTelemetry Collector's kafka exporter)",
		field: strField(func(c *config) *string { return &c.Kafka.Producer.Compression })},
	{flag: "kafka-partitioner", env: "TRACER_KAFKA_PARTITIONER", key: "kafka.producer.partitioner", arg: "sarama_compat|murmur2",
		help:  "how a message's key (its trace id) picks the partition: sarama_compat (FNV-1a, the OpenTelemetry Collector's kafka exporter's default) or murmur2 (the Java client's); every writer of a topic must hash alike to keep a trace on one partition",
		field: strField(func(c *config) *string { return &c.Kafka.Producer.Partitioner })},
	{flag: "kafka-max-message-bytes", env: "TRACER_KAFKA_MAX_MESSAGE_BYTES", key: "kafka.producer.max_message_bytes",
		help:  "largest message (and record batch): the topic's max.message.bytes. Larger batches are split by trace, then a trace's spans over several messages; a span too large alone is dropped and counted",
		field: bytesField(func(c *config) *int { return &c.Kafka.Producer.MaxMessageBytes })},
	{flag: "kafka-max-buffered-records", env: "TRACER_KAFKA_MAX_BUFFERED_RECORDS", key: "kafka.producer.max_buffered_records",
		help:  "messages held in memory, sent and not yet acknowledged or waiting to be sent; past it a write waits",
		field: intField(func(c *config) *int { return &c.Kafka.Producer.MaxBufferedRecords })},
	{flag: "kafka-max-buffered-bytes", env: "TRACER_KAFKA_MAX_BUFFERED_BYTES", key: "kafka.producer.max_buffered_bytes",
		help:  "bytes of those messages; past it a write waits",
		field: bytesField(func(c *config) *int64 { return &c.Kafka.Producer.MaxBufferedBytes })},
	{flag: "kafka-linger", env: "TRACER_KAFKA_LINGER", key: "kafka.producer.linger",
		help:  "how long a partition's batch waits for more messages before it is sent",
		field: durField(func(c *config) *time.Duration { return &c.Kafka.Producer.Linger })},
	{flag: "kafka-produce-timeout", env: "TRACER_KAFKA_PRODUCE_TIMEOUT", key: "kafka.producer.timeout",
		help:  "how long a broker may take to answer a produce request; a whole write to Kafka is bounded by storage.write_timeout (YAML), then retried",
		field: durField(func(c *config) *time.Duration { return &c.Kafka.Producer.Timeout })},
	{flag: "kafka-allow-auto-topic-creation", env: "TRACER_KAFKA_ALLOW_AUTO_TOPIC_CREATION", key: "kafka.producer.allow_auto_topic_creation",
		help:  "let producing create the topic with the broker's defaults; by default it must exist, with the partitions the ingesters are to share",
		field: boolField(func(c *config) *bool { return &c.Kafka.Producer.AllowAutoTopicCreation })},
}}
