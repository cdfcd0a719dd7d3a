"""A case's whole story for the school: every step across the services, in order, in Dutch.

The IB's case page tells what happened from request to closing (issue 19) from the three
read answers it already has (intake's request with its history, assignment's case,
trajectory's trajectory). Each step names who took it by their id: the template names
them (``naam``), so no id reaches the screen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from passend_portal import parents
from passend_portal.labels import (
    AMSTERDAM,
    CASE_DIRECTOR_ROLES,
    CONSENT_METHODS,
    EVENTS,
    LEVELS,
    MUNICIPALITY_NAMES,
    OUTCOMES,
    PUPIL_VIEWS,
    SIGNAL_TOPICS,
    STAGNATION_REASONS,
    event_name,
    hours,
    label,
)
from passend_portal.labels import (
    care_level as labels_care_level,
)

# The order of the process, from request to closing (the route of the design's domain
# document): where only the day of a step is known, it takes its place among that day's
# steps in this order.
PROCESS_ORDER = (
    "aanvraag",
    "toestemming",
    "toewijzing",
    "traject",
    "startgesprek",
    "analyse",
    "plan",
    "begeleiding",
    "sessie",
    "signaal",
    "routebegeleider",
    "evaluatie",
    "zorgniveau",
    "opp",
    "jeugdhulp",
    "regie",
    "escalatie",
    "besluit",
    "afgesloten",
)


@dataclass(frozen=True)
class Step:
    """One step of the story: when, what (Dutch), who did it, and what the school reads."""

    at: str  # an ISO moment, or an ISO day for what happened on a day (a session)
    what: str
    who: str | None = None  # the person (or ``service:…``, ``parent:…``) who took the step
    whom: str | None = None  # the person the step is about ("naar …", "casusregisseur …")
    lines: tuple[str, ...] = ()  # details in Dutch, or the school's and worker's own words
    people: tuple[str, ...] = ()  # who took part (ids or names written in a form)
    kind: str = ""
    day_only: bool = field(default=False)
    after_whom: str = ""  # the rest of the heading after ``whom`` ("… ingeschakeld")
    recorded: str = ""  # for a step of a day: the ISO moment its record was made


def _at(value: object) -> str:
    """An answer's moment or day as text; empty when the answer has none."""
    return "" if value is None else str(value)


def _instant(value: str) -> datetime | None:
    """An ISO moment (a naive one read as Dutch time); None for a day or no moment."""
    if "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=AMSTERDAM)


def _day(step: Step) -> date | None:
    """The Dutch day of the step; None when it has none the page can read."""
    moment = _instant(step.at)
    if moment is not None:
        return moment.astimezone(AMSTERDAM).date()
    try:
        return date.fromisoformat(step.at[:10])
    except ValueError:
        return None


def _placed(step: Step) -> datetime | None:
    """When the step happened, as far as it is known to the minute: its moment; for a step
    known by its day, the moment its record was made if that was the same day (the gates
    let a step be recorded only after the steps it follows, and before those that follow
    it). None: only the day is known."""
    moment = _instant(step.at)
    if moment is not None:
        return moment
    recorded = _instant(step.recorded)
    if recorded is not None and recorded.astimezone(AMSTERDAM).date() == _day(step):
        return recorded
    return None


def _rank(step: Step) -> int:
    return PROCESS_ORDER.index(step.kind) if step.kind in PROCESS_ORDER else len(PROCESS_ORDER)


def _slot(ordered: list[Step], step: Step) -> int:
    """Where a step known only by its day goes in ``ordered`` (sorted by day): after the
    last step of that day that comes before it in the process, else before the day's first
    step, else where its day falls."""
    day, rank = _day(step), _rank(step)
    first_of_day = after = None
    end = len(ordered)
    for i, other in enumerate(ordered):
        other_day = _day(other)
        if day is None or other_day is None or other_day > day:
            end = i
            break
        if other_day == day:
            first_of_day = i if first_of_day is None else first_of_day
            if _rank(other) <= rank:
                after = i + 1
    if after is not None:
        return after
    return first_of_day if first_of_day is not None else end


def in_order(steps: Iterable[Step]) -> list[Step]:
    """Issue 19: the steps oldest first, steps without a day last. A step known by its day
    only (a start conversation, a session, the OPP) is placed by the moment its record was
    made that day, else in the process's order among that day's steps (never at an
    arbitrary hour, which put a morning's start conversation after that day's plan)."""
    timed: list[tuple[datetime, int, Step]] = []
    by_day: list[Step] = []
    for step in steps:
        moment = _placed(step)
        if moment is not None:
            timed.append((moment, _rank(step), step))
        elif _day(step) is not None:
            by_day.append(step)
        else:
            timed.append((datetime.max.replace(tzinfo=AMSTERDAM), _rank(step), step))
    ordered = [step for *_, step in sorted(timed, key=lambda t: (t[0], t[1]))]
    for step in sorted(by_day, key=lambda s: (_day(s) or date.max, _rank(s))):
        ordered.insert(_slot(ordered, step), step)
    return ordered


