"""Consumer settings per broker kind: read from the start of a new group, quick joins on Tansu."""

from __future__ import annotations

from typing import Any, Literal

BrokerKind = Literal["kafka", "tansu"]


def consumer_settings(kind: BrokerKind) -> dict[str, Any]:
    """Keyword arguments for a FastStream Kafka subscriber (handed on to aiokafka's consumer).

    Offsets are committed by the kit after your handler returned (``AckPolicy.MANUAL``),
    never automatically. A new group starts at the oldest retained event. Apache Kafka
    refuses session timeouts under ``group.min.session.timeout.ms`` (6 s by default);
    Tansu, the development broker, accepts short ones, which make group joins quick.
    """
    if kind not in ("kafka", "tansu"):
        raise ValueError(f"broker kind must be 'kafka' or 'tansu', not {kind!r}")
    fast_group = kind == "tansu"
    return {
        "auto_offset_reset": "earliest",
        # Tansu can't do read_committed; Passend's integration topics have no transactions.
        "isolation_level": "read_uncommitted" if fast_group else "read_committed",
        "session_timeout_ms": 1_000 if fast_group else 10_000,
        "heartbeat_interval_ms": 200 if fast_group else 3_000,
        "max_poll_records": 500,
    }
