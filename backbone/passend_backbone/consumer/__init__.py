"""Consuming events from Kafka into read models (projections) and into own events (reactors)."""

from passend_backbone.consumer.kinds import Projection, Reactor, reaction_id
from passend_backbone.consumer.readmodel import read_model
from passend_backbone.consumer.rebuild import RebuildConflict, RebuildReport, rebuild
from passend_backbone.consumer.runner import ConsumerRunner
from passend_backbone.consumer.schema import ConsumerTablesMissing, ProjectionNotSetUp

__all__ = [
    "ConsumerRunner",
    "ConsumerTablesMissing",
    "Projection",
    "ProjectionNotSetUp",
    "Reactor",
    "RebuildConflict",
    "RebuildReport",
    "reaction_id",
    "read_model",
    "rebuild",
]
