"""The settings that decide delivery, per broker kind, in one place.

Producers wait for all in-sync replicas (``acks=all``). Apache Kafka gets the idempotent
producer; Tansu (the dev broker) can't do InitProducerId, so idempotence is off there and
the outbox relay's at-least-once plus idempotent consumers carry the guarantee.
Consumers never auto-commit: offsets are committed after the handler's database
transaction committed (at-least-once; handlers are idempotent).
Group joins take about half the session timeout; Tansu accepts short ones, Apache Kafka
refuses session timeouts under its ``group.min.session.timeout.ms`` (6 s by default).
"""

from __future__ import annotations

from typing import Any, Literal

BrokerKind = Literal["kafka", "tansu"]


def producer_settings(kind: BrokerKind) -> dict[str, Any]:
    """Keyword arguments for ``aiokafka.AIOKafkaProducer``."""
    return {
        "acks": "all",
        "enable_idempotence": kind == "kafka",
        "linger_ms": 5,
        "max_batch_size": 1024 * 1024,
        "compression_type": None,
        "request_timeout_ms": 30_000,
    }


def consumer_settings(kind: BrokerKind) -> dict[str, Any]:
    """Keyword arguments for ``aiokafka.AIOKafkaConsumer`` (manual commits)."""
    fast_group = kind == "tansu"
    return {
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_uncommitted" if fast_group else "read_committed",
        "session_timeout_ms": 1_000 if fast_group else 10_000,
        "heartbeat_interval_ms": 200 if fast_group else 3_000,
        "max_poll_records": 500,
    }
