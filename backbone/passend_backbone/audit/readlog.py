"""The read log (NEN 7513-style): who read which case, when, through which view, and why.

Reads are rows in the append-only table ``case_reads`` of the service's own database, not
events: they change no case, must not travel to other services' consumers, and are many
more than the events. Only persons' reads are logged; another service's (role
``service``) are machine traffic. A read is logged *before* it is served, so a failed
log write refuses the read rather than serving it unlogged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Header, HTTPException, Query, Request

from passend_backbone import db
from passend_backbone.auth import Principal, Role
from passend_backbone.auth.dependency import current_principal

MIGRATIONS = "passend_backbone.audit.migrations"
# The purpose logged for a service's ordinary views when the caller names none: the
# reader's own work on the case (an auditor's reads always name one).
ORDINARY_PURPOSE = "uitvoering taak"

_INSERT = """
INSERT INTO case_reads (case_id, swv, reader, reader_role, on_behalf_of, purpose, view,
                        correlation_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""

_INSERT_MANY = """
INSERT INTO case_reads (case_id, swv, reader, reader_role, on_behalf_of, purpose, view,
                        correlation_id)
SELECT DISTINCT c, $2, $3, $4, $5, $6, $7, $8 FROM unnest($1::text[]) AS c
"""
_BY_READER = """
SELECT read_id, case_id, swv, reader, reader_role, on_behalf_of, purpose, view,
       correlation_id, read_at
FROM case_reads
WHERE swv = $1 AND reader = $2
ORDER BY read_at DESC, read_id DESC
LIMIT $3
"""

_SELECT = """
SELECT read_id, case_id, swv, reader, reader_role, on_behalf_of, purpose, view,
       correlation_id, read_at
FROM case_reads
WHERE swv = $1 AND case_id = $2 AND ($3::timestamptz IS NULL OR read_at <= $3)
ORDER BY read_at, read_id
"""


@dataclass(frozen=True)
class CaseRead:
    """One logged read of a case."""

    read_id: int
    case_id: str
    swv: str
    reader: str
    reader_role: str
    on_behalf_of: str | None
    purpose: str
    view: str
    correlation_id: str | None
    read_at: datetime

    def as_json(self) -> dict[str, Any]:
        """The JSON shape the audit API returns."""
        return {
            "read_id": self.read_id,
            "case_id": self.case_id,
            "reader": self.reader,
            "reader_role": self.reader_role,
            "on_behalf_of": self.on_behalf_of,
            "purpose": self.purpose,
            "view": self.view,
            "correlation_id": self.correlation_id,
            "read_at": self.read_at.isoformat(),
        }


async def ensure_read_log(pool: asyncpg.Pool) -> None:
    """Create ``case_reads`` in this database unless it exists (idempotent, concurrency-safe).

    The runtime can apply :data:`MIGRATIONS` at start instead; this keeps a service that
    mounts the audit router working before that is wired.
    """
    await db.migrate(pool, [MIGRATIONS])


async def _with_read_log(pool: asyncpg.Pool, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Run ``sql``; when the read log is not there yet, create it and run it again."""
    try:
        rows: list[asyncpg.Record] = await pool.fetch(sql, *args)
    except asyncpg.UndefinedTableError:
        await ensure_read_log(pool)
        rows = await pool.fetch(sql, *args)
    return rows


def is_person(principal: Principal) -> bool:
    """Whether reads by ``principal`` are logged (everyone but another service)."""
    return principal.role is not Role.SERVICE


async def record_read(
    pool: asyncpg.Pool,
    principal: Principal,
    case_id: str,
    *,
    purpose: str,
    view: str,
    correlation_id: str | None = None,
    on_behalf_of: str | None = None,
) -> bool:
    """Log a person's read of ``case_id``; returns False (and logs nothing) for a service."""
    if not is_person(principal):
        return False
    await _with_read_log(
        pool,
        _INSERT,
        case_id,
        principal.swv,
        principal.subject,
        principal.role.value,
        on_behalf_of,
        purpose,
        view,
        correlation_id,
    )
    return True


async def record_list_read(
    pool: asyncpg.Pool | Any,
    principal: Principal,
    case_ids: Iterable[object],
    *,
    view: str,
    purpose: str = ORDINARY_PURPOSE,
    correlation_id: str | None = None,
) -> int:
    """Log a person's read of every case a list, inbox, agenda or report showed them (one
    row per case, one statement); returns how many cases were logged (0 for a service)."""
    ids = sorted({str(c) for c in case_ids if c})
    if not ids or not is_person(principal):
        return 0
    target = getattr(pool, "pool", pool)  # a service context holds its pool
    await _with_read_log(
        target,
        _INSERT_MANY,
        ids,
        principal.swv,
        principal.subject,
        principal.role.value,
        None,
        purpose,
        view,
        correlation_id,
    )
    return len(ids)


async def reads_by(
    pool: asyncpg.Pool, swv: str, reader: str, *, limit: int = 1000
) -> list[CaseRead]:
    """The logged reads of one person in tenant ``swv``, newest first."""
    rows = await _with_read_log(pool, _BY_READER, swv, reader, limit)
    return [CaseRead(**dict(row)) for row in rows]


async def reads_of(
    pool: asyncpg.Pool, swv: str, case_id: str, *, as_of: datetime | None = None
) -> list[CaseRead]:
    """The logged reads of one case of tenant ``swv``, oldest first (up to ``as_of``)."""
    rows = await _with_read_log(pool, _SELECT, swv, case_id, as_of)
    return [CaseRead(**dict(row)) for row in rows]


def _purpose(query: str | None, header: str | None) -> str | None:
    chosen = (query or header or "").strip()
    return chosen[:500] or None


def required_purpose(
    purpose: Annotated[
        str | None, Query(max_length=500, description="Why the case is read (logged)")
    ] = None,
    x_purpose: Annotated[str | None, Header(max_length=500)] = None,
) -> str:
    """The reason for a read, from ``?purpose=`` or ``X-Purpose``; 422 when neither is given."""
    chosen = _purpose(purpose, x_purpose)
    if chosen is None:
        raise HTTPException(
            422,
            detail={
                "rule": "NEN7513",
                "message": "every read of a case is logged with its reason: give ?purpose= "
                "or an X-Purpose header",
            },
        )
    return chosen


def record_case_read(
    pool: asyncpg.Pool | Any, view: str, *, case_param: str = "case_id"
) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency logging a person's read of the case in path parameter ``case_param``.

    Add it to a service's case endpoint:
    ``@app.get("/cases/{case_id}", dependencies=[Depends(record_case_read(ctx.pool, "x"))])``.
    The reason comes from ``?purpose=`` or ``X-Purpose``; without one the read is logged
    as the reader's ordinary work (:data:`ORDINARY_PURPOSE`). ``pool`` may also be the
    service context (anything with a ``pool``), read when a request comes in, so an app
    can be built (for its OpenAPI document) before it has a database.
    """

    async def dependency(
        request: Request,
        principal: Annotated[Principal, Depends(current_principal)],
        x_purpose: Annotated[str | None, Header(max_length=500)] = None,
    ) -> None:
        case_id = str(request.path_params[case_param])
        purpose = _purpose(request.query_params.get("purpose"), x_purpose)
        await record_read(
            getattr(pool, "pool", pool),
            principal,
            case_id,
            purpose=purpose or ORDINARY_PURPOSE,
            view=view,
            correlation_id=getattr(request.state, "correlation_id", None),
        )

    return dependency