def care_level(level: object) -> str:
    """S: ``3`` -> ``zorgniveau 3: speciale zorg met …`` (the SOP's words)."""
    return labels_care_level(level)


def in_sentence(text: str) -> str:
    """``Aanmelden bij Team NO`` -> ``aanmelden bij Team NO``: only the first letter."""
    return text[:1].lower() + text[1:]


def _event(short: str) -> str:
    return EVENTS.get(short, short)


def _request_steps(request: dict[str, Any]) -> list[Step]:
    """Intake's history: the request, consent asked and answered, the pupil heard,
    reformulations and a withdrawal (what the parents answered, never their address)."""
    steps = []
    for entry in request.get("history", []):
        agreed: tuple[str, ...] = ()
        short = str(entry.get("event_type", "")).split(".")
        name = short[3] if len(short) > 3 else str(entry.get("event_type", ""))
        data = entry.get("data") or {}
        lines: list[str] = []
        whom = None
        if name == "RequestSubmitted":
            whom = data.get("addressed_worker_id") or request.get("addressed_worker_id")
            what = "Aanvraag ingediend, gericht aan"
        elif name == "ConsentRequested" and data.get("method"):
            method = label(CONSENT_METHODS, data["method"]).lower()
            what = f"{_event(name)} ({method})"
        elif name == "PupilHeard" and data.get("view"):
            what = f"Leerling gehoord: {label(PUPIL_VIEWS, data['view']).lower()}"
        elif name == "RequestReformulated":
            # W7: agreed jointly; the timeline names who agreed and what it is about now.
            what = _event(name)
            current = data.get("current") or {}
            if current.get("educational_need"):
                lines.append(f"Wat de leerling nu nodig heeft: {current['educational_need']}")
            if current.get("levels"):
                about = ", ".join(label(LEVELS, level).lower() for level in current["levels"])
                lines.append(f"Gaat nu over: {about}")
            if data.get("reason"):
                lines.append(f"Waarom: {data['reason']}")
            agreed = tuple(str(a["party_id"]) for a in data.get("agreed_by") or [] if a)
        elif name == "RequestWithdrawn":
            what = _event(name)
            if data.get("reason"):
                lines.append(f"Reden: {data['reason']}")
        elif name in ("ConsentConfirmed", "ConsentRefused", "ConsentWithdrawn") and not str(
            entry.get("actor", "")
        ).startswith("parent:"):
            # The parents answered in a meeting (or told the school): the school recorded it.
            given = data.get("method")
            told = f" ({label(CONSENT_METHODS, given).lower()})" if given else ""
            what = f"{_event(name)}{told}, vastgelegd"
        else:
            what = event_name(str(entry.get("event_type", "")))
        if name == "ConsentRefused":
            lines.append("De onderwijsondersteuner begeleidt de leerling daarom niet individueel.")
        steps.append(
            Step(
                at=_at(entry.get("occurred_at")),
                what=what,
                who=entry.get("actor"),
                whom=whom,
                lines=tuple(lines),
                people=agreed,
                kind="aanvraag" if name.startswith("Request") else "toestemming",
            )
        )
    return steps


def _assignment_steps(case: dict[str, Any]) -> list[Step]:
    """Assignment: routed to the receiving worker, claimed, the first contact (W24-W26),
    and each call of the route coach (W29)."""
    steps = []
    if case.get("submitted_at"):
        steps.append(
            Step(
                at=_at(case["submitted_at"]),
                what="Doorgestuurd naar de onderwijsondersteuner",
                who="service:assignment",
                whom=case.get("receiving_worker_id"),
                kind="toewijzing",
            )
        )
    if case.get("claimed_at"):
        steps.append(
            Step(
                at=_at(case["claimed_at"]),
                what=_event("CaseClaimed"),
                who=case.get("claimed_by"),
                kind="toewijzing",
            )
        )
    if case.get("first_contact_at"):
        steps.append(
            Step(
                at=_at(case["first_contact_at"]),
                what="Eerste contact met de school",
                who=case.get("claimed_by"),
                kind="toewijzing",
            )
        )
    for call in case.get("route_coach_history") or []:
        # W29: who called the coach in and when; why cooperation stalls is for the coach.
        coach = call.get("route_coach_id")
        steps.append(
            Step(
                at=_at(call.get("called_at")),
                what="Routebegeleider" if coach else _event("RouteCoachCalledIn"),
                whom=coach,
                after_whom=" ingeschakeld" if coach else "",
                who=call.get("called_by"),
                kind="routebegeleider",
            )
        )
    return steps


