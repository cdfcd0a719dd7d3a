"""Consuming events from Kafka into read models (projections) and into own events (reactors)."""

from passend_backbone.consumer.bookkeeping import MemoryBookkeeping, PostgresBookkeeping
from passend_backbone.consumer.dead_letters import KafkaDeadLetters, MemoryDeadLetters
from passend_backbone.consumer.kinds import Projection, Reactor, reaction_id
from passend_backbone.consumer.readmodel import read_model
from passend_backbone.consumer.rebuild import RebuildConflict, RebuildReport, rebuild
from passend_backbone.consumer.schema import ConsumerTablesMissing, ProjectionNotSetUp
from passend_backbone.consumer.subscribers import Consumers, group_id

__all__ = [
    "ConsumerTablesMissing",
    "Consumers",
    "KafkaDeadLetters",
    "MemoryBookkeeping",
    "MemoryDeadLetters",
    "PostgresBookkeeping",
    "Projection",
    "ProjectionNotSetUp",
    "Reactor",
    "RebuildConflict",
    "RebuildReport",
    "group_id",
    "reaction_id",
    "read_model",
    "rebuild",
]
