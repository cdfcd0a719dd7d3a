"""The directory's people as the portal changes them: the SWV's document as it stands, with
one person registered or deactivated, and the refusals said in Dutch (issue 24, W25).

Assignment changes the directory only as a whole document (``PUT /directory``, see
docs/directory.md), so a screen that registers or deactivates one person sends the
document as it is, with that one change; only the change becomes events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.messages import Problem, explain
from passend_portal.web import Form, comma_list

# The roles the SWV's administrator gives; a unit's coordinator only the support worker's.
ROLES = (
    "ib",
    "teacher",
    "support_worker",
    "coordinator",
    "education_specialist",
    "route_coach",
    "team_no_member",
    "auditor",
    "privacy_officer",
    "swv_admin",
)
UNIT_ROLES = ("support_worker",)
# Where a role works: what the directory needs to place them.
PLACE = {
    "ib": "school_id",
    "teacher": "school_id",
    "support_worker": "work_unit_id",
    "coordinator": "work_unit_id",
    "team_no_member": "region",
}
PERSON_FIELDS = frozenset(
    {
        "display_name",
        "person_id",
        "email",
        "role",
        "school_id",
        "work_unit_id",
        "region",
        "groups",
        "weekly_case_hours",
        "expertise",
        "known_schools",
    }
)
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

RULES_NL = {
    "roles": "Alleen de beheerder van het SWV en de coördinator van een werkeenheid wijzigen "
    "het personeelsoverzicht.",
    "directory": "U beheert alleen de onderwijsondersteuners van uw eigen werkeenheid. Vraag "
    "de beheerder van het SWV om deze wijziging.",
    "tenant": "U beheert alleen het personeelsoverzicht van uw eigen samenwerkingsverband.",
}
MESSAGES_NL = (
    (
        "does not name",
        "Het personeelsoverzicht noemt u niet als coördinator van deze werkeenheid. Vraag de "
        "beheerder van het SWV om deze wijziging.",
    ),
    (
        "is not an active support worker after this document",
        "Kies voor elke casus een onderwijsondersteuner die in het overzicht blijft (W25).",
    ),
    (
        "hand cases over to a worker of",
        "U draagt casussen alleen over aan een onderwijsondersteuner van uw eigen werkeenheid.",
    ),
    (
        "is no longer",
        "Een van deze casussen is intussen gewijzigd. Laad de pagina opnieuw en kies opnieuw "
        "(W25).",
    ),
    (
        "is no open case",
        "Een van deze casussen is niet meer open of al overgedragen. Laad de pagina opnieuw.",
    ),
    ("listed twice", "Er staat al iemand met deze inlognaam in het overzicht."),
    ("is not in the directory", "Deze werkeenheid of school is niet bekend in het SWV."),
)


def document(directory: Mapping[str, Any], people: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The SWV's directory as a ``PUT /directory`` document, as it stands now: the settings,
    work units, active workers, schools, holidays and active people, each unchanged."""
    settings = directory["settings"]
    return {
        "swv_id": settings["swv_id"],
        "name": settings["name"],
        "education_specialist_id": settings.get("education_specialist_id"),
        "route_coach_id": settings.get("route_coach_id"),
        "case_hours_per_week": settings.get("case_hours_per_week", 2.0),
        "expertise_areas": settings.get("expertise_areas") or [],
        "calendar": settings.get("calendar"),
        "work_units": [
            {k: u.get(k) for k in ("work_unit_id", "name", "coordinator_id")}
            for u in directory.get("work_units") or []
        ],
        "workers": [
            {
                k: w.get(k)
                for k in (
                    "worker_id",
                    "work_unit_id",
                    "expertise",
                    "weekly_case_hours",
                    "known_schools",
                )
            }
            for w in directory.get("workers") or []
            if w.get("active", True)
        ],
        "schools": [
            {k: s.get(k) for k in ("school_id", "name", "municipality", "holiday_region")}
            for s in directory.get("schools") or []
        ],
        "school_holidays": dict(directory.get("school_holidays") or {}),
        "people": [
            {
                k: p.get(k)
                for k in (
                    "person_id",
                    "display_name",
                    "email",
                    "roles",
                    "school_id",
                    "work_unit_id",
                    "region",
                    "groups",
                )
            }
            for p in people
            if p.get("active", True)
        ],
    }


