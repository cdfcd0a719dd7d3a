"""A relay process for the crash test: relays one topic until it is killed.

Usage: outbox_crash_worker.py DATABASE_URL BOOTSTRAP BROKER_KIND TOPIC BATCH_SIZE
"""

from __future__ import annotations

import asyncio
import logging
import sys

import structlog

from passend_backbone.db import create_pool
from passend_backbone.eventstore import PostgresEventStore
from passend_backbone.kafka_io import start_producer
from passend_backbone.relay.relay import OutboxRelay


async def main(url: str, bootstrap: str, kind: str, topic: str, batch_size: int) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    pool = await create_pool(url, max_size=2)
    producer = await start_producer(bootstrap, "kafka" if kind == "kafka" else "tansu")
    store = PostgresEventStore(pool, "/passend/crash-test")
    relay = OutboxRelay(pool, store, producer, topic, source=store.source, batch_size=batch_size)
    await relay.run(asyncio.Event())  # runs until SIGKILL


if __name__ == "__main__":
    url, bootstrap, kind, topic, batch = sys.argv[1:6]
    asyncio.run(main(url, bootstrap, kind, topic, int(batch)))
