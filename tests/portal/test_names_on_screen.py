"""Every screen shows names, never ids (issues 18 and 19): every page of every role,
rendered on the services' answers, holds no internal id (``ow-…``, ``ib-…``, ``brin-…``,
``wu-…``, a raw UUID), no English code of the services, no event type name and no rule
tag (``W26``: a "waarom?" link explains the rule instead); numbers are Dutch and nouns
agree with them."""

from __future__ import annotations

import enum
import inspect
import re
from html.parser import HTMLParser

import httpx
import pytest

import passend_contracts.events.assignment as assignment_events
import passend_contracts.events.intake as intake_events
import passend_contracts.events.trajectory as trajectory_events
from passend_backbone.audit.descriptions import describe
from passend_contracts.privacy import WITHDRAWN_BY_ERASURE
from passend_contracts.registry import EVENT_TYPES
from passend_intake import api_privacy
from passend_portal import labels, routes_audit
from tests.portal.fakes import (
    ASSIGNMENT_CASE,
    CASE,
    IB,
    REQUEST_DETAIL,
    TEAM_NO,
    WORKER,
    FakeServices,
    cookie,
    dev_directory,
    dev_names,
    found_requests,
    trajectory,
)

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
LINK = "n" * 43
SIGNAL = "5b0c2a9a-4d4b-4a77-9a51-7c3f4e0a1b22"
COORDINATOR = {"role": "coordinator", "subject": "co-henk", "work_unit_id": "wu-vlaardingen"}
SPECIALIST = {"role": "education_specialist", "subject": "os-marleen"}
AUDITOR = {"role": "auditor", "subject": "auditor-1"}
UNKNOWN_CASE = "9a1b2c3d-0000-4e6f-a7c5-2d8b0e4f6a99"

# Every page of every role, as (who, path); None: someone not signed in.
PAGES: list[tuple[dict[str, str] | None, str]] = [
    (None, "/aanmelden"),
    (None, "/afgemeld"),
    (None, "/afspraken"),
    (None, f"/toestemming/{LINK}"),
    (IB, "/school"),
    (IB, "/school/aanvraag"),
    (IB, f"/zaken/{CASE}"),
    (IB, f"/zaken/{CASE}/toestemming/links"),
    (IB, "/team-no"),  # another role's page: the Dutch refusal
    (WORKER, "/werk"),
    (WORKER, "/werk/casussen"),
    (WORKER, "/zoeken?q=leerling-042"),  # two cases of the pupil: the list
    (WORKER, "/zoeken?q=onbekend-1"),  # none: the Dutch message
    (WORKER, f"/zoeken?q={UNKNOWN_CASE}"),
    (IB, "/zoeken"),
    (SPECIALIST, "/werk/casussen"),
    (COORDINATOR, "/werk/casussen"),
    (WORKER, f"/zaken/{CASE}"),
    (WORKER, f"/zaken/{CASE}/suggesties"),
    (SPECIALIST, f"/zaken/{CASE}"),
    # Issue 19: every step in the portal, and the page that confirms one.
    (WORKER, f"/zaken/{CASE}?gedaan=routebegeleider"),
    (IB, f"/zaken/{CASE}?gedaan=opp"),
    (COORDINATOR, f"/zaken/{CASE}"),
    (COORDINATOR, "/overzicht"),
    (COORDINATOR, "/werk"),
    (COORDINATOR, "/team-no/stagnatie"),
    (TEAM_NO, "/team-no"),
    (TEAM_NO, f"/team-no/zaken/{CASE}"),
    (TEAM_NO, "/team-no/stagnatie"),
    (AUDITOR, "/audit"),
    (AUDITOR, f"/audit/zaken/{CASE}?doel=klacht"),
    (AUDITOR, f"/audit/zaken/{CASE}?doel=klacht&inzages=1"),
    (AUDITOR, "/audit?casus=3f2c8a4e"),
    (AUDITOR, "/audit/zaken?casus=onbekend-1&doel=klacht"),
    (AUDITOR, "/audit/zaken?casus=leerling-042&doel=klacht"),
    (AUDITOR, f"/audit/zaken/{UNKNOWN_CASE}?doel=klacht"),
    (AUDITOR, f"/audit/zaken/{CASE}?doel=klacht&controle=1"),
]


def internal_ids() -> list[str]:
    """Every id of the dev directory: people, schools, work units."""
    directory = dev_directory()
    return sorted(
        {
            *dev_names(),
            *(s["school_id"] for s in directory["schools"]),
            *(u["work_unit_id"] for u in directory["work_units"]),
            directory["settings"]["swv_id"],
        }
    )


def english_codes() -> set[str]:
    """The contracts' enum values a Dutch reader would see as English, and the portal's
    codes (statuses, areas); codes that are Dutch words too (plan, team, opp, groeidocument)
    stay out."""
    dutch_too = {"plan", "team", "opp", "ib", "request", "groeidocument"}
    codes: set[str] = set()
    for module in (intake_events, trajectory_events, assignment_events):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, enum.Enum) and cls.__module__ == module.__name__:
                codes.update(str(e.value) for e in cls)
    for table in (
        labels.REQUEST_STATUS,
        labels.TRAJECTORY_STATUS,
        labels.DUE_STATUS,
        labels.EXPERTISE,
        labels.EVALUATION_KINDS,
    ):
        codes.update(table)
    return codes - dutch_too