def _plan_lines(plan: dict[str, Any]) -> tuple[str, ...]:
    lines = []
    form = ", ".join(str(plan[k]) for k in ("form", "frequency") if plan.get(k))
    if plan.get("duration_weeks"):
        form += f", {plan['duration_weeks']} weken"
    if form:
        lines.append(f"Vorm: {form}")
    for goal in plan.get("goals", []):
        lines.append(f"Doel: {goal.get('description')} (gemeten met {goal.get('measure')})")
    if plan.get("reason"):
        lines.append(f"Waarom bijgesteld: {plan['reason']}")
    return tuple(lines)


def _trajectory_steps(t: dict[str, Any]) -> list[Step]:
    """Trajectory: every fact of the trajectory the school may know of."""
    steps: list[Step] = []
    opened = t.get("opened") or {}
    if opened.get("opened_at"):
        steps.append(
            Step(
                _at(opened["opened_at"]),
                _event("TrajectoryOpened"),
                opened.get("worker_id"),
                kind="traject",
            )
        )
    talk = t.get("start_conversation")
    if talk:
        steps.append(
            Step(
                at=_at(talk.get("held_on")),
                what=_event("StartConversationRecorded"),
                who=talk.get("recorded_by"),
                lines=(f"De vraag achter de vraag: {talk.get('sharpened_question')}",),
                people=tuple(talk.get("participants") or ()),
                kind="startgesprek",
                day_only=True,
                recorded=_at(talk.get("recorded_at")),
            )
        )
    analysis = t.get("specialist_analysis")
    if analysis:
        # W14: the analysis is made with the school, so the school reads it.
        steps.append(
            Step(
                at=_at(analysis.get("recorded_at")),
                what=_event("SpecialistAnalysisRecorded"),
                who=analysis.get("specialist_id"),
                lines=(str(analysis.get("analysis")),),
                kind="analyse",
            )
        )
    for plan in t.get("plans", []):
        revision = int(plan.get("revision") or 1)
        steps.append(
            Step(
                at=_at(plan.get("recorded_at")),
                what=_event("PlanRecorded")
                if revision == 1
                else f"Plan bijgesteld (versie {revision})",
                who=plan.get("recorded_by"),
                lines=_plan_lines(plan),
                kind="plan",
            )
        )
    support = t.get("support")
    if support and support.get("started_at"):
        steps.append(
            Step(
                _at(support["started_at"]),
                _event("SupportStarted"),
                support.get("started_by"),
                kind="begeleiding",
            )
        )
    paused = t.get("paused")
    # The view keeps a running pause only; intake's history tells a past one (consent
    # withdrawn, then given again).
    if paused and paused.get("paused_at"):
        # The service's reason is a rule's text for the log; the school reads it in words.
        steps.append(
            Step(
                at=_at(paused["paused_at"]),
                what="Begeleiding gepauzeerd: de toestemming van de ouders ontbreekt",
                who="service:trajectory",
                kind="begeleiding",
            )
        )
    for session in t.get("sessions", []):
        # W22, W23: the worker keeps her own notes of a session for her own use; the school
        # keeps its own documents. The school sees that a session was held, when and how
        # long (the hours of the time path), never the worker's findings.
        steps.append(
            Step(
                at=_at(session.get("held_on")),
                what=f"Sessie van {hours(session.get('hours'))} uur",
                who=session.get("worker_id"),
                kind="sessie",
                day_only=True,
                recorded=_at(session.get("recorded_at")),
            )
        )
    for signal in t.get("signals", []):
        raised = signal.get("raised") or {}
        steps.append(
            Step(
                at=_at(raised.get("raised_at")),
                what=f"Signaal aan de school: {label(SIGNAL_TOPICS, raised.get('about')).lower()}",
                who=raised.get("raised_by"),
                lines=(str(raised.get("description")),),
                kind="signaal",
            )
        )
        seen = signal.get("acknowledged")
        if seen:
            steps.append(
                Step(
                    at=_at(seen.get("acknowledged_at")),
                    what=_event("SignalAcknowledged"),
                    who=seen.get("acknowledged_by"),
                    lines=(f"Reactie: {seen['response']}",) if seen.get("response") else (),
                    kind="signaal",
                )
            )
    goals = {
        g.get("goal_id"): g.get("description")
        for p in t.get("plans", [])
        for g in p.get("goals", [])
    }
    for evaluation in t.get("evaluations", []):
        lines = [
            f"{goals.get(r.get('goal_id'), 'Doel')}: {r.get('result')}"
            for r in evaluation.get("goal_results") or []
        ]
        if evaluation.get("outcome") == "change_care_level" and evaluation.get("care_level"):
            lines.append(f"Naar {care_level(evaluation['care_level'])}")
        if evaluation.get("reason"):
            lines.append(f"Toelichting: {evaluation['reason']}")
        outcome = label(OUTCOMES, evaluation.get("outcome"))
        steps.append(
            Step(
                at=_at(evaluation.get("evaluated_at")),
                what=f"Evaluatie, uitkomst: {in_sentence(outcome)}",
                who=evaluation.get("evaluated_by"),
                lines=tuple(lines),
                people=tuple(evaluation.get("participants") or ()),
                kind="evaluatie",
            )
        )
    for change in t.get("care_level_changes", []):
        before = change.get("from_level")
        what = (
            f"Zorgniveau van {before} naar {change.get('to_level')}"
            if before
            else f"Zorgniveau vastgesteld op {change.get('to_level')}"
        )
        lines = [f"Nu: {care_level(change.get('to_level'))}"]
        if change.get("referral"):
            lines.append("Met een verwijzing naar het speciaal (basis)onderwijs.")
        steps.append(
            Step(_at(change.get("changed_at")), what, lines=tuple(lines), kind="zorgniveau")
        )
    opp = t.get("opp")
    if opp:
        steps.append(
            Step(
                at=_at(opp.get("drawn_up_on")),
                what=_event("OppRecorded"),
                who=opp.get("recorded_by"),
                kind="opp",
                day_only=True,
                recorded=_at(opp.get("recorded_at")),
            )
        )
    for review in t.get("opp_evaluations", []):
        steps.append(
            Step(
                at=_at(review.get("evaluated_on")),
                what=_event("OppEvaluated"),
                who=review.get("recorded_by"),
                lines=(str(review.get("summary")),),
                kind="opp",
                day_only=True,
                recorded=_at(review.get("recorded_at")),
            )
        )
    youth = t.get("youth_care")
    if youth:
        # Why youth care is involved is the family's and the wijkteam's business: the
        # school learns that it is, and who directs the case now (below).
        steps.append(
            Step(
                _at(youth.get("noted_at")),
                _event("YouthCareNoted"),
                youth.get("noted_by"),
                kind="jeugdhulp",
            )
        )
    for director in t.get("case_director_history", []):
        steps.append(
            Step(
                at=_at(director.get("changed_at")),
                what=f"Casusregisseur: {label(CASE_DIRECTOR_ROLES, director.get('role'))}",
                whom=director.get("person_id"),
                kind="regie",
            )
        )
    for escalation in t.get("escalations", []):
        x = escalation.get("escalated") or {}
        reasons = ", ".join(label(STAGNATION_REASONS, r).lower() for r in x.get("reasons", []))
        lines = [f"Waarom de route vastloopt: {reasons}"]
        if x.get("municipality"):
            lines.append(f"Gemeente: {label(MUNICIPALITY_NAMES, x['municipality'])}")
        if x.get("draft_plan"):
            lines.append(f"Conceptplan: {x['draft_plan']}")
        region = str(x.get("region") or "").capitalize()
        steps.append(
            Step(
                at=_at(x.get("escalated_at")),
                what=f"Aangemeld bij Team NO {region}".rstrip(),
                who=x.get("escalated_by"),
                lines=tuple(lines),
                kind="escalatie",
            )
        )
        decision = escalation.get("decision")
        if decision:
            steps.append(
                Step(
                    at=_at(decision.get("decided_at")),
                    what="Besluit van Team NO",
                    who=decision.get("decided_by"),
                    lines=(
                        f"Besluit: {decision.get('decision')}",
                        f"Opdracht: {decision.get('assignment')}",
                        f"Uitvoering door: {decision.get('provider')}",
                    ),
                    kind="besluit",
                )
            )
    closed = t.get("closed")
    if closed:
        steps.append(
            Step(
                _at(closed.get("closed_at")),
                _event("TrajectoryClosed"),
                closed.get("closed_by"),
                kind="afgesloten",
            )
        )
    return steps


def of(
    request: dict[str, Any] | None,
    assignment: dict[str, Any] | None,
    trajectory: dict[str, Any] | None,
) -> list[Step]:
    """Every step the school may know of, oldest first (steps without a moment last)."""
    steps = [
        *(_request_steps(request) if request else []),
        *(_assignment_steps(assignment) if assignment else []),
        *(_trajectory_steps(trajectory) if trajectory else []),
    ]
    return in_order(_parents_named(steps, request))


def _parents_named(steps: list[Step], request: dict[str, Any] | None) -> list[Step]:
    """A parent who took part (in a conversation, an evaluation) is named as the school gave
    them to intake, never by the school's reference (``ouder-1``)."""
    refs = {str(r) for r in (request or {}).get("parent_refs") or ()}
    if not refs:
        return steps
    known = parents.names_of(request)

    def person(p: str) -> str:
        return parents.named(p, known) if p in refs else p

    return [
        replace(s, people=tuple(person(p) for p in s.people)) if refs & set(s.people) else s
        for s in steps
    ]
