"""Starting Kafka producers; creating topics of their own for tests and benchmarks.

Services never create a topic: every topic of the system is the operator's
(``passend-ops topics apply``, :mod:`passend_backbone.topics`), and a service checks its
topics at start. :func:`ensure_topics` is for tests and benchmarks that name topics of
their own; it gives them the settings the plan gives every topic.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from passend_backbone.kafka_settings import (
    BrokerKind,
    client_security_settings,
    producer_settings,
)
from passend_backbone.topics import Durability, KafkaTopics, Topic
from passend_contracts import topics


async def start_producer(bootstrap: str, kind: BrokerKind) -> AIOKafkaProducer:
    """A started producer (``acks=all``; idempotent on Apache Kafka). The caller stops it."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, **producer_settings(kind), **client_security_settings()
    )
    await producer.start()
    return producer


def replication_factor() -> int:
    """``KAFKA_REPLICATION_FACTOR`` if set (production: 3), else 1 (one dev broker)."""
    raw = os.environ.get("KAFKA_REPLICATION_FACTOR", "1")
    try:
        factor = int(raw)
    except ValueError:
        raise ValueError(f"KAFKA_REPLICATION_FACTOR must be a whole number, not {raw!r}") from None
    if factor < 1:
        raise ValueError(f"KAFKA_REPLICATION_FACTOR must be at least 1, not {factor}")
    return factor


async def ensure_topics(
    bootstrap: str, names: Sequence[str], partitions: int = topics.PARTITIONS
) -> list[str]:
    """Create the topics of ``names`` that don't exist yet, keeping history as the plan's
    topics do (``retention.ms=-1``); returns those it created.

    Safe when several callers create at once: "already exists" counts as success.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_security_settings())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    missing = [n for n in dict.fromkeys(names) if n not in existing]
    wanted = [Topic(n, partitions, "events") for n in missing]
    return await KafkaTopics(bootstrap).create(wanted, Durability(replication_factor(), 1))
