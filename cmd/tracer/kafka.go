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
