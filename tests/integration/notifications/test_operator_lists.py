"""What the operator's screens read: the SWV's mailboxes, every message's wording, and
the parked messages with which message it was and why (as codes the portal says in Dutch)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from passend_backbone.auth import Role
from passend_contracts.events.assignment import CaseClaimed
from passend_devstack.infra import Broker
from passend_devstack.test_tokens import auth_header
from passend_notifications.domain.templates import DEFAULTS

from .kit import (
    OPERATOR,
    SWV,
    MovableClock,
    Publisher,
    fresh_topics,
    notification_settings,
    put_contact,
    register_person,
    running,
    service_settings,
    smtp_server,
    spec_for,
    wait_for_status,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


async def test_the_operator_lists_mailboxes_wording_and_parked_messages(
    db_url: str, broker: Broker
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    case_id = uuid.uuid4()
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port), clock)
        async with (
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            await put_contact(http, "team_no:waterweg", "tno@swv.test", "Team NO Waterweg")
            await put_contact(http, "route_coach", "rb@swv.test")
            listed = await http.get("/contacts", headers=OPERATOR)
            assert listed.status_code == 200, listed.text
            assert [(c["recipient_id"], c["email"], c["display_name"]) for c in listed.json()] == [
                ("route_coach", "rb@swv.test", None),
                ("team_no:waterweg", "tno@swv.test", "Team NO Waterweg"),
            ]
            ib = auth_header(Role.IB, SWV)
            assert (await http.get("/contacts", headers=ib)).status_code == 403
            other_swv = auth_header(Role.OPERATOR, "swv-other")
            assert (await http.get("/contacts", headers=other_swv)).json() == []

            own = {"subject": "Hulpvraag $zaak opgepakt", "body": "$aanhef\n\nOpgepakt: $link"}
            changed = await http.put("/templates/zaak_geclaimd", json=own, headers=OPERATOR)
            assert changed.status_code == 204, changed.text
            wording = await http.get("/templates", headers=OPERATOR)
            assert wording.status_code == 200
            by_name = {t["template"]: t for t in wording.json()}
            assert sorted(by_name) == sorted(DEFAULTS)
            assert by_name["zaak_geclaimd"]["overridden"] is True
            assert by_name["zaak_geclaimd"]["subject"] == own["subject"]
            assert by_name["traject_gestart"]["overridden"] is False
            assert "link" in by_name["zaak_geclaimd"]["placeholders"]
            assert (await http.get("/templates", headers=ib)).status_code == 403

            smtp.sink.refuse["typo@school.test"] = "550 5.1.1 no such user"
            await register_person(bus, db_url, "ib-7", "typo@school.test")
            await bus.send(
                CaseClaimed(
                    case_id=case_id, school_id="s-1", ib_id="ib-7", worker_id="w-1", claimed_at=NOW
                )
            )
            await wait_for_status(http, case_id, "parked")
            parked = await http.get("/messages/parked", headers=OPERATOR)
            [message] = [m for m in parked.json() if m["case_id"] == str(case_id)]
            assert message["template"] == "zaak_geclaimd"
            assert message["reason_code"] == "refused"
            assert "550" in message["reason"]