def event_type_names() -> set[str]:
    """``RequestSubmitted``, ``CareLevelChanged``, … and the full ``nl.passend.…`` names."""
    return {name.split(".")[3] for name in EVENT_TYPES} | {"nl.passend."}


ID = re.compile(
    r"\b(?:" + "|".join(re.escape(i) for i in internal_ids()) + r")\b"
    r"|\b(?:ow|ib|lk|co|os|rb|tno|op|fg|brin|wu)-[a-z0-9]"
)
# A parent by the school's pseudonymous reference (``ouder-1``): pages name the parent.
# Lower case only: the municipality Ouder-Amstel is a name.
PARENT_REF = re.compile(r"\b(?:ouder|parent|guardian)-[a-z0-9]")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
CODE = re.compile(r"(?<![\w-])(?:" + "|".join(sorted(map(re.escape, english_codes()))) + r")\b")
EVENT = re.compile("|".join(sorted(map(re.escape, event_type_names()))))
NOT_DUTCH = [
    (re.compile(r"\b1 (?:casussen|sessies|aanmeldingen|uren)\b"), "a plural after 1"),
    (re.compile(r"\b\d+\.\d+\b"), "a decimal point"),
    (re.compile(r"\(\)"), "an empty bracket"),
    # Issue 19: a rule's tag is never the explanation; a "waarom?" link leads to it.
    (re.compile(r"\bW\d{1,2}\b"), "a rule tag"),
]


