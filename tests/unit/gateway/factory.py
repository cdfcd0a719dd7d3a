"""Bus events of the kinds the gateway routes, built as the producing services would."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import CaseClaimed
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import RequestSubmitted
from passend_contracts.events.trajectory import (
    EscalatedToTeamNO,
    StagnationReason,
    TeamNODecisionRecorded,
    TrajectoryClosed,
    YouthCareNoted,
)

SWV = "swv-waterweg"
T0 = datetime(2027, 2, 3, 9, 0, tzinfo=UTC)
_positions = itertools.count(1)


def envelope(payload: EventPayload, *, at: datetime = T0, version: int = 1) -> CloudEvent:
    """``payload`` as its service publishes it: CloudEvent, subject = case id."""
    service = payload.event_type.split(".")[2]
    data = payload.model_dump(mode="json")
    return CloudEvent(
        id=uuid4(),
        source=f"/passend/{service}",
        type=payload.event_type,
        subject=str(data["case_id"]),
        time=at,
        swv=SWV,
        correlationid=str(uuid4()),
        causationid=str(uuid4()),
        actor="worker-0192",
        onbehalfof="ib-7731",
        streamversion=version,
        position=next(_positions),
        data=data,
    )


def escalated(case_id: UUID, municipality: str, at: datetime = T0) -> EscalatedToTeamNO:
    return EscalatedToTeamNO(
        case_id=case_id,
        municipality=municipality,
        reasons=[StagnationReason.WAITING_LIST],
        draft_plan="Bridging care two mornings a week.",
        escalated_at=at,
        region="waterweg",
        escalation_id=uuid4(),
        escalated_by="worker-0192",
    )


def decided(case_id: UUID, escalation_id: UUID | None, at: datetime = T0) -> TeamNODecisionRecorded:
    return TeamNODecisionRecorded(
        case_id=case_id,
        escalation_id=escalation_id,
        decision="Bridging care until a place is free",
        assignment="Arrange bridging care",
        provider="Jeugdzorg Waterweg",
        decided_by="teamno-chair",
        decided_at=at,
    )


def youth_care(case_id: UUID, at: datetime = T0) -> YouthCareNoted:
    return YouthCareNoted(
        case_id=case_id,
        wijkteam_worker_id="wijk-12",
        reason="Home situation needs the wijkteam.",
        noted_by="worker-0192",
        noted_at=at,
    )


def closed(case_id: UUID, at: datetime = T0) -> TrajectoryClosed:
    return TrajectoryClosed(case_id=case_id, closed_by="worker-0192", closed_at=at)


def claimed(case_id: UUID, at: datetime = T0) -> CaseClaimed:
    return CaseClaimed(
        case_id=case_id,
        school_id="school-04ab",
        ib_id="ib-7731",
        worker_id="worker-0192",
        claimed_at=at,
    )


def submitted(case_id: UUID, at: datetime = T0) -> RequestSubmitted:
    example: dict[str, Any] = dict(RequestSubmitted.example or {})
    return RequestSubmitted.model_validate({**example, "case_id": str(case_id), "submitted_at": at})


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)
