"""Kafka topic names: one event topic per producing service, integration topics per region."""

import re
import unicodedata
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


# Integration topics: one filtered, field-minimised stream per region (municipality), written
# only by the integration gateway; an outside organisation reads its own region's topics only.
INTEGRATION_PREFIX: Final = "passend.integration."
THIN_SUFFIX: Final = ".thin"


def region_key(region: str) -> str:
    """The region's name as it appears in topic names: lower-case ASCII letters, digits, ``-``.

    ``"GM0622"`` -> ``"gm0622"``, ``"'s-Hertogenbosch"`` -> ``"s-hertogenbosch"``. Dots
    never survive, so no region's topic can be another region's thin topic. Raises
    ``ValueError`` for a name with nothing left.
    """
    ascii_name = unicodedata.normalize("NFKD", region).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not key:
        raise ValueError(f"region {region!r} has no letters or digits to name a topic after")
    return key


def integration(region: str) -> str:
    """The filtered event stream of one region: ``passend.integration.<region key>``."""
    return f"{INTEGRATION_PREFIX}{region_key(region)}"


def integration_thin(region: str) -> str:
    """The thin notifications ("case X changed, fetch it") of one region."""
    return f"{integration(region)}{THIN_SUFFIX}"