class ScreenText(HTMLParser):
    """What a person reads on the page: its text and the values of visible text inputs.

    Left out: scripts and styles, and what is marked English (``lang="en"``: the service's
    own words, folded away for the helpdesk).
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []

    @property
    def hidden(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input":
            if found.get("type", "text") in ("text", "search", "email", "tel") and not self.hidden:
                self.parts.append(found.get("value") or "")
            return
        if tag in ("br", "meta", "link", "img", "hr"):
            return
        skip = tag in ("script", "style") or found.get("lang") == "en"
        self.stack.append((tag, skip))
        for name in ("title", "aria-label", "placeholder", "alt"):
            if found.get(name) and not self.hidden:
                self.parts.append(str(found[name]))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def screen_text(page: str) -> str:
    reader = ScreenText()
    reader.feed(page)
    return " ".join(" ".join(reader.parts).split())


def faults(text: str) -> list[str]:
    found = [f"id {m.group(0)!r}" for m in ID.finditer(text)]
    found += [f"UUID {m.group(0)!r}" for m in UUID.finditer(text)]
    found += [f"parent reference {m.group(0)!r}" for m in PARENT_REF.finditer(text)]
    found += [f"English code {m.group(0)!r}" for m in CODE.finditer(text)]
    found += [f"event type {m.group(0)!r}" for m in EVENT.finditer(text)]
    found += [
        f"{why}: {m.group(0)!r}" for pattern, why in NOT_DUTCH for m in pattern.finditer(text)
    ]
    return found


def everything(fake: FakeServices) -> None:
    """The services' answers for a case far along its route: every part of every page."""
    full_trajectory = trajectory(
        status="escalated",
        opened={
            "school_id": "brin-11aa",
            "worker_id": "ow-anouk",
            "opened_at": "2026-09-15T09:00:01+00:00",
        },
        consent={"status": "confirmed"},
        start_conversation={
            "held_on": "2026-09-20",
            "sharpened_question": "Hoe leert Noor weer met plezier lezen?",
            "participants": ["ow-anouk", "ib-marieke"],
            "recorded_by": "ow-anouk",
        },
        support={
            "individual": True,
            "started_by": "ow-anouk",
            "started_at": "2026-09-25T08:00:00+00:00",
        },
        group="5b",
        specialist_analysis={
            "specialist_id": "os-marleen",
            "analysis": "Leesangst naast een zwakke decodeervaardigheid",
            "recorded_at": "2026-09-22T10:00:00+00:00",
        },
        plans=[
            {
                "revision": 1,
                "form": "individuele begeleiding",
                "frequency": "wekelijks",
                "duration_weeks": 12,
                "recorded_by": "ow-anouk",
                "recorded_at": "2026-09-23T10:00:00+00:00",
                "reason": None,
                "goals": [
                    {
                        "goal_id": "doel-1",
                        "description": "Leest AVI E4",
                        "measure": "AVI-toets",
                        "target_date": "2026-12-01",
                    }
                ],
            }
        ],
        current_plan_revision=1,
        sessions=[
            {
                "session_id": "s1",
                "worker_id": "ow-anouk",
                "held_on": "2026-09-28",
                "hours": 0.0166,
                "findings": "Goed gewerkt",
            }
        ],
        session_hours=1.5166,
        signals=[
            {
                "raised": {
                    "signal_id": SIGNAL,
                    "about": "teaching_practice",
                    "description": "Instructie te lang",
                    "raised_at": "2026-10-01T10:00:00+00:00",
                    "addressed_to": ["ib"],
                    "raised_by": "ow-anouk",
                },
                "acknowledged": None,
            },
            {
                "raised": {
                    "signal_id": "6c1d3b0b-5e5c-4b88-8a62-8d4f5e1b2c33",
                    "about": "school_offer",
                    "description": "Geen leesgroep",
                    "raised_at": "2026-10-02T10:00:00+00:00",
                    "addressed_to": ["ib", "teacher"],
                    "raised_by": "ow-anouk",
                },
                "acknowledged": {
                    "signal_id": "6c1d3b0b-5e5c-4b88-8a62-8d4f5e1b2c33",
                    "acknowledged_by": "ib-marieke",
                    "response": "Start in januari",
                    "acknowledged_at": "2026-10-03T10:00:00+00:00",
                },
            },
        ],
        evaluations=[
            {
                "evaluation_id": "e1",
                "evaluated_at": "2026-10-10T10:00:00+00:00",
                "outcome": "change_care_level",
                "care_level": 2,
                "participants": ["ow-anouk", "ib-marieke"],
                "evaluated_by": "ow-anouk",
                "goal_results": [{"goal_id": "doel-1", "result": "Leest AVI E3"}],
                "reason": "Meer hulp in de groep nodig",
            },
            {
                "evaluation_id": "e2",
                "evaluated_at": "2026-11-10T10:00:00+00:00",
                "outcome": "escalate",
                "participants": ["ow-anouk", "ib-marieke", "de leerkracht"],
                "evaluated_by": "ow-anouk",
                "goal_results": [{"goal_id": "doel-1", "result": "Geen groei"}],
                "reason": "Geen plek voor overbruggingszorg",
            },
        ],
        case_director={"person_id": "ow-anouk", "role": "education_specialist"},
        care_level=3,
        care_level_changes=[
            {
                "from_level": None,
                "to_level": 2,
                "reason": "Extra zorg in de groep nodig",
                "referral": False,
                "changed_at": "2026-10-10T10:00:00+00:00",
            },
            {
                "from_level": 2,
                "to_level": 3,
                "reason": "Deskundigen nodig",
                "referral": False,
                "changed_at": "2026-11-01T10:00:00+00:00",
            },
        ],
        opp={
            "drawn_up_on": "2026-10-20",
            "recorded_by": "ib-marieke",
            "recorded_at": "2026-10-21T10:00:00+00:00",
        },
        opp_evaluations=[
            {
                "evaluated_on": "2026-11-05",
                "summary": "Doelen deels bereikt",
                "recorded_by": "ow-anouk",
                "recorded_at": "2026-11-05T10:00:00+00:00",
            }
        ],
        youth_care={
            "wijkteam_worker_id": None,
            "reason": "Zorgen thuis",
            "noted_by": "ow-anouk",
            "noted_at": "2026-11-02T10:00:00+00:00",
        },
        case_director_history=[
            {
                "role": "ib",
                "person_id": "ib-marieke",
                "reason": "support is education-focused within basic support: the IB directs "
                "the case (R)",
                "explicit": False,
                "changed_at": "2026-09-15T09:00:00+00:00",
            },
            {
                "role": "wijkteam_worker",
                "person_id": None,
                "reason": "youth care is needed: the wijkteam worker directs the case (R)",
                "explicit": False,
                "changed_at": "2026-11-02T10:00:00+00:00",
            },
            {
                "role": "education_specialist",
                "person_id": "ow-anouk",
                "reason": "Afgesproken in het ondersteuningsteam",
                "explicit": True,
                "changed_at": "2026-11-03T10:00:00+00:00",
            },
        ],
        escalations=[
            {
                "escalated": {
                    "escalation_id": "x1",
                    "region": "waterweg",
                    "municipality": "GM0622",
                    "reasons": ["waiting_list"],
                    "draft_plan": "Overbrugging op school",
                    "escalated_at": "2026-11-10T10:00:00+00:00",
                    "escalated_by": "ow-anouk",
                },
                "decision": {
                    "decision": "Plaatsing met begeleiding",
                    "assignment": "Gemeente regelt vervoer",
                    "provider": "Zorgaanbieder De Haven",
                    "decided_at": "2026-11-20T10:00:00+00:00",
                    "decided_by": "tno-waterweg",
                },
            }
        ],
        evaluations_due=[{"kind": "plan", "due_on": "2026-12-15", "status": "upcoming"}],
    )
    request = {
        **REQUEST_DETAIL,
        "status": "in_trajectory",
        "consent_status": "confirmed",
        "consent": {
            **REQUEST_DETAIL["consent"],
            "status": "confirmed",
            "method": "personal_link",
            "answered_at": "2026-09-16T10:00:00Z",
            "pupil_heard_at": "2026-09-15",
            "pupil_view": "agrees",
        },
        "history": [
            {
                "version": 1,
                "event_type": "nl.passend.intake.RequestSubmitted.v1",
                "occurred_at": "2026-09-14T08:30:00Z",
                "actor": "ib-marieke",
                "data": {},
            },
            {
                "version": 2,
                "event_type": "nl.passend.intake.ConsentRequested.v1",
                "occurred_at": "2026-09-14T09:00:00Z",
                "actor": "ib-marieke",
                "data": {"method": "personal_link", "parent_refs": ["ouder-1"]},
            },
            {
                "version": 2,
                "event_type": "nl.passend.intake.PupilHeard.v1",
                "occurred_at": "2026-09-15T09:00:00Z",
                "actor": "ib-marieke",
                "data": {"view": "agrees"},
            },
            {
                "version": 2,
                "event_type": "nl.passend.intake.ConsentConfirmed.v1",
                "occurred_at": "2026-09-16T10:00:00Z",
                "actor": "parent:ouder-1",
                "data": {},
            },
            {
                "version": 3,
                "event_type": "nl.passend.intake.RequestRouted.v1",
                "occurred_at": "2026-09-16T10:00:01Z",
                "actor": "service:intake",
                "data": {},
            },
        ],
    }
    summary = {k: request[k] for k in ("case_id", "school_id", "ib_id", "pupil_ref", "status")}
    claimed = {
        **ASSIGNMENT_CASE,
        "route_coach_calls": 1,
        "route_coach_history": [
            {
                "called_by": "ib-marieke",
                "side": "school",
                "called_at": "2026-10-05T12:15:00Z",
                "route_coach_id": "rb-jeroen",
            }
        ],
        "claimed_by": "ow-anouk",
        "claimed_at": "2026-09-15T09:00:00Z",
        "first_contact_at": "2026-09-16T09:00:00Z",
    }
    claimed_row = {
        **claimed,
        "routed_at": "2026-09-14T08:30:01Z",
        "time_left": None,
    }
    waiting = {
        **ASSIGNMENT_CASE,
        "routed_at": None,
        "time_left": {"seconds": 100, "working_days": 1, "lapsed": False},
    }
    fake.on("GET", "intake", f"/requests/{CASE}", (200, request))
    fake.on(
        "GET",
        "intake",
        "/schools/brin-11aa/requests",
        (
            200,
            [
                {
                    **summary,
                    "addressed_worker_id": "ow-anouk",
                    "levels": ["pupil"],
                    "consent_status": "confirmed",
                    "submitted_at": "2026-09-14T08:30:00Z",
                }
            ],
        ),
    )
    fake.on(
        "GET",
        "intake",
        f"/requests/{CASE}/consent/links",
        (
            200,
            {
                "links": [
                    {
                        "parent_ref": "ouder-1",
                        "token": LINK,
                        "purpose": "withdrawal",
                        "expires_at": "2027-03-01T08:35:00Z",
                    }
                ]
            },
        ),
    )
    fake.on(
        "GET",
        "intake",
        f"/consent/{LINK}",
        (
            200,
            {
                "state": "open",
                "purpose": "consent",
                "expires_at": "2027-03-01T08:35:00Z",
                "question": "Geeft u toestemming voor begeleiding van Noor?",
                "school_name": "Basisschool De Havenmeester",
                "child_first_name": "Noor",
                "support": "individuele begeleiding van uw kind",
            },
        ),
    )
    fake.on("GET", "assignment", f"/cases/{CASE}", (200, claimed))
    fake.on("GET", "assignment", "/workers/ow-anouk/inbox", (200, [waiting]))
    fake.on("GET", "assignment", "/workers/co-henk/inbox", (200, []))
    fake.on("GET", "assignment", "/work-units/wu-vlaardingen/queue", (200, [waiting]))
    fake.on("GET", "assignment", "/deadlines", (200, [waiting]))
    for worker in ("ow-anouk", "co-henk", "os-marleen"):
        fake.on("GET", "assignment", f"/workers/{worker}/cases", (200, [claimed_row]))
    second = {**summary, "case_id": SIGNAL, "status": "withdrawn"}
    fake.on(
        "GET",
        "intake",
        "/requests",
        found_requests(
            [
                {
                    **summary,
                    "addressed_worker_id": "ow-anouk",
                    "levels": ["pupil"],
                    "consent_status": "confirmed",
                    "submitted_at": "2026-09-14T08:30:00Z",
                },
                {
                    **second,
                    "addressed_worker_id": "ow-anouk",
                    "levels": ["pupil"],
                    "consent_status": "refused",
                    "submitted_at": "2026-03-01T08:30:00Z",
                },
            ]
        ),
    )
    fake.on(
        "GET",
        "assignment",
        f"/cases/{CASE}/suggestions",
        (
            200,
            [
                {
                    "worker_id": "ow-chantal",
                    "total": 0.5,
                    "position": 1,
                    "requested_areas": ["social_emotional", "behaviour"],
                    "has_areas": ["social_emotional"],
                    "lacks_areas": ["behaviour"],
                    "knows_school": True,
                    "open_cases": 1,
                    "weekly_case_hours": 12,
                    "hours_free": 11.5,
                    "factors": [
                        {
                            "factor": "expertise",
                            "score": 0.5,
                            "weight": 1.0,
                            "priority": 1,
                            "why": "has 1 of 2 requested areas: social_emotional; lacks behaviour",
                        },
                        {
                            "factor": "school_familiarity",
                            "score": 1.0,
                            "weight": 0.0,
                            "priority": 2,
                            "why": "knows the school",
                        },
                        {
                            "factor": "caseload_room",
                            "score": 0.9583,
                            "weight": 0.0,
                            "priority": 3,
                            "why": "1 open cases take 0.5 of 12 hours a week, 11.5 hours free",
                        },
                    ],
                }
            ],
        ),
    )
    fake.on(
        "GET",
        "assignment",
        "/lead-times",
        (
            200,
            {
                "swv": "swv-waterweg",
                "submitted": 1,
                "claimed": 1,
                "contacted": 1,
                "deadlines_missed": 0,
                "claim_avg_hours": 0.0166,
                "claim_median_hours": 1.5,
                "contact_avg_hours": 30.25,
                "contact_median_hours": 28.0,
            },
        ),
    )
    fake.on(
        "GET",
        "assignment",
        "/caseloads",
        (
            200,
            [
                {
                    "worker_id": "ow-anouk",
                    "work_unit_id": "wu-vlaardingen",
                    "open_cases": 1,
                    "weekly_case_hours": 20,
                    "hours_taken": 2.5,
                    "hours_free": 17.5,
                    "hours_over": 0,
                    "over_capacity": False,
                }
            ],
        ),
    )
    for worker in ("ow-anouk", "co-henk", "os-marleen"):
        fake.on(
            "GET",
            "trajectory",
            f"/workers/{worker}/evaluations-due",
            (
                200,
                {
                    "evaluations": [
                        {"case_id": CASE, "kind": "opp", "due_on": "2026-12-01", "status": "due"}
                    ]
                },
            ),
        )
    fake.on("GET", "trajectory", f"/cases/{CASE}/trajectory", (200, full_trajectory))
    fake.on("GET", "trajectory", "/regions", (200, {"regions": [{"region": "waterweg"}]}))
    fake.on(
        "GET",
        "trajectory",
        "/regions/waterweg/team-no-agenda",
        (
            200,
            {
                "region": "waterweg",
                "cases": [
                    {
                        "case_id": CASE,
                        "municipality": "GM0622",
                        "reasons": ["waiting_list", "no_bridging_care"],
                        "draft_plan": "Overbrugging op school",
                        "escalation_id": "x1",
                        "escalated_by": "ow-anouk",
                        "escalated_at": "2026-11-10T10:00:00+00:00",
                    }
                ],
            },
        ),
    )
    fake.on(
        "GET",
        "trajectory",
        "/regions/waterweg/stagnations",
        (
            200,
            {
                "region": "waterweg",
                "escalations": 1,
                "by_reason": {"waiting_list": 1},
                "by_municipality": {"GM0622": 1},
                "by_reason_and_municipality": [
                    {"reason": "waiting_list", "municipality": "GM0622", "count": 1}
                ],
            },
        ),
    )
    fake.on(
        "GET",
        "trajectory",
        "/lead-times",
        (
            200,
            {
                "trajectories": 1,
                "phases": [
                    {"phase": "to_plan", "cases": 1, "avg_days": 3.25, "median_days": 3.25},
                    {"phase": "to_support", "cases": 0, "avg_days": None, "median_days": None},
                ],
            },
        ),
    )
    fake.on("GET", "notifications", "/messages/undeliverable", (200, []))
    # W10: the consent e-mail to the parent did not arrive; the IB's page names the parent.
    undelivered = {
        "template": "toestemming_gevraagd",
        "recipient_role": "parents",
        "recipient_id": "ouder-1",
        "status": "parked",
        "reason_code": "no_address",
        "status_at": "2026-09-14T09:05:00+00:00",
    }
    fake.on(
        "GET", "notifications", f"/cases/{CASE}/notifications", (200, {"messages": [undelivered]})
    )
    audit = {
        "events": [
            {
                "kind": "event",
                "event_id": "a1",
                "service": "assignment",
                "event_type": "nl.passend.assignment.CaseClaimed.v1",
                "occurred_at": "2026-09-15T09:00:00+00:00",
                "actor": "ow-anouk",
                "stream_version": 2,
                "position": 2,
                "correlation_id": "c",
                "description": "Casus opgepakt door ondersteuner ow-anouk",
            },
            {
                "kind": "event",
                "event_id": "a2",
                "service": "assignment",
                "event_type": "nl.passend.assignment.RequestRouted.v1",
                "occurred_at": "2026-09-14T08:30:01+00:00",
                "actor": "service:assignment",
                "stream_version": 1,
                "position": 1,
                "correlation_id": "c",
                "description": (
                    f"Hulpvraag {CASE} van school brin-11aa doorgezet naar ondersteuner "
                    "ow-anouk; eerste contact uiterlijk 2026-09-21 (personal_link), via email, "
                    "binnen swv-waterweg"
                ),
            },
        ],
        "reads": [
            {
                "read_id": 1,
                "read_at": "2026-10-01T10:00:00+00:00",
                "reader": "auditor-1",
                "purpose": "klacht",
            }
        ],
    }
    verified = {
        "service": "intake",
        "ok": True,
        "streams_checked": 1,
        "events_checked": 12,
        "broken_streams": 0,
        "first_break": None,
    }
    broken = {
        **verified,
        "ok": False,
        "broken_streams": 1,
        "first_break": {
            "stream_id": CASE,
            "stream_version": 4,
            "position": 40,
            "event_id": "0b9a3f7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
            "reason": "hash differs from the hash of the stored fields: the event was changed",
            "expected_hash": "ab" * 32,
            "found_hash": "cd" * 32,
        },
    }
    fake.on("GET", "intake", "/audit/verify", (200, verified))
    fake.on("GET", "assignment", "/audit/verify", (200, {**broken, "service": "assignment"}))
    fake.on("GET", "trajectory", "/audit/verify", (503, {"detail": "not set up"}))
    scheduled = {
        "kind": "event",
        "event_id": "n1",
        "service": "notifications",
        "event_type": "nl.passend.notifications.NotificationScheduled.v1",
        "occurred_at": "2026-09-14T09:00:01+00:00",
        "actor": "service:notifications",
        "stream_version": 1,
        "position": 1,
        "correlation_id": "c",
        "description": "Bericht toestemming_gevraagd voor parents ouder-1",
        "data": {
            "template": "toestemming_gevraagd",
            "recipient_role": "parents",
            "recipient_id": "ouder-1",
            "channel": "e-mail",
        },
    }
    for service in ("intake", "assignment", "trajectory"):
        fake.on(
            "GET",
            service,
            f"/audit/cases/{CASE}/events",
            (200, audit if service == "assignment" else {"events": [], "reads": []}),
        )
    fake.on(
        "GET",
        "notifications",
        f"/audit/cases/{CASE}/events",
        (200, {"events": [scheduled], "reads": []}),
    )


