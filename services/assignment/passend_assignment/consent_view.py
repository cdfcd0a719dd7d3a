"""The parents' consent per case as intake publishes it (W10), for assignment's case view.

Intake owns consent; assignment only shows it. One row per case, set by upserts guarded
by the time of the change, so the row ends the same whatever order the events arrive in,
and whether or not the case was routed here yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from passend_backbone import tenancy
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import (
    ConsentConfirmed,
    ConsentRefused,
    ConsentRequested,
    ConsentWithdrawn,
)

CASE_CONSENT = "case_consent"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS consents (
    case_id       uuid PRIMARY KEY,
    swv           text NOT NULL,
    status        text NOT NULL,
    method        text,
    changed_at    timestamptz NOT NULL,
    requested_at  timestamptz,
    confirmed_at  timestamptz,
    confirmed_by  text,
    pupil_heard   boolean,
    refused_at    timestamptz,
    withdrawn_at  timestamptz
);
"""


class ConsentOut(BaseModel):
    """W10: the consent to individual support as intake last published it."""

    status: str  # requested, confirmed, refused, withdrawn
    method: str | None
    changed_at: datetime
    requested_at: datetime | None
    confirmed_at: datetime | None
    confirmed_by: str | None  # pseudonymous reference of the parent or guardian
    pupil_heard: bool | None
    refused_at: datetime | None
    withdrawn_at: datetime | None
    individual_support_allowed: bool


def _change(payload: EventPayload) -> tuple[str, datetime, dict[str, Any]] | None:
    """The status, when it changed and the event's own columns; ``None`` for other events."""
    match payload:
        case ConsentRequested():
            method = payload.method.value if payload.method else None
            return (
                "requested",
                payload.requested_at,
                {
                    "requested_at": payload.requested_at,
                    "method": method,
                },
            )
        case ConsentConfirmed():
            return (
                "confirmed",
                payload.confirmed_at,
                {
                    "confirmed_at": payload.confirmed_at,
                    "confirmed_by": payload.confirmed_by,
                    "pupil_heard": payload.pupil_heard,
                    "method": payload.method.value,
                },
            )
        case ConsentRefused():
            return "refused", payload.refused_at, {"refused_at": payload.refused_at}
        case ConsentWithdrawn():
            return "withdrawn", payload.withdrawn_at, {"withdrawn_at": payload.withdrawn_at}
        case _:
            return None


class ConsentBoard:
    """Projection ``case_consent`` over intake's consent events (W10)."""

    name: str = CASE_CONSENT
    topics: tuple[str, ...] = (topics.INTAKE,)

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(_SCHEMA)
        await tenancy.protect(conn, "consents")

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        change = _change(payload)
        if change is None:
            return
        status, changed_at, columns = change
        case_id = UUID(event.subject)
        # The latest change decides the status; each event's own facts are kept either way
        # (a late "requested" must not hide a confirmation already shown).
        await conn.execute(
            "INSERT INTO consents (case_id, swv, status, changed_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (case_id) DO UPDATE SET status = excluded.status, "
            "changed_at = excluded.changed_at WHERE consents.changed_at <= excluded.changed_at",
            case_id,
            event.swv,
            status,
            changed_at,
        )
        names = list(columns)
        sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
        await conn.execute(
            f"UPDATE consents SET {sets} WHERE case_id = $1", case_id, *columns.values()
        )


async def consent_of(conn: asyncpg.Connection, swv: str, case_id: UUID) -> ConsentOut | None:
    """The case's consent in this tenant, or ``None`` when none was requested yet."""
    row = await conn.fetchrow(
        "SELECT * FROM consents WHERE swv = $1 AND case_id = $2", swv, case_id
    )
    if row is None:
        return None
    values = {k: v for k, v in dict(row).items() if k not in ("case_id", "swv")}
    return ConsentOut(**values, individual_support_allowed=row["status"] == "confirmed")
