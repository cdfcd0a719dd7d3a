"""Publishing minimised events (and their thin notifications) to a region's integration topics."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from passend_backbone import kafka_io
from passend_backbone.kafka_settings import BrokerKind
from passend_backbone.topics import KafkaTopics
from passend_consumerkit.thin import kafka_record
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_gateway.thin import ApiUrls, notification_for


class BrokerUnavailable(ConnectionError):
    """Publishing failed. A ``ConnectionError``, so the consumer's delivery policy takes it
    as transient (``passend_backbone.consumer.failures``): the batch is retried with
    back-off for as long as the broker is away, and the event is never dead-lettered."""


class RegionTopicMissing(Exception):
    """The region's integration topic does not exist: the operator's topics step makes it
    (``passend-ops topics apply``); the gateway never creates a topic."""

    def __init__(self, region: str, missing: list[str]) -> None:
        super().__init__(
            f"integration topic(s) {', '.join(missing)} of region {region!r} do not exist: "
            "run `passend-ops topics apply` (deploy/README.md, Topics)"
        )
        self.region = region
        self.missing = missing


class Publisher:
    """One producer for every region's topics, started on first use. It never creates a
    topic: a region whose topics are missing raises :class:`RegionTopicMissing`."""

    def __init__(
        self, bootstrap: str, kind: BrokerKind, thin: ApiUrls | None, topic_prefix: str = ""
    ) -> None:
        self._bootstrap = bootstrap
        self._prefix = topic_prefix
        self._kind: BrokerKind = kind
        self._thin = thin
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._ready_regions: set[str] = set()
        self._inspector = KafkaTopics(bootstrap)

    def topics_of(self, region: str) -> list[str]:
        """The topics a region's events go to: the filtered stream, and thin if enabled."""
        names = [self._prefix + topics.integration(region)]
        if self._thin is not None:
            names.append(self._prefix + topics.integration_thin(region))
        return names

    async def publish(self, region: str, event: CloudEvent) -> None:
        """Publish ``event`` (already minimised) to ``region``; returns once acknowledged.

        At-least-once: the caller marks the source event handled after this returns, so a
        crash in between publishes it again with the same id, which receivers deduplicate.
        """
        try:
            producer = await self._started()
            if region not in self._ready_regions:
                found = await self._inspector.describe(self.topics_of(region))
                missing = [name for name, state in found.items() if state is None]
                if missing:
                    raise RegionTopicMissing(region, missing)
                self._ready_regions.add(region)
            key, headers, value = event.to_kafka()
            await producer.send_and_wait(
                self._prefix + topics.integration(region), value=value, key=key, headers=headers
            )
            if self._thin is not None:
                key, headers, value = kafka_record(
                    event.id, event.subject, notification_for(event, self._thin)
                )
                await producer.send_and_wait(
                    self._prefix + topics.integration_thin(region),
                    value=value,
                    key=key,
                    headers=headers,
                )
        except KafkaError as exc:
            raise BrokerUnavailable(f"publishing to region {region!r} failed: {exc!r}") from exc

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                self._producer = await kafka_io.start_producer(self._bootstrap, self._kind)
            return self._producer

    async def close(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()