@pytest.mark.parametrize(
    ("who", "path"), PAGES, ids=[f"{(w or {}).get('role', 'anoniem')}:{p}" for w, p in PAGES]
)
async def test_no_page_shows_an_id_a_code_or_an_event_type(
    portal: httpx.AsyncClient, fake: FakeServices, who: dict[str, str] | None, path: str
) -> None:
    everything(fake)
    cookies = cookie(**who) if who else None
    page = await portal.get(path, cookies=cookies)
    assert page.status_code in (200, 403), page.text[:2000]
    text = screen_text(page.text)
    assert faults(text) == [], text


async def test_the_pages_name_people_schools_and_work_units(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    everything(fake)
    worker = screen_text((await portal.get(f"/zaken/{CASE}", cookies=cookie(**WORKER))).text)
    assert "Basisschool De Havenmeester" in worker and "Marieke de Vries" in worker
    assert "Anouk Jansen" in worker
    mine = screen_text((await portal.get("/werk/casussen", cookies=cookie(**WORKER))).text)
    assert "Casus 3f2c8a4e leerling-042 Basisschool De Havenmeester" in mine
    assert "Eerste contact met de school: 21 september 2026" in mine
    found = screen_text((await portal.get("/zoeken?q=leerling-042", cookies=cookie(**WORKER))).text)
    assert "2 casussen gevonden" in found and "Basisschool De Havenmeester" in found
    ib = screen_text((await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))).text)
    assert "door Marieke de Vries" in ib and "Passend (automatisch)" in ib
    assert "een ouder (via de persoonlijke link)" in ib
    # W10: the undelivered consent e-mail, the links to hand over and the consent form
    # name the parent, never by the school's reference.
    assert "voor ouder/verzorger M. Visser: Er is geen e-mailadres" in ib
    assert "M. Visser (ouder-1)" not in ib
    links = await portal.get(f"/zaken/{CASE}/toestemming/links", cookies=cookie(**IB))
    assert "Voor M. Visser: toestemming intrekken" in screen_text(links.text)
    team_no = screen_text((await portal.get("/team-no", cookies=cookie(**TEAM_NO))).text)
    assert "door Anouk Jansen" in team_no
    audit = screen_text(
        (await portal.get(f"/audit/zaken/{CASE}?doel=klacht", cookies=cookie(**AUDITOR))).text
    )
    assert "doorgezet naar ondersteuner Anouk Jansen" in audit
    assert "Basisschool De Havenmeester" in audit and "21 september 2026" in audit
    assert "Toewijzing" in audit  # the service by its Dutch name
    assert "voor ouder/verzorger M. Visser, via e-mail" in audit
    assert "via e-mail, binnen Samenwerkingsverband Passend Onderwijs Nieuwe Waterweg" in audit
    overview = screen_text((await portal.get("/overzicht", cookies=cookie(**COORDINATOR))).text)
    assert "0,02" in overview and "17,5" in overview and "1 casus" in overview
    coordinator_chart = (await portal.get("/overzicht", cookies=cookie(**COORDINATOR))).text
    assert ">Anouk Jansen</text>" in coordinator_chart


