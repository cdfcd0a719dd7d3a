"""Submitting, reformulating and withdrawing a support request (W1-W7, W24)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from passend_backbone.commands import Refusal
from passend_contracts.events.assignment import ExpertiseArea
from passend_contracts.events.intake import (
    AgreedBy,
    EncryptedIdentity,
    ProcessingBasis,
    RequestFields,
    RequestReformulated,
    RequestSubmitted,
    RequestWithdrawn,
    SupportLevel,
)
from passend_intake.domain.need_areas import need_areas
from passend_intake.domain.state import CaseState, RequestStatus


class RequestedLevel(StrEnum):
    """What a school may ask about; ``school_organisation`` is asked, and refused (W5)."""

    PUPIL = "pupil"
    TEACHER = "teacher"
    GROUP = "group"
    TEAM = "team"
    SCHOOL_ORGANISATION = "school_organisation"


@dataclass(frozen=True)
class SubmitRequest:
    case_id: UUID
    school_id: str
    ib_id: str
    addressed_worker_id: str
    pupil_ref: str
    parent_refs: tuple[str, ...]
    levels: tuple[RequestedLevel, ...]
    educational_need: str
    tried_in_basic_support: str
    why_stuck: str
    multiple_problems: bool
    specialist_advised: bool
    processing_basis: ProcessingBasis
    encrypted_identity: EncryptedIdentity
    teacher_id: str | None = None
    # The SWV's expertise areas as intake knows them (from the directory's SwvConfigured).
    expertise_areas: tuple[ExpertiseArea, ...] = ()


@dataclass(frozen=True)
class Reformulate:
    levels: tuple[RequestedLevel, ...]
    educational_need: str
    tried_in_basic_support: str
    why_stuck: str
    agreed_by: tuple[AgreedBy, ...]
    reason: str


def refuse_system_guidance(levels: tuple[RequestedLevel, ...]) -> tuple[SupportLevel, ...]:
    """W5: system guidance of the school organisation is not the support worker's task."""
    if RequestedLevel.SCHOOL_ORGANISATION in levels:
        raise Refusal.invalid(
            "W5",
            "refused: systematic, long-term guidance of the school organisation (care "
            "structure, classroom management, pupil tracking system) is not part of the "
            "support worker's tasks; ask about a pupil, a teacher or a group instead",
            field="levels",
        )
    if len(set(levels)) != len(levels):
        raise Refusal.invalid("input", "each level may be named once", field="levels")
    return tuple(SupportLevel(level.value) for level in levels)


def _require_text(value: str, field: str, rule: str, what: str) -> None:
    if not value.strip():
        raise Refusal.invalid(rule, f"{what} must not be empty", field=field)


def submit(state: CaseState, cmd: SubmitRequest, now: datetime) -> list[RequestSubmitted]:
    """W1-W5, W24: a request about a pupil, to one named support worker, saying why stuck.

    W24: the expertise areas its words signal go with it (routing cannot read the words).
    """
    if state.status is not RequestStatus.NEW:
        raise Refusal.conflict("state", f"case {cmd.case_id} already exists")
    levels = refuse_system_guidance(cmd.levels)
    if levels != (SupportLevel.PUPIL,):
        raise Refusal.invalid(
            "W5",
            "a request is about the pupil first; it widens to teacher or group level only "
            "after exploration, by reformulating it (W6, W7)",
            field="levels",
        )
    _require_text(cmd.educational_need, "educational_need", "W2", "the educational need")
    _require_text(
        cmd.tried_in_basic_support, "tried_in_basic_support", "B", "what was tried already"
    )
    _require_text(cmd.why_stuck, "why_stuck", "W4", "why the school is stuck")
    _require_text(cmd.addressed_worker_id, "addressed_worker_id", "W24", "the support worker")
    return [
        RequestSubmitted(
            case_id=cmd.case_id,
            school_id=cmd.school_id,
            ib_id=cmd.ib_id,
            addressed_worker_id=cmd.addressed_worker_id,
            pupil_ref=cmd.pupil_ref,
            parent_refs=list(cmd.parent_refs),
            levels=list(levels),
            educational_need=cmd.educational_need,
            tried_in_basic_support=cmd.tried_in_basic_support,
            why_stuck=cmd.why_stuck,
            multiple_problems=cmd.multiple_problems,
            specialist_advised=cmd.specialist_advised,
            processing_basis=cmd.processing_basis,
            encrypted_identity=cmd.encrypted_identity,
            submitted_at=now,
            teacher_id=cmd.teacher_id,
            need_areas=need_areas(f"{cmd.educational_need} {cmd.why_stuck}", cmd.expertise_areas),
        )
    ]


