"""Turning the worker's and Team NO's forms into the trajectory and assignment commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from passend_portal.web import Form, comma_list

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MAX_GOALS = 3
# The OPP form's goal rows (trajectory takes up to ten).
MAX_OPP_GOALS = 5


def people(form: Form, chosen: str, others: str) -> list[str]:
    """Who took part: the people ticked (directory ids), then the others typed by name."""
    ticked = [p for value in form.all(chosen) for p in comma_list(value)]
    return list(dict.fromkeys([*ticked, *comma_list(form.get(others))]))


def first_contact(form: Form) -> dict[str, Any]:
    """W26: the moment of contact, entered in Dutch local time, sent with its offset."""
    day, time = form.get("contacted_on"), form.get("contacted_time") or "00:00"
    try:
        moment = datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=AMSTERDAM)
    except ValueError:
        return {"contacted_at": day or None}  # let the service say what is wrong with it
    return {"contacted_at": moment.isoformat()}


def start_conversation(form: Form) -> dict[str, Any]:
    """W6, W7, W17."""
    return {
        "participants": people(form, "participants", "others"),
        "sharpened_question": form.get("sharpened_question"),
        "reformulated_request": form.optional("reformulated_request"),
        "levels": form.all("levels"),
        "held_on": form.get("held_on") or None,
    }


def plan(form: Form) -> dict[str, Any]:
    """W15-W17, W20: up to three goals; empty goal rows are left out."""
    goals = []
    for i in range(MAX_GOALS):
        row = {f: form.get(f"goals.{i}.{f}") for f in ("description", "measure", "target_date")}
        if any(row.values()):
            goals.append({"goal_id": f"doel-{i + 1}", **{k: v or None for k, v in row.items()}})
    return {
        "goals": goals,
        "supported": form.all("supported"),
        "form": form.get("form"),
        "school_participants": people(form, "school_participants", "school_others"),
        "duration_weeks": form.get("duration_weeks") or None,
        "frequency": form.get("frequency"),
        "parents_informed": form.get("parents_informed"),
        "evaluation_method": form.get("evaluation_method"),
        "evaluation_dates": form.all("evaluation_dates"),
        "securing": form.get("securing"),
        "reason": form.optional("reason"),
    }


def session(form: Form) -> dict[str, Any]:
    """W23."""
    return {
        "session_id": form.get("session_id"),
        "held_on": form.get("held_on") or None,
        "hours": form.get("hours").replace(",", ".") or None,
        "findings": form.get("findings"),
    }


def signal(form: Form) -> dict[str, Any]:
    """W18, W19."""
    return {
        "signal_id": form.get("signal_id"),
        "addressed_to": form.all("addressed_to"),
        "about": form.get("about") or None,
        "description": form.get("description"),
    }


def evaluation(form: Form) -> dict[str, Any]:
    """W21, S, R: one result per goal; an escalation carries municipality, reasons, draft."""
    results = []
    i = 0
    while f"goal_results.{i}.goal_id" in form.data:
        results.append(
            {
                "goal_id": form.get(f"goal_results.{i}.goal_id"),
                "result": form.get(f"goal_results.{i}.result"),
            }
        )
        i += 1
    outcome = form.get("outcome") or None
    body: dict[str, Any] = {
        "evaluation_id": form.get("evaluation_id"),
        "participants": people(form, "participants", "others"),
        "goal_results": results,
        "outcome": outcome,
        "care_level": form.get("care_level") or None,
        "reason": form.optional("reason"),
        "escalation": None,
    }
    if outcome == "escalate":
        body["escalation"] = {
            "escalation_id": form.get("escalation_id"),
            "municipality": form.get("escalation.municipality"),
            "reasons": form.all("escalation.reasons"),
            "draft_plan": form.get("escalation.draft_plan"),
        }
    return body


def route_coach(form: Form) -> dict[str, Any]:
    """W29: why school and support worker need the route coach."""
    return {"reason": form.get("reason")}


def opp(form: Form) -> dict[str, Any]:
    """S: the OPP: when the school drew it up, and its parts (starting point, expected
    outflow, goals, support); a goal row left empty is no goal."""
    goals = [form.get(f"goals.{i}") for i in range(MAX_OPP_GOALS)]
    parts = {
        "starting_point": form.optional("starting_point"),
        "expected_outflow": form.optional("expected_outflow"),
        "goals": [g for g in goals if g],
        "support": form.optional("support"),
    }
    # Parts left empty are not sent: an OPP by its date alone is the same command as before.
    return {"drawn_up_on": form.get("drawn_up_on") or None, **{k: v for k, v in parts.items() if v}}


def opp_evaluation(form: Form) -> dict[str, Any]:
    """S: the OPP's evaluation, twice a school year: when, and what came of it."""
    return {"evaluated_on": form.get("evaluated_on") or None, "summary": form.get("summary")}


def case_director(form: Form) -> dict[str, Any]:
    """R: who directs the case from now on, and why."""
    return {
        "role": form.get("role") or None,
        "person_id": form.optional("person_id"),
        "reason": form.get("reason"),
    }


def youth_care(form: Form) -> dict[str, Any]:
    """R: youth care is needed; the wijkteam worker takes the lead."""
    return {"reason": form.get("reason")}


def escalation(form: Form) -> dict[str, Any]:
    """R: the route stagnates outside an evaluation; to the Team NO of the municipality."""
    return {
        "escalation_id": form.get("escalation_id"),
        "municipality": form.get("municipality"),
        "reasons": form.all("reasons"),
        "draft_plan": form.get("draft_plan"),
    }


def team_no_decision(form: Form) -> dict[str, Any]:
    """R."""
    return {
        "decision": form.get("decision"),
        "assignment": form.get("assignment"),
        "provider": form.get("provider"),
    }


FIELDS: dict[str, frozenset[str]] = {
    "first-contact": frozenset({"contacted_at"}),
    "start-conversation": frozenset(
        {"participants", "sharpened_question", "reformulated_request", "levels", "held_on"}
    ),
    "plans": frozenset(
        {
            *(
                f"goals.{i}.{f}"
                for i in range(MAX_GOALS)
                for f in ("description", "measure", "target_date")
            ),
            "goals",
            "supported",
            "form",
            "school_participants",
            "duration_weeks",
            "frequency",
            "parents_informed",
            "evaluation_method",
            "evaluation_dates",
            "securing",
            "reason",
        }
    ),
    "sessions": frozenset({"held_on", "hours", "findings"}),
    "signals": frozenset({"addressed_to", "about", "description"}),
    "evaluations": frozenset(
        {
            "participants",
            "outcome",
            "care_level",
            "reason",
            "escalation.municipality",
            "escalation.reasons",
            "escalation.draft_plan",
            *(f"goal_results.{i}.result" for i in range(10)),
        }
    ),
    "team-no-decision": frozenset({"decision", "assignment", "provider"}),
    "specialist-analysis": frozenset({"analysis"}),
    "route-coach": frozenset({"reason"}),
    "opp": frozenset(
        {
            "drawn_up_on",
            "starting_point",
            "expected_outflow",
            "support",
            *(f"goals.{i}" for i in range(MAX_OPP_GOALS)),
        }
    ),
    "opp/evaluations": frozenset({"evaluated_on", "summary"}),
    "case-director": frozenset({"role", "person_id", "reason"}),
    "youth-care": frozenset({"reason"}),
    "escalations": frozenset({"municipality", "reasons", "draft_plan"}),
}
