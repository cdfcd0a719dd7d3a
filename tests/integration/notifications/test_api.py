"""The API: an SWV's own wording, minimum data, who may see and do what, tenants kept apart."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from passend_backbone.auth import Role
from passend_contracts.events.assignment import CaseClaimed
from passend_contracts.events.trajectory import EscalatedToTeamNO
from passend_devstack.infra import Broker
from passend_devstack.test_tokens import auth_header

from .kit import (
    OPERATOR,
    SWV,
    MovableClock,
    Publisher,
    fresh_topics,
    notification_settings,
    register_person,
    running,
    service_settings,
    smtp_server,
    spec_for,
    wait_for_status,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


async def test_swv_wording_is_used_and_may_not_ask_for_more_data(
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
            greedy = await http.put(
                "/templates/zaak_geclaimd",
                json={"subject": "Zaak $zaak", "body": "Leerling $pupil_ref"},
                headers=OPERATOR,
            )
            assert greedy.status_code == 422
            assert "pupil_ref" in greedy.json()["detail"]
            not_allowed = await http.put(
                "/templates/zaak_geclaimd",
                json={"subject": "Zaak $zaak", "body": "x"},
                headers=auth_header(Role.IB, SWV),
            )
            assert not_allowed.status_code == 403

            own = await http.put(
                "/templates/zaak_geclaimd",
                json={
                    "subject": "SWV Rijnmond: hulpvraag $zaak in behandeling",
                    "body": "$aanhef\n\nWe zijn gestart op $datum. Meer: $link",
                },
                headers=OPERATOR,
            )
            assert own.status_code == 204, own.text
            shown = (await http.get("/templates/zaak_geclaimd", headers=OPERATOR)).json()
            assert shown["overridden"] is True
            assert "pupil_ref" not in shown["placeholders"]

            await register_person(bus, db_url, "ib-7", "ib@school.test")
            await bus.send(
                CaseClaimed(
                    case_id=case_id, school_id="s", ib_id="ib-7", worker_id="w", claimed_at=NOW
                )
            )
            await wait_for_status(http, case_id, "sent")
            [mail] = smtp.sink.messages
            assert mail["Subject"].startswith("SWV Rijnmond: hulpvraag ")
            assert "We zijn gestart op" in mail.get_content()


async def test_who_sees_a_case_and_who_may_replay_or_subscribe(db_url: str, broker: Broker) -> None:
    clock, topics = MovableClock(), fresh_topics()
    case_id = uuid.uuid4()
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port), clock)
        async with (
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            await register_person(bus, db_url, "ib-7", "ib@school.test")
            await bus.send(
                CaseClaimed(
                    case_id=case_id, school_id="s", ib_id="ib-7", worker_id="w", claimed_at=NOW
                )
            )
            [sent] = await wait_for_status(http, case_id, "sent")
            path = f"/cases/{case_id}/notifications"

            ib = await http.get(
                path, headers=auth_header(Role.IB, SWV, subject="ib-7", school_id="s")
            )
            assert [m["message_id"] for m in ib.json()["messages"]] == [sent["message_id"]]
            colleague = await http.get(
                path, headers=auth_header(Role.IB, SWV, subject="ib-8", school_id="s")
            )
            assert colleague.json()["messages"] == [], "an IB sees the messages to themselves"
            other_school = auth_header(Role.IB, SWV, subject="ib-7", school_id="s2")
            assert (await http.get(path, headers=other_school)).status_code == 404
            other_unit = auth_header(Role.COORDINATOR, SWV, work_unit_id="wu-other")
            assert (await http.get(path, headers=other_unit)).status_code == 404
            operator = await http.get(path, headers=OPERATOR)
            assert operator.status_code == 403, "the operator sees no case content"
            auditor = await http.get(path, headers=auth_header(Role.AUDITOR, SWV))
            assert auditor.status_code == 200
            foreign = await http.get(path, headers=auth_header(Role.AUDITOR, "swv-other"))
            assert foreign.status_code == 404, "another SWV's case answers as if it didn't exist"
            anonymous = await http.get(path)
            assert anonymous.status_code == 401

            replay = f"/messages/{sent['message_id']}/replay"
            assert (await http.post(replay, headers=auth_header(Role.IB, SWV))).status_code == 403
            assert (await http.post(replay, headers=OPERATOR)).status_code == 409
            foreign_op = auth_header(Role.OPERATOR, "swv-other")
            assert (await http.post(replay, headers=foreign_op)).status_code == 404

            hook = {
                "url": "https://gemeente.test/hook",
                "secret": "s" * 32,
                "municipality": "GM0606",
            }
            unknown = await http.post(
                "/webhooks", json={**hook, "event_types": ["nl.passend.Nope.v1"]}, headers=OPERATOR
            )
            assert unknown.status_code == 422
            own_events = await http.post(
                "/webhooks",
                json={**hook, "event_types": ["nl.passend.notifications.NotificationSent.v1"]},
                headers=OPERATOR,
            )
            assert own_events.status_code == 422
            # R: a webhook is an integration channel: what the municipality's topic doesn't
            # carry (the claim, who claimed it) no webhook carries either.
            claims = {**hook, "event_types": [CaseClaimed.event_type]}
            side_door = await http.post("/webhooks", json=claims, headers=OPERATOR)
            assert side_door.status_code == 422
            assert side_door.json()["field"] == "event_types"
            nowhere = await http.post(
                "/webhooks",
                json={**hook, "municipality": "???", "event_types": [EscalatedToTeamNO.event_type]},
                headers=OPERATOR,
            )
            assert nowhere.status_code == 422
            assert nowhere.json()["field"] == "municipality"
            # Municipalities are CBS codes of the current list, never free text.
            escalation = EscalatedToTeamNO.event_type
            for code in ("GM9999", "Schiedam"):
                wrong = {**hook, "municipality": code, "event_types": [escalation]}
                refused = await http.post("/webhooks", json=wrong, headers=OPERATOR)
                assert refused.status_code == 422, code
                assert refused.json()["field"] == "municipality"
                assert "CBS" in json.dumps(refused.json()), "the answer names the list"
            short_secret = await http.post(
                "/webhooks",
                json={**hook, "secret": "kort", "event_types": [EscalatedToTeamNO.event_type]},
                headers=OPERATOR,
            )
            assert short_secret.status_code == 422
            listed = await http.get("/webhooks", headers=auth_header(Role.IB, SWV))
            assert listed.status_code == 403
