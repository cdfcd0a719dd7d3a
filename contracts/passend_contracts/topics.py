"""Kafka topic names: one topic per producing service, keyed by case id."""

from typing import Final

INTAKE: Final = "passend.intake.events"
ASSIGNMENT: Final = "passend.assignment.events"
TRAJECTORY: Final = "passend.trajectory.events"
NOTIFICATIONS: Final = "passend.notifications.events"

ALL: Final = (INTAKE, ASSIGNMENT, TRAJECTORY, NOTIFICATIONS)

# Partitions per event topic. Keyed by case id, so one case's events stay in order.
PARTITIONS: Final = 4


def dead_letter(topic: str, consumer_group: str) -> str:
    """The dead-letter topic of one consumer group reading ``topic``."""
    return f"{topic}.dlq.{consumer_group}"
