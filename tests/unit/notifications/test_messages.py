"""Message ids derive from event and recipient; a message holds only the facts it shows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from passend_notifications.domain.messages import (
    case_ref,
    dutch_date,
    email_message_id,
    event_facts,
    message_id,
)

EVENT = uuid.UUID("0b8f4c0e-52a4-4d51-9d8e-7a3c1f6e2b91")
CASE = uuid.UUID("3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13")


def test_same_event_and_recipient_give_the_same_id_and_others_differ() -> None:
    assert message_id(EVENT, "ib", "ib-7") == message_id(EVENT, "ib", "ib-7")
    assert message_id(EVENT, "ib", "ib-7") != message_id(EVENT, "ib", "ib-8")
    assert message_id(EVENT, "ib", "ib-7") != message_id(uuid.uuid4(), "ib", "ib-7")
    assert message_id(EVENT, "ib", "x") != message_id(EVENT, "parents", "x")


def test_message_id_header_is_stable() -> None:
    mid = message_id(EVENT, "ib", "ib-7")
    assert email_message_id(mid, "passend.nl") == f"<{mid}@passend.nl>"


def test_facts_are_reduced_to_what_the_template_shows() -> None:
    data = {
        "case_id": str(CASE),
        "pupil_ref": "pupil-5e81c2",
        "municipality": "GM0606",  # events carry the CBS code, the mail shows the name
        "reasons": ["waiting_list", "budget_dispute"],
        "escalated_at": "2026-11-27T09:30:00+00:00",
    }
    parent = event_facts("traject_gestart", CASE, datetime.now(UTC), data)
    team_no = event_facts("escalatie_team_no", CASE, datetime.now(UTC), data)
    assert set(parent) == {"zaak", "datum"}
    assert team_no["gemeente"] == "Schiedam"
    assert team_no["redenen"] == "wachtlijst; discussie over financiering"
    assert "pupil" not in repr(parent) + repr(team_no)


def test_dates_are_dutch_in_amsterdam_time() -> None:
    assert dutch_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "1 januari 2027"
    facts = event_facts(
        "evaluatie_herinnering", CASE, datetime(2026, 1, 1, tzinfo=UTC), {"due_on": "2027-03-02"}
    )
    assert facts["termijn"] == "2 maart 2027"


def test_case_reference_names_no_pupil() -> None:
    assert case_ref(CASE) == "3F2C8A4E"