def new_person(form: Form, *, unit: str | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The person a registration form describes, and their worker profile when they are a
    support worker; ``unit``: the coordinator's own work unit (None: the administrator)."""
    role = "support_worker" if unit else form.get("role")
    place = PLACE.get(role)
    person: dict[str, Any] = {
        "person_id": form.get("person_id"),
        "display_name": form.get("display_name"),
        "email": form.optional("email"),
        "roles": [role] if role else [],
        "school_id": form.optional("school_id") if place == "school_id" else None,
        "work_unit_id": (unit or form.optional("work_unit_id"))
        if place == "work_unit_id"
        else None,
        "region": form.optional("region") if place == "region" else None,
        "groups": comma_list(form.get("groups")) if role == "teacher" else [],
    }
    if role != "support_worker":
        return person, None
    hours = form.get("weekly_case_hours").replace(",", ".")
    worker = {
        "worker_id": person["person_id"],
        "work_unit_id": person["work_unit_id"],
        "expertise": form.all("expertise"),
        "weekly_case_hours": hours or None,
        "known_schools": form.all("known_schools"),
    }
    return person, worker


def check_new(person: Mapping[str, Any], people: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """What the form lacks, in Dutch, per field (before the document is sent)."""
    missing: dict[str, str] = {}
    if not person["display_name"]:
        missing["display_name"] = "Vul de naam in zoals collega's die zien."
    if not person["person_id"]:
        missing["person_id"] = "Vul de inlognaam in."
    elif re.search(r"\s", str(person["person_id"])):
        missing["person_id"] = "Een inlognaam heeft geen spaties."
    elif any(p["person_id"] == person["person_id"] and p.get("active") for p in people):
        missing["person_id"] = "Er staat al iemand met deze inlognaam in het overzicht."
    if not person["roles"]:
        missing["role"] = "Kies een rol."
    else:
        place = PLACE.get(person["roles"][0])
        if place is not None and not person[place]:
            missing[place] = {
                "school_id": "Kies de school.",
                "work_unit_id": "Kies de werkeenheid.",
                "region": "Vul de regio van Team NO in.",
            }[place]
    return missing


def with_person(
    doc: dict[str, Any], person: dict[str, Any], worker: dict[str, Any] | None
) -> dict[str, Any]:
    """``doc`` with ``person`` (registered, or registered again after leaving)."""
    people = [p for p in doc["people"] if p["person_id"] != person["person_id"]]
    workers = [w for w in doc["workers"] if w["worker_id"] != person["person_id"]]
    return {
        **doc,
        "people": [*people, person],
        "workers": [*workers, worker] if worker else workers,
    }


def without_person(
    doc: dict[str, Any], person_id: str, reason: str, hand_over: Mapping[str, str]
) -> dict[str, Any]:
    """``doc`` without ``person_id`` (and their worker profile), with why they left and who
    takes over each of their open cases (W25)."""
    return {
        **doc,
        "people": [p for p in doc["people"] if p["person_id"] != person_id],
        "workers": [w for w in doc["workers"] if w["worker_id"] != person_id],
        "departures": {person_id: reason} if reason else {},
        "hand_over": dict(hand_over),
    }


def open_cases(exc: ServiceError) -> list[str] | None:
    """W25: the open cases the directory names when it refuses a removal (409), or None
    for any other refusal."""
    detail = exc.detail if isinstance(exc.detail, dict) else {}
    if exc.status != 409 or detail.get("rule") != "W25":
        return None
    message = str(detail.get("message", ""))
    if "hand each over" not in message:
        return None
    return list(dict.fromkeys(UUID_PATTERN.findall(message)))


def problem_of(exc: ServiceError | ServiceDown, form: str = "") -> Problem:
    """A refusal of the directory in Dutch; field errors of the registered person land on
    the form's fields (named ``<form>.<field>``)."""
    problem = explain(exc, frozenset())
    if isinstance(exc, ServiceDown):
        return problem
    detail = exc.detail
    if isinstance(detail, list):
        for error in detail:
            loc = [str(part) for part in error.get("loc", [])] if isinstance(error, dict) else []
            name = loc[-1] if loc else ""
            if name == "worker_id":
                name = "person_id"
            if name in PERSON_FIELDS and ("people" in loc or "workers" in loc):
                one = explain(ServiceError(exc.service, 422, [error]), frozenset({name}))
                said = one.fields.get(name, "Controleer dit veld.")
                if name == "email":
                    said = "Vul een geldig e-mailadres in."
                problem.fields[f"{form}.{name}" if form else name] = said
        if problem.fields:
            problem.general = "Niet alle gegevens zijn goed ingevuld; zie de velden hieronder."
        return problem
    if isinstance(detail, dict):
        said = str(detail.get("message", ""))
        specific = next((nl for words, nl in MESSAGES_NL if words in said), None)
        text = specific or RULES_NL.get(str(detail.get("rule")))
        if text is not None:
            problem.general = text
    return problem
