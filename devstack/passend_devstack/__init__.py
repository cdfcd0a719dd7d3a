"""The development stack: embedded PostgreSQL, a local Kafka-protocol broker, all services."""
