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


# Kafka allows 249 characters in a topic name; the longest one built here is
# prefix + key + thin suffix. Cutting a longer key short could merge two regions, so refuse.
MAX_REGION_KEY: Final = 249 - len(INTEGRATION_PREFIX) - len(THIN_SUFFIX)


def region_key(region: str) -> str:
    """The region's name as it appears in topic names: lower-case ASCII letters, digits, ``-``.

    ``"GM0622"`` -> ``"gm0622"``, ``"'s-Hertogenbosch"`` -> ``"s-hertogenbosch"``. Dots
    never survive, so no region's topic can be another region's thin topic. A key equal to
    the thin marker (``"thin"``) would give an event topic ending in the thin suffix, so it
    gets a trailing ``-``: ordinary keys never end in ``-``, so no other name reaches it.
    Raises ``ValueError`` for a name with nothing left or one too long for a topic name.
    """
    ascii_name = unicodedata.normalize("NFKD", region).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not key:
        raise ValueError(f"region {region!r} has no letters or digits to name a topic after")
    if key == THIN_SUFFIX.removeprefix("."):
        key += "-"
    if len(key) > MAX_REGION_KEY:
        raise ValueError(f"region {region!r} is too long to name a topic after")
    return key


def integration(region: str) -> str:
    """The filtered event stream of one region: ``passend.integration.<region key>``."""
    return f"{INTEGRATION_PREFIX}{region_key(region)}"


def integration_thin(region: str) -> str:
    """The thin notifications ("case X changed, fetch it") of one region."""
    return f"{integration(region)}{THIN_SUFFIX}"


def is_thin(topic: str) -> bool:
    """Whether an integration topic is a region's thin topic rather than its event stream."""
    return topic.startswith(INTEGRATION_PREFIX) and topic.endswith(THIN_SUFFIX)
