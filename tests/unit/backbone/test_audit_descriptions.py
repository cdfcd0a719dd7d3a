"""The audit's descriptions are Dutch sentences (issue 19): codes in words, no "?" where a
field is empty by design, and a message's placeholder recipient by its role."""

from __future__ import annotations

import enum
import inspect
import re

import passend_contracts.events.intake as intake_events
import passend_contracts.events.trajectory as trajectory_events
from passend_backbone.audit.descriptions import describe
from passend_contracts.registry import EVENT_TYPES

CASE = "3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13"


def english_codes() -> set[str]:
    """The contracts' enum values that are not Dutch words as well."""
    codes: set[str] = set()
    for module in (intake_events, trajectory_events):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, enum.Enum) and cls.__module__ == module.__name__:
                codes.update(str(e.value) for e in cls)
    return codes - {"plan", "team", "opp", "ib", "request", "groeidocument", "consent"}


CODE = re.compile(
    r"(?<![\w-])(?:" + "|".join(sorted(map(re.escape, english_codes()), key=len)) + r")(?![\w-])"
)


def test_a_signal_to_the_teacher_says_so_in_dutch() -> None:
    said = describe(
        "nl.passend.trajectory.SignalRaised.v1",
        {"addressed_to": ["ib", "teacher"], "about": "school_offer", "raised_by": "ow-anouk"},
    )
    assert said == (
        "Signaal over het aanbod van de school afgegeven door ow-anouk aan de IB en de leerkracht"
    )


def test_a_first_care_level_is_set_not_changed_from_a_question_mark() -> None:
    first = describe(
        "nl.passend.trajectory.CareLevelChanged.v1",
        {"from_level": None, "to_level": 2, "reason": "Extra zorg", "referral": False},
    )
    assert first == "Zorgniveau vastgesteld op 2: Extra zorg"
    later = describe(
        "nl.passend.trajectory.CareLevelChanged.v1",
        {"from_level": 2, "to_level": 3, "reason": "Deskundigen nodig", "referral": False},
    )
    assert later == "Zorgniveau gewijzigd van 2 naar 3: Deskundigen nodig"


def test_the_case_director_without_a_person_yet_is_named_by_role() -> None:
    said = describe(
        "nl.passend.trajectory.CaseDirectorChanged.v1",
        {"person_id": None, "role": "wijkteam_worker"},
    )
    assert said == "Casusregie naar een medewerker van het wijkteam"
    named = describe(
        "nl.passend.trajectory.CaseDirectorChanged.v1", {"person_id": "ib-marieke", "role": "ib"}
    )
    assert named == "Casusregie naar ib-marieke (de IB van de school)"


def test_a_document_says_when_in_the_case_it_was_attached() -> None:
    data = {"attached_by": "ib-marieke", "kind": "groeidocument", "size": 10, "step": None}
    at_request = describe("nl.passend.intake.DocumentAttached.v1", {**data, "stage": "request"})
    assert at_request == (
        "Document toegevoegd door ib-marieke bij de aanvraag (soort: groeidocument, 10 bytes)"
    )
    of_session = describe(
        "nl.passend.intake.DocumentAttached.v1",
        {**data, "kind": "minutes", "stage": "trajectory", "step": "session"},
    )
    assert of_session == (
        "Document toegevoegd door ib-marieke tijdens het traject, bij een sessie "
        "(soort: gespreksverslag, 10 bytes)"
    )


def test_numbers_read_dutch_thousands_by_a_point() -> None:
    data = {"attached_by": "ib-marieke", "kind": "report", "size": 48213, "stage": "request"}
    said = describe("nl.passend.intake.DocumentAttached.v1", {**data, "step": None})
    assert said.endswith("48.213 bytes)")


def test_a_message_for_the_cases_teacher_names_the_role_never_the_placeholder() -> None:
    for event_type in (
        "nl.passend.notifications.NotificationScheduled.v1",
        "nl.passend.notifications.NotificationSent.v1",
    ):
        said = describe(
            event_type,
            {
                "template": "signaal_leerkracht",
                "recipient_role": "teacher",
                "recipient_id": f"teacher:{CASE}",
                "channel": "email",
                "attempt": 1,
            },
        )
        assert "de leerkracht van de leerling via e-mail" in said
        assert "teacher" not in said
    to_ib = describe(
        "nl.passend.notifications.NotificationSent.v1",
        {"recipient_role": "ib", "recipient_id": "ib-marieke", "channel": "email", "attempt": 2},
    )
    assert to_ib == "Bericht verzonden aan IB ib-marieke via e-mail (poging 2)"


def test_no_contract_example_is_described_with_an_english_code() -> None:
    """Every example event of the contracts, described: its codes are Dutch words."""
    found = {}
    for event_type, cls in EVENT_TYPES.items():
        example = getattr(cls, "example", None)
        if not example:
            continue
        # Free texts of the examples are English; only the codes matter here.
        coded = {k: v for k, v in example.items() if not isinstance(v, str) or " " not in v}
        said = describe(event_type, coded)
        if CODE.search(said):
            found[event_type] = said
    assert found == {}
