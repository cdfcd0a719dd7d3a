"""A worker's own cases ("Mijn casussen"): claimed, offered to her, waiting for first contact."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from passend_portal import labels

FIRST_CONTACT = "Eerste contact met de school"


@dataclass(frozen=True)
class Deadline:
    """The next thing due on a case: when, what (in Dutch), and whether it is overdue."""

    due_on: str
    what: str
    lapsed: bool


@dataclass(frozen=True)
class MyCase:
    case_id: str
    pupil_ref: str | None
    school_id: str | None
    status: str
    deadline: Deadline | None

    @property
    def short(self) -> str:
        """The case's short number, as every page shows it."""
        return self.case_id[:8]


@dataclass
class MyCases:
    claimed: list[MyCase] = field(default_factory=list)
    offered: list[MyCase] = field(default_factory=list)
    waiting: list[MyCase] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many different cases are in the lists."""
        return len({c.case_id for c in (*self.claimed, *self.offered, *self.waiting)})


def status_of(row: Mapping[str, Any], request: Mapping[str, Any] | None, contact_open: bool) -> str:
    """The case's stand in Dutch: intake's status when it shows the case, else the board's."""
    status = request.get("status") if request else None
    # The claim opens the trajectory (W25), so intake may already say "in_trajectory" while
    # the first contact (W26) is still to be made: that is the stand a worker needs to see.
    claimed = status in ("claimed", "in_trajectory") or (status is None and row.get("claimed_by"))
    if claimed and contact_open:
        return "Opgepakt, wacht op het eerste contact met de school"
    if status:
        return labels.label(labels.REQUEST_STATUS, status)
    if claimed:
        return labels.REQUEST_STATUS["claimed"]
    return labels.REQUEST_STATUS["submitted"]


def next_deadline(
    row: Mapping[str, Any], contact_open: bool, evaluations: Iterable[Mapping[str, Any]]
) -> Deadline | None:
    """W26, W21: the soonest of the open first contact and the evaluations due on the case."""
    found: list[Deadline] = []
    due_on = row.get("contact_due_on")
    if contact_open and due_on:
        left = row.get("time_left") or {}
        lapsed = bool(left.get("lapsed")) or bool(row.get("deadline_missed"))
        found.append(Deadline(str(due_on), FIRST_CONTACT, lapsed))
    for evaluation in evaluations:
        if evaluation.get("due_on"):
            found.append(
                Deadline(
                    str(evaluation["due_on"]),
                    labels.label(labels.EVALUATION_KINDS, evaluation.get("kind")),
                    evaluation.get("status") == "overdue",
                )
            )
    return min(found, key=lambda d: d.due_on) if found else None


def build(
    claimed: Iterable[Mapping[str, Any]],
    offered: Iterable[Mapping[str, Any]],
    waiting: Iterable[Mapping[str, Any]],
    evaluations: Iterable[Mapping[str, Any]],
    requests: Mapping[str, Mapping[str, Any]],
) -> MyCases:
    """The three lists of the worker's cases from the services' answers: assignment's
    board rows (her claimed cases, her inbox, her open first contacts), trajectory's
    evaluations due and intake's requests (pupil reference, status) by case id."""
    waiting_rows = list(waiting)
    contact_open = {str(r["case_id"]) for r in waiting_rows}
    due: dict[str, list[Mapping[str, Any]]] = {}
    for evaluation in evaluations:
        due.setdefault(str(evaluation.get("case_id")), []).append(evaluation)

    def one(row: Mapping[str, Any]) -> MyCase:
        case_id = str(row["case_id"])
        request = requests.get(case_id)
        open_contact = case_id in contact_open
        return MyCase(
            case_id=case_id,
            pupil_ref=(request or {}).get("school_pupil_ref") or (request or {}).get("pupil_ref"),
            school_id=row.get("school_id") or (request or {}).get("school_id"),
            status=status_of(row, request, open_contact),
            deadline=next_deadline(row, open_contact, due.get(case_id, [])),
        )

    def soonest(cases: list[MyCase]) -> list[MyCase]:
        return sorted(
            cases, key=lambda c: (c.deadline is None, c.deadline.due_on if c.deadline else "")
        )

    return MyCases(
        claimed=soonest([one(r) for r in claimed]),
        offered=soonest([one(r) for r in offered]),
        waiting=soonest([one(r) for r in waiting_rows]),
    )


def case_ids(*lists: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every case id in the board rows (to ask intake for their pupil and status at once)."""
    return sorted({str(r["case_id"]) for rows in lists for r in rows})
