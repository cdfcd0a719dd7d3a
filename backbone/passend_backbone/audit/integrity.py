"""The integrity heads of a case for every reader of it: per stream, its length and last hash.

``app.include_router(integrity_router(ctx, check=reach))`` next to the audit router. The
auditor checks whole stores (``GET /audit/verify``); a reader of a case (the IB, the
support worker, Team NO) gets ``GET /cases/{case_id}/integrity``: for each of this
service's streams of the case, how many events it holds, the hash of the last one (which
seals every event before it) and whether the chain of that stream verifies. A reader can
file these heads with a dossier and have the auditor check them later. The answer holds
hashes and counts only: no event content, no names, no personal data.

Who may read it is decided by the service's own case check (``check``), the one it uses
for reading the case: 403 for a role that may not read the case, 404 for a case out of
reach, as for an unknown one. The read is logged like every other read of the case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from passend_backbone.audit.readlog import ORDINARY_PURPOSE, record_read
from passend_backbone.audit.router import AuditContext
from passend_backbone.auth import Principal
from passend_backbone.auth.dependency import current_principal
from passend_backbone.commands import Refusal
from passend_backbone.eventstore.hashchain import Link, verify_links
from passend_backbone.http_errors import READ_ERRORS

# The service's check that the caller may read the case: raises a Refusal (403 for the
# role, 404 out of reach) or returns.
CaseCheck = Callable[[Principal, UUID], Awaitable[None]]

# The whole stream, whatever tenant its rows name: an event whose ``swv`` was changed
# then breaks the chain instead of disappearing from the check.
_STREAM = """
SELECT event_id, stream_id, stream_version, event_type, data::text AS data, swv, actor,
       correlation_id, causation_id, on_behalf_of, occurred_at, recorded_at, prev_hash, hash
FROM events WHERE stream_id = $1 ORDER BY stream_version
"""


@dataclass(frozen=True)
class StreamIntegrity:
    """One stream of a case: its length, its last event's hash, and whether it verifies."""

    stream_id: str
    events: int
    head: str | None
    verified: bool

    def as_json(self) -> dict[str, Any]:
        """The JSON shape of one stream in ``GET /cases/{case_id}/integrity``."""
        return {
            "stream_id": self.stream_id,
            "events": self.events,
            "head": self.head,
            "verified": self.verified,
        }


class StreamHeadOut(BaseModel):
    """One stream of the case in this service."""

    stream_id: str = Field(description="The stream (the case id)")
    events: int = Field(description="How many events the stream holds")
    head: str | None = Field(description="SHA-256 of the last event (hex), sealing the chain")
    verified: bool = Field(description="Whether every link of the stream's chain holds")


_EXAMPLE_CASE = "3f2c8a4e-5b1d-4c7a-9e0f-2a6b8c1d4e7f"


class CaseIntegrity(BaseModel):
    """The hash-chain heads of a case's streams in one service."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "service": "intake",
                    "case_id": _EXAMPLE_CASE,
                    "streams": [
                        {
                            "stream_id": _EXAMPLE_CASE,
                            "events": 7,
                            "head": "9b1f" * 16,
                            "verified": True,
                        }
                    ],
                }
            ]
        }
    )
    service: str
    case_id: str
    streams: list[StreamHeadOut]


def stream_integrity(stream_id: str, rows: list[Any]) -> StreamIntegrity:
    """The integrity of one stream from its stored rows in version order."""
    links = [
        Link(
            event_id=r["event_id"],
            stream_id=r["stream_id"],
            stream_version=r["stream_version"],
            event_type=r["event_type"],
            data=str(r["data"]).encode(),
            swv=r["swv"],
            actor=r["actor"],
            correlation_id=r["correlation_id"],
            causation_id=r["causation_id"],
            on_behalf_of=r["on_behalf_of"],
            occurred_at=r["occurred_at"],
            recorded_at=r["recorded_at"],
            prev_hash=bytes(r["prev_hash"]),
            hash=bytes(r["hash"]),
        )
        for r in rows
    ]
    report = verify_links(links)
    head = links[-1].hash.hex() if links else None
    return StreamIntegrity(stream_id, len(links), head, report.ok)


def integrity_router(ctx: AuditContext, *, check: CaseCheck) -> APIRouter:
    """``GET /cases/{case_id}/integrity`` of service ``ctx.name``, for whoever ``check`` lets
    read the case."""
    router = APIRouter(tags=["integrity"])

    @router.get(
        "/cases/{case_id}/integrity",
        responses=READ_ERRORS,
        summary="The hash-chain heads of the case's streams",
        description="Per stream of the case in this service: its id, the number of events, "
        "the SHA-256 of the last event (hex), which seals every event before it, and whether "
        "the stream's chain verifies. Hashes and counts only, no personal data: a reader files "
        "them (the case dossier prints them) and the auditor can check them later. Every role "
        "that reads the case here, within reach (403 for another role, 404 out of reach); "
        "logged as a read of the case (`?purpose=` or `X-Purpose`).",
    )
    async def case_integrity(
        request: Request,
        case_id: UUID,
        principal: Annotated[Principal, Depends(current_principal)],
        x_purpose: Annotated[str | None, Header(max_length=500)] = None,
    ) -> CaseIntegrity:
        """Per stream of the case in this service: its id, how many events it holds, the
        hash of its last event and whether its hash chain verifies (no personal data)."""
        await check(principal, case_id)
        # A case's stream in every service is named by the case id (the audit API's too).
        rows = await ctx.pool.fetch(_STREAM, str(case_id))
        if rows and rows[0]["swv"] != principal.swv:
            raise Refusal.not_found("case_reach", "no such case")
        purpose = (request.query_params.get("purpose") or x_purpose or "").strip()[:500]
        await record_read(
            ctx.pool,
            principal,
            str(case_id),
            purpose=purpose or ORDINARY_PURPOSE,
            view=f"{ctx.name}.integrity",
            correlation_id=getattr(request.state, "correlation_id", None),
        )
        streams = [stream_integrity(str(case_id), list(rows))] if rows else []
        return CaseIntegrity(
            service=ctx.name,
            case_id=str(case_id),
            streams=[StreamHeadOut(**s.as_json()) for s in streams],
        )

    return router
