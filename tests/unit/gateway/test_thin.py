"""Thin notifications name the case in the owning service's API, in the ZGW Notificaties shape."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest

from passend_consumerkit.thin import ThinNotification
from passend_gateway.policy import MUNICIPALITY, minimise
from passend_gateway.thin import ApiUrls, notification_for
from tests.unit.gateway.factory import SWV, closed, envelope, escalated, later

URLS = ApiUrls(
    intake="https://intake.example.nl",
    assignment="https://assignment.example.nl/",
    trajectory="https://trajectory.example.nl/api",
    notifications="https://notifications.example.nl",
)


def test_an_escalation_links_to_the_case_in_the_trajectory_service() -> None:
    case = uuid4()
    payload = escalated(case, "GM0622", later(3))
    shown = minimise(envelope(payload, at=later(3)), payload, MUNICIPALITY)
    assert shown is not None
    note = notification_for(shown, URLS)
    body = json.loads(note.to_json())
    url = f"https://trajectory.example.nl/api/cases/{case}/trajectory"
    assert body == {
        "kanaal": "passend.cases",
        "hoofdObject": url,
        "resource": "escalation",
        "resourceUrl": url,
        "actie": "create",
        "aanmaakdatum": later(3).isoformat().replace("+00:00", "Z"),
        "kenmerken": {"swv": SWV},
    }
    assert ThinNotification.model_validate_json(note.to_json()) == note


def test_a_closing_is_an_update_of_the_trajectory() -> None:
    note = notification_for(envelope(closed(uuid4())), URLS)
    assert (note.resource, note.actie) == ("trajectory", "update")


def test_a_case_url_of_each_service() -> None:
    case = str(uuid4())
    assert URLS.case_url("nl.passend.intake.RequestSubmitted.v1", case) == (
        f"https://intake.example.nl/requests/{case}"
    )
    assert URLS.case_url("nl.passend.assignment.CaseClaimed.v1", case) == (
        f"https://assignment.example.nl/cases/{case}"
    )
    with pytest.raises(ValueError, match="no API known"):
        URLS.case_url("nl.passend.billing.InvoiceSent.v1", case)
