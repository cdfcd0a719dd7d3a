"""Handing over the open cases of a support worker who leaves the directory (W25, issue 24).

A case is always some worker's responsibility: the receiving worker's until someone
claimed it, then the claimer's (W25). So a directory change that removes or deactivates
a worker who is still responsible for open cases is refused, naming the cases, unless
the same document hands each of them over (``hand_over``: case id -> worker). The
hand-over is recorded on the case as a ``CaseClaimed`` of the new worker with
``handed_over_from``, so every service that follows claims follows the hand-over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from passend_assignment.domain.case import CaseState
from passend_assignment.domain.directory import DirectoryState
from passend_assignment.domain.directory_doc import SwvDoc
from passend_backbone.commands import Refusal
from passend_contracts.events.assignment import CaseClaimed
from passend_contracts.events.base import EventPayload


@dataclass(frozen=True)
class HandOver:
    """W25: ``case_id`` passes from the leaving ``from_worker`` to ``to_worker``."""

    case_id: UUID
    from_worker: str
    to_worker: str


def leaving_workers(state: DirectoryState, doc: SwvDoc) -> frozenset[str]:
    """The active support workers ``doc`` removes from the workers or from the people."""
    listed = {w.worker_id for w in doc.workers}
    if doc.people is not None:
        listed &= {p.person_id for p in doc.people}
    return frozenset(
        w for w, profile in state.workers.items() if profile.active and w not in listed
    )


def plan_hand_overs(
    after: DirectoryState,
    leaving: frozenset[str],
    responsible: Mapping[UUID, str],
    hand_over: Mapping[UUID, str],
    unit: str | None = None,
) -> list[HandOver]:
    """W25: the hand-overs that leave no open case of a leaving worker without someone.

    ``after``: the directory with the document applied; ``responsible``: the worker
    responsible now for each open case of the leaving workers and for each case
    ``hand_over`` names (a closed or unknown case is not in it); ``unit``: the work unit
    of a coordinator's document (None: the whole SWV).

    Refused: open cases of leaving workers that ``hand_over`` leaves out (409, naming
    them); a hand-over to someone who is not an active support worker after the document
    (422); to a worker outside the coordinator's unit (403); of a case that is no open
    case of a leaving worker (409), unless it is already with the named worker.
    """
    stranded = sorted(
        (case_id for case_id, worker in responsible.items() if worker in leaving),
        key=str,
    )
    stranded = [case_id for case_id in stranded if case_id not in hand_over]
    if stranded:
        who = sorted({responsible[c] for c in stranded})
        raise Refusal.conflict(
            "W25",
            f"{', '.join(who)} still {'is' if len(who) == 1 else 'are'} responsible for open "
            f"cases {', '.join(str(c) for c in stranded)}: hand each over in hand_over "
            "(case id -> support worker) in the same document",
        )
    plan = []
    for case_id, to_worker in sorted(hand_over.items(), key=lambda item: str(item[0])):
        target = after.workers.get(to_worker)
        if target is None or not target.active or to_worker in leaving:
            raise Refusal.invalid(
                "W25",
                f"case {case_id}: {to_worker} is not an active support worker after this document",
                field="hand_over",
            )
        if unit is not None and target.work_unit_id != unit:
            raise Refusal.forbidden(
                "directory",
                f"you coordinate {unit}: hand cases over to a worker of {unit}, not {to_worker}",
            )
        now_with = responsible.get(case_id)
        if now_with == to_worker:
            continue  # already handed over (the same document again)
        if now_with is None or now_with not in leaving:
            raise Refusal.conflict(
                "W25",
                f"case {case_id} is no open case of a worker this document removes: "
                "leave it out of hand_over",
            )
        plan.append(HandOver(case_id, now_with, to_worker))
    return plan


def hand_over_case(case: CaseState, step: HandOver, now: datetime) -> list[EventPayload]:
    """W25: the case's responsibility passes to ``step.to_worker``, recorded as their claim.

    Refused (409) when the case moved on since the directory was read: withdrawn, or no
    longer the leaving worker's responsibility. Nothing when it is already the new worker's.
    """
    if case.responsible_worker_id == step.to_worker:
        return []
    if case.withdrawn_at is not None or case.responsible_worker_id != step.from_worker:
        raise Refusal.conflict(
            "W25",
            f"case {case.case_id} is no longer {step.from_worker}'s to hand over: "
            "reload the directory and try again",
        )
    return [
        CaseClaimed(
            case_id=case.case_id,
            school_id=case.school_id,
            ib_id=case.ib_id,
            worker_id=step.to_worker,
            claimed_at=now,
            handed_over_from=step.from_worker,
        )
    ]
