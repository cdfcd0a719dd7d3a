"""The audit API every service mounts: a case's events and state as of a moment, and chain checks.

``app.include_router(audit_router(ctx, state_as_of=fold_with(evolve, CaseState())))``.
Auditors only (403 for any other role), own SWV only (another tenant's case answers 404
like an unknown one), and every case read names its purpose and is logged first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Protocol

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Request

from passend_backbone.audit.chain import verify_chains
from passend_backbone.audit.descriptions import describe as default_describe
from passend_backbone.audit.entries import Describe, event_entry
from passend_backbone.audit.readlog import reads_by, reads_of, record_read, required_purpose
from passend_backbone.audit.state import StateAsOf, summary_state
from passend_backbone.auth import Principal, Role
from passend_backbone.auth.dependency import current_principal
from passend_backbone.eventstore import EventStore, RecordedEvent
from passend_backbone.eventstore.store import COLUMNS, event_from_row

_CASE_EVENTS = f"""
SELECT {COLUMNS}, recorded_at FROM events
WHERE stream_id = $1 AND swv = $2 ORDER BY stream_version
"""


@dataclass(frozen=True)
class Recorded:
    """A stored event and when the store recorded it."""

    event: RecordedEvent
    recorded_at: datetime


class AuditContext(Protocol):
    """What the router needs of the runtime's ``ServiceContext``."""

    @property
    def name(self) -> str: ...
    @property
    def pool(self) -> asyncpg.Pool: ...
    @property
    def store(self) -> EventStore: ...


AsOf = Annotated[
    datetime | None,
    Query(description="Only what was recorded up to this moment (ISO 8601 with time zone)"),
]
Purpose = Annotated[str, Depends(required_purpose)]


def auditor(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The caller, if an auditor; 403 otherwise (whatever case is named)."""
    if principal.role is not Role.AUDITOR:
        raise HTTPException(403, detail="the audit API is for the auditor role only")
    return principal


Auditor = Annotated[Principal, Depends(auditor)]


def case_reader(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """An auditor, or a privacy officer answering a pupil's request for access (GDPR art.
    15: everything held on the pupil, who read it included); 403 otherwise."""
    if principal.role not in (Role.AUDITOR, Role.PRIVACY_OFFICER):
        raise HTTPException(
            403, detail="a case's events are for the auditor and the privacy officer only"
        )
    return principal


CaseReader = Annotated[Principal, Depends(case_reader)]


def _aware(as_of: datetime | None) -> datetime | None:
    if as_of is not None and as_of.tzinfo is None:
        raise HTTPException(
            422, detail="as_of needs a time zone, e.g. 2027-03-02T09:15:00+01:00 or ...Z"
        )
    return as_of


def audit_router(
    ctx: AuditContext,
    *,
    describe: Describe = default_describe,
    state_as_of: StateAsOf | None = None,
) -> APIRouter:
    """The ``/audit`` routes of service ``ctx.name`` over its own store and read log."""
    router = APIRouter(prefix="/audit", tags=["audit"])
    fold: StateAsOf = state_as_of or summary_state

    async def own_events(
        principal: Principal, case_id: str, as_of: datetime | None
    ) -> list[Recorded]:
        # As of a moment = what the store held then (recorded_at), which is what the
        # service's API could show; occurred_at may be earlier (a reaction's business time).
        rows = await ctx.pool.fetch(_CASE_EVENTS, case_id, principal.swv)
        if not rows:
            raise HTTPException(404, detail={"audit": "no_case", "service": ctx.name})
        return [
            Recorded(event_from_row(r), r["recorded_at"])
            for r in rows
            if as_of is None or r["recorded_at"] <= as_of
        ]

    async def log(
        request: Request, principal: Principal, case_id: str, purpose: str, view: str
    ) -> None:
        await record_read(
            ctx.pool,
            principal,
            case_id,
            purpose=purpose,
            view=f"{ctx.name}.{view}",
            correlation_id=getattr(request.state, "correlation_id", None),
        )

    @router.get("/cases/{case_id}/events")
    async def case_events(
        request: Request,
        case_id: str,
        principal: CaseReader,
        purpose: Purpose,
        as_of: AsOf = None,
    ) -> dict[str, Any]:
        """This service's events of the case (up to ``as_of``) and the logged reads of it."""
        moment = _aware(as_of)
        await log(request, principal, case_id, purpose, "audit.events")
        events = await own_events(principal, case_id, moment)
        reads = await reads_of(ctx.pool, principal.swv, case_id, as_of=moment)
        return {
            "service": ctx.name,
            "case_id": case_id,
            "as_of": moment.isoformat() if moment else None,
            "events": [
                {
                    **event_entry(ctx.name, e.event, describe),
                    "recorded_at": e.recorded_at.isoformat(),
                }
                for e in events
            ],
            "reads": [{"service": ctx.name, **r.as_json()} for r in reads],
        }

    @router.get("/cases/{case_id}/state")
    async def case_state(
        request: Request, case_id: str, principal: Auditor, purpose: Purpose, as_of: AsOf = None
    ) -> dict[str, Any]:
        """This service's state of the case as its events up to ``as_of`` make it."""
        moment = _aware(as_of)
        await log(request, principal, case_id, purpose, "audit.state")
        events = await own_events(principal, case_id, moment)
        return {
            "service": ctx.name,
            "case_id": case_id,
            "as_of": moment.isoformat() if moment else None,
            "version": events[-1].event.stream_version if events else 0,
            "last_recorded_at": events[-1].recorded_at.isoformat() if events else None,
            "state": fold([e.event for e in events]) if events else None,
        }

    @router.get("/reads")
    async def reads_of_person(
        principal: Auditor,
        reader: Annotated[
            str | None, Query(min_length=1, max_length=200, description="The person")
        ] = None,
    ) -> dict[str, Any]:
        """What one person read in this service (single cases, lists, agendas, exports),
        newest first: the read log per person."""
        if reader is None:
            raise HTTPException(422, detail="name the person: ?reader=<their id>")
        reads = await reads_by(ctx.pool, principal.swv, reader)
        return {"service": ctx.name, "reader": reader, "reads": [r.as_json() for r in reads]}

    @router.get("/verify")
    async def verify(principal: Auditor) -> dict[str, Any]:
        """The hash chains of every stream holding an event of the caller's SWV."""
        report = await verify_chains(ctx.pool, ctx.name, swv=principal.swv)
        return report.as_json()

    @router.get("/event-ids")
    async def event_ids(principal: Auditor) -> dict[str, Any]:
        """Every stored event id of the caller's SWV, in position order (for the topic check)."""
        rows = await ctx.pool.fetch(
            "SELECT event_id::text FROM events WHERE swv = $1 ORDER BY position", principal.swv
        )
        return {"service": ctx.name, "event_ids": [r["event_id"] for r in rows]}

    return router