async def test_names_are_asked_once_for_a_while(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    everything(fake)
    for _ in range(3):
        await portal.get(f"/zaken/{CASE}", cookies=cookie(**WORKER))
    lookups = [c for c in fake.calls if c[2] in ("/directory/names", "/directory")]
    assert len(lookups) == 2, "one names lookup and one directory read for three pages"


async def test_without_the_directory_the_page_still_shows_and_says_names_are_unknown(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    everything(fake)
    fake.on("GET", "assignment", "/directory/names", (503, {"detail": "down"}))
    fake.on("GET", "assignment", "/directory", (503, {"detail": "down"}))
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**WORKER))
    assert page.status_code == 200
    assert faults(screen_text(page.text)) == []


def test_the_check_itself_finds_what_issue_19_found() -> None:
    found = faults(
        "ow-bart brin-11aa social_emotional CareLevelChanged uitkomst change_care_level "
        f"1 casussen 0.02 uur casus {CASE} binnen vijf werkdagen (W25, W26) Ouder ouder-1"
    )
    assert len(found) == 11, found


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.0166, "0,02"), (1.5, "1,5"), (3.0, "3"), (1234.5, "1.234,5"), ("17.25", "17,25")],
)
def test_numbers_are_written_the_dutch_way(value: object, shown: str) -> None:
    assert labels.number(value) == shown
    assert labels.hours(value) == shown


