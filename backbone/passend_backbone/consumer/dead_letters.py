"""Where consumed records that can't be handled go: a dead-letter topic per source topic and
consumer group (``passend_contracts.topics.dead_letter``), with the reason in headers."""

from __future__ import annotations

from typing import Any, Protocol

from aiokafka import AIOKafkaProducer


class DeadLetters(Protocol):
    """Where records set aside go."""

    async def send(self, topic: str, record: Any, headers: list[tuple[str, bytes]]) -> None:
        """Publish ``record`` (its key and value as they came) to ``topic``."""
        ...


class KafkaDeadLetters:
    """Dead-letter topics on the broker, written byte for byte by a raw producer."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def send(self, topic: str, record: Any, headers: list[tuple[str, bytes]]) -> None:
        await self.producer.send_and_wait(
            topic, value=record.value, key=record.key, headers=headers
        )


class MemoryDeadLetters:
    """The in-memory twin: what would have been dead-lettered, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, list[tuple[str, bytes]]]] = []

    async def send(self, topic: str, record: Any, headers: list[tuple[str, bytes]]) -> None:
        self.sent.append((topic, record, headers))
