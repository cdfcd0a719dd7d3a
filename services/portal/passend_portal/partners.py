"""The partners' part around a pupil's support (C, W16): what the teacher's and the
invitation screens show, and their forms as the trajectory's commands."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.messages import Problem, explain
from passend_portal.web import Form

# Roles that take part in a case (seed 004, docs/roles.md): they may invite an adviser.
PARTNER_ROLES = ("ib", "teacher", "support_worker", "education_specialist")
# Who notes the pupil's group (trajectory's POST /cases/{id}/group).
GROUP_ROLES = ("ib", "support_worker", "education_specialist")

OCCASIONS = {
    "warning_sign": "Knipperlichtmoment: er gaat iets niet goed in de begeleiding",
    "parents_hard_to_reach": "De ouders zijn moeilijk bereikbaar",
    "reorientation": "Heroriëntatie: een ander niveau of speciaal onderwijs",
    "on_request": "Op verzoek van een partner",
}

# What the rules of the teacher's part mean for the person at the screen (C, W16).
RULES_NL = {
    "W16": "Alleen een leerkracht van de groep van deze leerling legt maatregelen en "
    "reflecties vast (W16).",
    "C": "Dit kan zo niet worden vastgelegd.",
}
# Specific refusals, recognised by the trajectory's words (C, W16).
MESSAGES_NL = (
    (
        "group is not recorded yet",
        "De groep van de leerling is nog niet vastgelegd. De intern "
        "begeleider of de onderwijsondersteuner legt die vast; daarna legt de leerkracht van die "
        "groep maatregelen en reflecties vast (W16).",
    ),
    ("is not at your school", "Deze leerling zit niet op uw school (W16)."),
    (
        "which the directory doesn't list as yours",
        "Deze leerling zit in een groep die niet "
        "op uw naam staat in het personeelsoverzicht van het SWV (W16).",
    ),
    (
        "recorded once it is tried",
        "Een maatregel legt u vast als hij geprobeerd is: de startdatum ligt niet in de toekomst.",
    ),
    ("tried_until lies between", "De einddatum ligt tussen de startdatum en vandaag."),
    (
        "recorded once it is held",
        "Een reflectie legt u vast als het gesprek geweest is: de datum ligt niet in de toekomst.",
    ),
    ("to reflect on", "Kies maatregelen die in dit traject zijn geprobeerd."),
    ("states a clear goal", "Beschrijf het doel van het gesprek."),
    ("someone other than yourself", "Nodig iemand anders uit dan uzelf."),
    ("meeting lies in the past", "De datum van het gesprek ligt in het verleden."),
    ("already sent", "Deze uitnodiging is al verstuurd."),
    ("already recorded", "Dit is al vastgelegd."),
    ("already is", "De leerling staat al in deze groep."),
    ("name the pupil's group", "Vul de groep van de leerling in."),
    ("trajectory was closed", "Het traject is afgesloten; hier kan niets meer bij."),
    ("withdrawn", "De aanvraag is ingetrokken; hier kan niets meer bij."),
)

MEASURE_FIELDS = frozenset({"description", "tried_from", "tried_until", "observations"})
REFLECTION_FIELDS = frozenset({"measure_ids", "held_on", "reflection", "adjustments"})
INVITATION_FIELDS = frozenset({"adviser_id", "goal", "occasion", "meeting_on"})
GROUP_FIELDS = frozenset({"group"})


def problem_of(exc: ServiceError | ServiceDown, fields: frozenset[str], form: str) -> Problem:
    """The trajectory's refusal in Dutch, on the field of form ``form`` it concerns."""
    problem = explain(exc, fields)
    if isinstance(exc, ServiceError) and isinstance(exc.detail, dict):
        said = str(exc.detail.get("message", ""))
        rule = str(exc.detail.get("rule", ""))
        specific = next((nl for words, nl in MESSAGES_NL if words in said), None)
        text = specific or RULES_NL.get(rule)
        if text is not None and exc.status != 404:
            field = exc.detail.get("field")
            if isinstance(field, str) and field in fields:
                problem.fields[field] = text
            else:
                problem.general = text
    problem.fields = {f"{form}.{k}": v for k, v in problem.fields.items()}
    return problem


def measure(form: Form) -> dict[str, Any]:
    """C, W16: a measure tried in the class, with what worked and what did not."""
    return {
        "measure_id": form.get("measure_id") or str(uuid.uuid4()),
        "description": form.get("description"),
        "tried_from": form.get("tried_from") or None,
        "tried_until": form.get("tried_until") or None,
        "observations": form.get("observations"),
    }


def reflection(form: Form) -> dict[str, Any]:
    """C: the reflection with the support worker on measures tried, and what to adjust."""
    return {
        "reflection_id": form.get("reflection_id") or str(uuid.uuid4()),
        "measure_ids": form.all("measure_ids"),
        "held_on": form.get("held_on") or None,
        "reflection": form.get("reflection"),
        "adjustments": form.get("adjustments"),
    }


def invitation(form: Form) -> dict[str, Any]:
    """C: a named adviser invited to a meeting, with its goal and occasion."""
    return {
        "invitation_id": form.get("invitation_id") or str(uuid.uuid4()),
        "adviser_id": form.get("adviser_id"),
        "goal": form.get("goal"),
        "occasion": form.get("occasion") or None,
        "meeting_on": form.get("meeting_on") or None,
    }


def advisers(directory: dict[str, Any] | None, me: str) -> list[str]:
    """Whom a partner may invite: the SWV's education specialist (the seed's external
    adviser, W11, W14) and its route coach (W29), never oneself."""
    settings = (directory or {}).get("settings") or {}
    found = [settings.get("education_specialist_id"), settings.get("route_coach_id")]
    return [p for p in dict.fromkeys(found) if isinstance(p, str) and p and p != me]


def people_named(trajectory: dict[str, Any] | None, *more: Iterable[str]) -> list[str]:
    """Every person id a trajectory's partners' part names, for one names lookup."""
    ids: list[str] = []
    t = trajectory or {}
    if t.get("opened"):
        ids.append(t["opened"].get("worker_id"))
    ids += [m.get("recorded_by") for m in t.get("measures") or []]
    for r in t.get("reflections") or []:
        ids += [r.get("recorded_by"), r.get("worker_id")]
    for i in t.get("invitations") or []:
        ids += [i.get("adviser_id"), i.get("invited_by")]
    for extra in more:
        ids += list(extra)
    return [i for i in dict.fromkeys(ids) if isinstance(i, str) and i]


def measures_by_id(trajectory: dict[str, Any] | None) -> dict[str, str]:
    """``{measure id: description}``, to name the measures a reflection is about."""
    return {
        str(m.get("measure_id")): str(m.get("description"))
        for m in (trajectory or {}).get("measures") or []
    }


def of_my_groups(trajectory: dict[str, Any] | None, groups: Iterable[str]) -> bool:
    """C, W16: whether the pupil of this trajectory is in one of the teacher's groups."""
    group = (trajectory or {}).get("group")
    return group is not None and group in set(groups)