def test_a_noun_agrees_with_its_number() -> None:
    assert labels.counted(1, "casus", "casussen") == "1 casus"
    assert labels.counted(27, "casus", "casussen") == "27 casussen"
    assert labels.counted(0, "casus", "casussen") == "0 casussen"


# Issue 19, as an end-to-end run found it: a case erased on request, with a signal to the
# teacher, a first care level, documents and messages, on the auditor's timeline. The
# descriptions are the services' own (the audit's Dutch descriptions), not canned text.
ERASED = "7d4e1f2a-6b3c-4d5e-8f9a-0b1c2d3e4f5a"
# What an English sentence leaves behind on a Dutch page.
ENGLISH = re.compile(
    r"\b(?:the|were|erased|erasure|data|teacher|GDPR|access|by|on request|attached|removed)\b"
)


def _entry(
    service: str, n: int, event_type: str, actor: str, data: dict[str, object]
) -> dict[str, object]:
    """One event as a service's ``GET /audit/cases/{case_id}/events`` answers it."""
    return {
        "kind": "event",
        "event_id": f"{service}-{n}",
        "service": service,
        "event_type": event_type,
        "occurred_at": f"2026-11-{n:02d}T10:00:00+00:00",
        "actor": actor,
        "stream_version": n,
        "position": n,
        "correlation_id": "c",
        "description": describe(event_type, data),
        "data": data,
    }


