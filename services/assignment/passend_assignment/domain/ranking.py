"""Suggestions of colleagues for a case, scored per factor so the ranking explains itself (W24)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from passend_contracts.events.assignment import SupportWorkerProfiled

# How much each factor weighs in the total; the factors are each scored 0..1.
WEIGHTS: Mapping[str, float] = {"expertise": 0.5, "caseload_room": 0.3, "school_familiarity": 0.2}


@dataclass(frozen=True)
class FactorScore:
    factor: str
    score: float  # 0..1
    weight: float
    why: str


@dataclass(frozen=True)
class Suggestion:
    worker_id: str
    total: float  # the weighted sum of the factor scores, 0..1
    factors: tuple[FactorScore, ...]


def expertise_match(worker: SupportWorkerProfiled, needed: Sequence[str]) -> FactorScore:
    """W24: the share of the case's expertise areas the worker has."""
    weight = WEIGHTS["expertise"]
    if not needed:
        return FactorScore("expertise", 0.0, weight, "no expertise areas known for this case")
    have = [a for a in needed if a in worker.expertise]
    score = len(have) / len(needed)
    why = f"has {len(have)} of {len(needed)} areas needed" + (
        f": {', '.join(have)}" if have else ""
    )
    return FactorScore("expertise", score, weight, why)


def caseload_room(
    worker: SupportWorkerProfiled, open_cases: int, hours_per_case: float
) -> FactorScore:
    """W24: the share of the worker's weekly case hours not taken by open cases."""
    weight = WEIGHTS["caseload_room"]
    capacity = worker.weekly_case_hours
    taken = open_cases * hours_per_case
    if capacity <= 0:
        return FactorScore("caseload_room", 0.0, weight, "no weekly hours for casework")
    score = max(0.0, 1.0 - taken / capacity)
    why = (
        f"{open_cases} open cases take {taken:g} of {capacity:g} hours a week, "
        f"{max(0.0, capacity - taken):g} hours free"
    )
    return FactorScore("caseload_room", score, weight, why)


def school_familiarity(worker: SupportWorkerProfiled, school_id: str) -> FactorScore:
    """W24: whether the worker already knows the school."""
    weight = WEIGHTS["school_familiarity"]
    if school_id in worker.known_schools:
        return FactorScore("school_familiarity", 1.0, weight, "knows the school")
    return FactorScore("school_familiarity", 0.0, weight, "does not know the school yet")


def rank(
    candidates: Sequence[SupportWorkerProfiled],
    needed: Sequence[str],
    school_id: str,
    open_cases: Mapping[str, int],
    hours_per_case: float,
) -> list[Suggestion]:
    """W24: candidates ranked by expertise match, caseload room and school familiarity.

    Inactive workers are left out. Ties go to the worker id, so the order is stable.
    """
    out = []
    for worker in candidates:
        if not worker.active:
            continue
        factors = (
            expertise_match(worker, needed),
            caseload_room(worker, open_cases.get(worker.worker_id, 0), hours_per_case),
            school_familiarity(worker, school_id),
        )
        total = round(sum(f.score * f.weight for f in factors), 4)
        out.append(Suggestion(worker.worker_id, total, factors))
    return sorted(out, key=lambda s: (-s.total, s.worker_id))