def _require_open(state: CaseState) -> None:
    if state.status is RequestStatus.WITHDRAWN:
        raise Refusal.conflict(
            "state", f"the request was withdrawn on {state.withdrawn_at:%Y-%m-%d}: submit a new one"
        )


def reformulate(
    state: CaseState, cmd: Reformulate, claimed_by: str | None, now: datetime, case_id: UUID
) -> list[RequestReformulated]:
    """W6, W7: after the start conversation, reformulated jointly; old and new text kept."""
    _require_open(state)
    if claimed_by is None:
        raise Refusal.conflict(
            "W6",
            "a request is reformulated after the start conversation, and nobody has claimed "
            "this one yet: wait for the claim and the start conversation",
        )
    roles = {a.role for a in cmd.agreed_by}
    if not roles & {"ib", "teacher"} or "support_worker" not in roles:
        raise Refusal.invalid(
            "W7",
            "a reformulation is agreed jointly: name the IB or teacher and the support worker "
            "in agreed_by",
            field="agreed_by",
        )
    unknown = roles - {"ib", "teacher", "support_worker"}
    if unknown:
        raise Refusal.invalid(
            "input",
            f"unknown role(s) {sorted(unknown)}: use ib, teacher or support_worker",
            field="agreed_by",
        )
    levels = refuse_system_guidance(cmd.levels)
    _require_text(cmd.educational_need, "educational_need", "W2", "the educational need")
    _require_text(cmd.tried_in_basic_support, "tried_in_basic_support", "B", "what was tried")
    _require_text(cmd.why_stuck, "why_stuck", "W4", "why the school is stuck")
    _require_text(cmd.reason, "reason", "W7", "the reason for reformulating")
    current = RequestFields(
        levels=list(levels),
        educational_need=cmd.educational_need,
        tried_in_basic_support=cmd.tried_in_basic_support,
        why_stuck=cmd.why_stuck,
    )
    assert state.fields is not None  # a submitted request always has its fields
    if current == state.fields:
        raise Refusal.invalid("W7", "the new text is the same as the current one", field="body")
    return [
        RequestReformulated(
            case_id=case_id,
            previous=state.fields,
            current=current,
            agreed_by=list(cmd.agreed_by),
            reason=cmd.reason,
            reformulated_at=now,
        )
    ]


def withdraw(
    state: CaseState,
    withdrawn_by: str,
    reason: str,
    trajectory_opened_at: datetime | None,
    now: datetime,
    case_id: UUID,
) -> list[RequestWithdrawn]:
    """The school withdraws its request, with a reason, as long as no trajectory started."""
    _require_open(state)
    if trajectory_opened_at is not None:
        raise Refusal.conflict(
            "W15",
            f"a trajectory started on {trajectory_opened_at:%Y-%m-%d}: the request can no "
            "longer be withdrawn; end the trajectory through its evaluation (W21)",
        )
    _require_text(reason, "reason", "input", "the reason for withdrawing")
    return [
        RequestWithdrawn(
            case_id=case_id, withdrawn_by=withdrawn_by, reason=reason, withdrawn_at=now
        )
    ]
