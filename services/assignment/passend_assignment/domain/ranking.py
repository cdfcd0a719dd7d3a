"""Suggestions of colleagues for a case: expertise first, then the school, then room (W24).

The Werkwijzer (W24) names three things that may decide who takes a request: the
expertise available, room in the caseload and familiarity with the school. Passend
orders the candidates by them one after the other (lexicographically), not by a sum,
so a high score on a later factor can never make up for a lower one on an earlier:

1. **Expertise**: the share of the case's requested areas the worker has. A worker with
   none of them never comes before one with at least one; one with 1 of 3 never before
   one with 2 of 3.
2. **Knowing the school**: among workers equal on expertise, one who knows the school
   comes first.
3. **Room in the caseload**: then the one with more hours a week free (weekly case hours
   minus the hours the open cases take).
4. **Tie-break**: the worker id, alphabetically, so the same question gets the same answer.

Each factor keeps its own score (0..1) and reason, so a suggestion explains itself. The
``total`` of a suggestion is the expertise share: the only factor with a weight in it
(``WEIGHTS``); the other two only break ties (``PRIORITY``). ``total`` therefore never
rises down the list. Inactive workers are never suggested.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from passend_contracts.events.assignment import SupportWorkerProfiled

# The order in which the factors decide (1 first); a later one only breaks ties.
PRIORITY: Mapping[str, int] = {"expertise": 1, "school_familiarity": 2, "caseload_room": 3}
# What each factor weighs in ``Suggestion.total``: only expertise; the others order ties.
WEIGHTS: Mapping[str, float] = {"expertise": 1.0, "school_familiarity": 0.0, "caseload_room": 0.0}


@dataclass(frozen=True)
class FactorScore:
    factor: str
    score: float  # 0..1
    weight: float  # its share in Suggestion.total
    why: str
    priority: int = 0  # 1 decides first


@dataclass(frozen=True)
class Suggestion:
    worker_id: str
    total: float  # the expertise share, 0..1 (WEIGHTS); never rises down the list
    factors: tuple[FactorScore, ...]  # in the order they decide (PRIORITY)
    position: int = 0  # 1 for the best fit
    requested_areas: tuple[str, ...] = ()
    has_areas: tuple[str, ...] = ()  # of the requested areas, in their order
    lacks_areas: tuple[str, ...] = ()
    knows_school: bool = False
    open_cases: int = 0
    weekly_case_hours: float = 0.0
    hours_free: float = 0.0


def expertise_match(worker: SupportWorkerProfiled, needed: Sequence[str]) -> FactorScore:
    """W24: the share of the case's requested expertise areas the worker has."""
    factor = "expertise"
    weight, priority = WEIGHTS[factor], PRIORITY[factor]
    if not needed:
        return FactorScore(factor, 0.0, weight, "no expertise areas requested", priority)
    have = [a for a in needed if a in worker.expertise]
    lacks = [a for a in needed if a not in worker.expertise]
    why = f"has {len(have)} of {len(needed)} requested areas"
    if have:
        why += f": {', '.join(have)}"
    if lacks:
        why += f"; lacks {', '.join(lacks)}"
    return FactorScore(factor, len(have) / len(needed), weight, why, priority)


def hours_free(worker: SupportWorkerProfiled, open_cases: int, hours_per_case: float) -> float:
    """W24: the worker's weekly case hours not taken by open cases (never below 0)."""
    return round(max(0.0, worker.weekly_case_hours - open_cases * hours_per_case), 2)


def caseload_room(
    worker: SupportWorkerProfiled, open_cases: int, hours_per_case: float
) -> FactorScore:
    """W24: the share of the worker's weekly case hours not taken by open cases."""
    factor = "caseload_room"
    weight, priority = WEIGHTS[factor], PRIORITY[factor]
    capacity = worker.weekly_case_hours
    taken = open_cases * hours_per_case
    if capacity <= 0:
        return FactorScore(factor, 0.0, weight, "no weekly hours for casework", priority)
    free = hours_free(worker, open_cases, hours_per_case)
    why = (
        f"{open_cases} open cases take {taken:g} of {capacity:g} hours a week, {free:g} hours free"
    )
    return FactorScore(factor, round(free / capacity, 4), weight, why, priority)


def school_familiarity(worker: SupportWorkerProfiled, school_id: str) -> FactorScore:
    """W24: whether the worker already knows the school."""
    factor = "school_familiarity"
    weight, priority = WEIGHTS[factor], PRIORITY[factor]
    if school_id in worker.known_schools:
        return FactorScore(factor, 1.0, weight, "knows the school", priority)
    return FactorScore(factor, 0.0, weight, "does not know the school yet", priority)


def suggest(
    worker: SupportWorkerProfiled,
    needed: Sequence[str],
    school_id: str,
    open_cases: int,
    hours_per_case: float,
) -> Suggestion:
    """W24: one candidate with every factor scored and explained (not yet placed)."""
    factors = (
        expertise_match(worker, needed),
        school_familiarity(worker, school_id),
        caseload_room(worker, open_cases, hours_per_case),
    )
    return Suggestion(
        worker_id=worker.worker_id,
        total=round(sum(f.score * f.weight for f in factors), 4),
        factors=factors,
        requested_areas=tuple(needed),
        has_areas=tuple(a for a in needed if a in worker.expertise),
        lacks_areas=tuple(a for a in needed if a not in worker.expertise),
        knows_school=school_id in worker.known_schools,
        open_cases=open_cases,
        weekly_case_hours=worker.weekly_case_hours,
        hours_free=hours_free(worker, open_cases, hours_per_case),
    )


def order_key(s: Suggestion) -> tuple[int, bool, float, str]:
    """W24: expertise (more requested areas first), then knowing the school, then more
    hours free, then the worker id: the documented order of the module docstring."""
    return (-len(s.has_areas), not s.knows_school, -s.hours_free, s.worker_id)


def rank(
    candidates: Sequence[SupportWorkerProfiled],
    needed: Sequence[str],
    school_id: str,
    open_cases: Mapping[str, int],
    hours_per_case: float,
) -> list[Suggestion]:
    """W24: the active candidates, expertise first, then knowing the school, then room in
    the caseload (hours free), ties by worker id; each with its ``position`` (1 = best)."""
    scored = [
        suggest(w, needed, school_id, open_cases.get(w.worker_id, 0), hours_per_case)
        for w in candidates
        if w.active
    ]
    ordered = sorted(scored, key=order_key)
    return [replace(s, position=place) for place, s in enumerate(ordered, start=1)]