def erased_case(fake: FakeServices) -> None:
    """The four services' audit answers for a case whose pupil was erased on request."""
    document = {
        "case_id": ERASED,
        "document_id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "media_type": "application/pdf",
        "size": 48213,
        "sha256": "ab" * 32,
        "attached_at": "2026-11-02T10:00:00+00:00",
    }
    intake = [
        _entry(
            "intake",
            1,
            "nl.passend.intake.RequestSubmitted.v1",
            "ib-marieke",
            {
                "case_id": ERASED,
                "school_id": "brin-11aa",
                "ib_id": "ib-marieke",
                "teacher_id": "lk-sanne",
                "addressed_worker_id": "ow-anouk",
                "pupil_ref": "leerling-042",
            },
        ),
        _entry(
            "intake",
            2,
            "nl.passend.intake.DocumentAttached.v1",
            "ib-marieke",
            {
                **document,
                "kind": "groeidocument",
                "attached_by": "ib-marieke",
                "attached_by_role": "ib",
                "stage": "request",
                "step": None,
            },
        ),
        _entry(
            "intake",
            8,
            "nl.passend.intake.DocumentAttached.v1",
            "ow-anouk",
            {
                **document,
                "kind": "minutes",
                "attached_by": "ow-anouk",
                "attached_by_role": "support_worker",
                "stage": "trajectory",
                "step": "session",
            },
        ),
        _entry(
            "intake",
            9,
            "nl.passend.intake.DocumentRemoved.v1",
            "ib-marieke",
            {"document_id": document["document_id"], "removed_by": "ib-marieke"}
            | {"reason": "replaced"},
        ),
        _entry(
            "intake",
            20,
            "nl.passend.intake.RequestWithdrawn.v1",
            "fg-yvonne",
            {
                "case_id": ERASED,
                "withdrawn_by": "fg-yvonne",
                "reason": WITHDRAWN_BY_ERASURE,
                "withdrawn_at": "2026-11-20T10:00:00+00:00",
            },
        ),
        _entry(
            "intake",
            21,
            "nl.passend.intake.CaseErased.v1",
            "fg-yvonne",
            {
                "case_id": ERASED,
                "reason": "request",
                "requested_by": "De moeder, per brief",
                "erased_by": "fg-yvonne",
                "confirmed_by": None,
            },
        ),
    ]
    planned = [
        _entry(
            "trajectory",
            10,
            "nl.passend.trajectory.SignalRaised.v1",
            "ow-anouk",
            {
                "case_id": ERASED,
                "signal_id": SIGNAL,
                "addressed_to": ["teacher"],
                "about": "teaching_practice",
                "description": "Instructie te lang",
                "raised_by": "ow-anouk",
            },
        ),
        _entry(
            "trajectory",
            12,
            "nl.passend.trajectory.CareLevelChanged.v1",
            "ow-anouk",
            {
                "case_id": ERASED,
                "from_level": None,
                "to_level": 2,
                "reason": "Extra zorg in de groep nodig",
                "referral": False,
            },
        ),
        _entry(
            "trajectory",
            13,
            "nl.passend.trajectory.TrajectoryPaused.v1",
            "service:trajectory",
            # Its description names the rule: on screen a "waarom?" link, never "W10".
            {"case_id": ERASED, "rule": "W10", "reason": "toestemming ingetrokken"},
        ),
    ]
    notifications = [
        _entry(
            "notifications",
            11,
            "nl.passend.notifications.NotificationScheduled.v1",
            "service:notifications",
            {
                "template": "signaal_leerkracht",
                "recipient_role": "teacher",
                "recipient_id": f"teacher:{ERASED}",
                "channel": "email",
            },
        ),
        _entry(
            "notifications",
            13,
            "nl.passend.notifications.NotificationSent.v1",
            "service:notifications",
            {
                "recipient_role": "teacher",
                "recipient_id": f"teacher:{ERASED}",
                "channel": "email",
                "attempt": 1,
            },
        ),
    ]
    # The privacy officer looked at the pupil's cases before erasing them (logged by intake).
    reads = [
        {
            "read_id": 7,
            "read_at": "2026-11-19T10:00:00+00:00",
            "reader": "fg-yvonne",
            "purpose": api_privacy.PURPOSE,
        },
        {
            "read_id": 8,
            "read_at": "2026-11-19T11:00:00+00:00",
            "reader": "fg-yvonne",
            "purpose": api_privacy.ACCESS_PURPOSE,
        },
    ]
    for service, events in (
        ("intake", intake),
        ("assignment", []),
        ("trajectory", planned),
        ("notifications", notifications),
    ):
        answer = {"events": events, "reads": reads if service == "intake" else []}
        fake.on("GET", service, f"/audit/cases/{ERASED}/events", (200, answer))
    fake.on(
        "GET",
        "trajectory",
        f"/cases/{ERASED}/trajectory",
        (200, trajectory(case_id=ERASED, status="withdrawn", care_level=2)),
    )


async def test_the_timeline_of_an_erased_case_is_dutch_with_names_issue_19(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    """What the run of an erased case showed, each now in Dutch: the erasure's withdrawal,
    a signal to the teacher, a message for the case's teacher (by name, never
    ``teacher:<case>``), a first care level, documents, and the privacy officer's reads."""
    everything(fake)
    erased_case(fake)
    page = await portal.get(
        f"/audit/zaken/{ERASED}?doel=klacht&inzages=1", cookies=cookie(**AUDITOR)
    )
    assert page.status_code == 200, page.text[:2000]
    text = screen_text(page.text)
    assert faults(text) == [], text
    assert [m.group(0) for m in ENGLISH.finditer(text)] == [], text
    assert re.findall(r"(?<!\w)\?", text) == [], text  # a field the sentence lacked
    assert "De gegevens van de leerling zijn op verzoek gewist" in text
    assert "aan de leerkracht" in text
    # The teacher the request named, for the message and its delivery alike.
    assert "Een signaal voor de leerkracht, voor leerkracht Sanne Bakker, via e-mail" in text
    assert "verzonden aan leerkracht Sanne Bakker via e-mail (poging 1)" in text
    assert "Leerlinggegevens gewist" in text
    assert "Zorgniveau vastgesteld op 2" in text
    assert "Document toegevoegd" in text and "Document verwijderd" in text
    assert "bij de aanvraag" in text and "tijdens het traject, bij een sessie" in text
    assert "verzoek tot wissing (AVG art. 17)" in text and "inzageverzoek (AVG art. 15)" in text


def test_a_message_for_the_cases_teacher_says_the_role_when_nobody_was_named() -> None:
    """No teacher named in the request: the role in Dutch, never the placeholder's id."""
    entry = {
        "event_type": "nl.passend.notifications.NotificationScheduled.v1",
        "data": {
            "template": "signaal_leerkracht",
            "recipient_role": "teacher",
            "recipient_id": f"teacher:{ERASED}",
            "channel": "email",
        },
    }
    said = routes_audit.in_dutch(entry, {}, {})["description"]
    assert "de leerkracht van de leerling" in said and "teacher:" not in said
    assert "Sanne" not in said
    named = routes_audit.in_dutch(entry, {}, {"teacher": "lk-sanne"})["description"]
    assert "leerkracht lk-sanne" in named  # the page's text filter names her


def test_every_event_type_has_one_dutch_name() -> None:
    """Issue 19: one Dutch label for every event, from labels.EVENTS (a timeline never
    shows an event's type name, also not of a document or an erasure)."""
    missing = sorted(event_type_names() - {"nl.passend."} - set(labels.EVENTS))
    assert missing == []
    assert labels.event_name("nl.passend.intake.DocumentAttached.v1") == "Document toegevoegd"
    assert labels.event_name("nl.passend.intake.DocumentRemoved.v2") == "Document verwijderd"
    assert "DocumentAttached" not in labels.CONSENT_NEXT_STEPS
