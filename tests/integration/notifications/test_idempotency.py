"""Every write of the API takes an Idempotency-Key: a retry answers as the first time, once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from passend_contracts.events.assignment import CaseClaimed
from passend_contracts.events.notifications import NotificationReplayed
from passend_contracts.events.trajectory import EscalatedToTeamNO
from passend_devstack.infra import Broker

from .kit import (
    OPERATOR,
    SERVICE,
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
HOOK = {"url": "https://gemeente.test/hook", "secret": "s" * 32, "municipality": "GM0606"}


def keyed(key: str, caller: dict[str, str] = OPERATOR) -> dict[str, str]:
    return {**caller, "Idempotency-Key": key}


def claimed(case_id: uuid.UUID, ib: str) -> CaseClaimed:
    return CaseClaimed(case_id=case_id, school_id="s-1", ib_id=ib, worker_id="w-1", claimed_at=NOW)


async def fetchval(db_url: str, sql: str, *args: object) -> Any:
    conn = await asyncpg.connect(db_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def same(first: httpx.Response, again: httpx.Response) -> None:
    """The retry's answer is the first one: status and body."""
    assert again.status_code == first.status_code
    if first.content or again.content:
        assert again.json() == first.json()


def reused(answer: httpx.Response) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.json()["rule"] == "idempotency"


async def test_settings_writes_act_once_per_key_and_refuse_a_reused_key(
    db_url: str, broker: Broker
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port), clock)
        async with running(spec, service_settings(db_url, broker), clock) as http:
            email = "SELECT email FROM contacts WHERE recipient_id = $1"
            box, other_box = "team_no:waterweg", "team_no:rijnmond"

            # PUT /contacts: the retry answers 204 again and writes nothing: a change
            # made in between (without a key) stays.
            body = {"email": "one@swv.test"}
            first = await http.put(f"/contacts/{box}", json=body, headers=keyed("c-1"))
            assert first.status_code == 204, first.text
            changed = await http.put(
                f"/contacts/{box}", json={"email": "two@swv.test"}, headers=OPERATOR
            )
            assert changed.status_code == 204
            same(first, await http.put(f"/contacts/{box}", json=body, headers=keyed("c-1")))
            assert await fetchval(db_url, email, box) == "two@swv.test"
            reused(
                await http.put(f"/contacts/{box}", json={"email": "x@y.test"}, headers=keyed("c-1"))
            )
            reused(await http.delete(f"/contacts/{box}", headers=keyed("c-1")))  # another operation
            # Keys are the caller's own: another caller's "c-1" is a new key.
            other = await http.put(
                f"/contacts/{other_box}", json=body, headers=keyed("c-1", SERVICE)
            )
            assert other.status_code == 204

            # DELETE /contacts: a retry after the address came back deletes nothing.
            first = await http.delete(f"/contacts/{box}", headers=keyed("d-1"))
            assert first.status_code == 204
            assert await fetchval(db_url, email, box) is None
            await put_contact(http, box, "three@swv.test")
            same(first, await http.delete(f"/contacts/{box}", headers=keyed("d-1")))
            assert await fetchval(db_url, email, box) == "three@swv.test"
            reused(await http.delete(f"/contacts/{other_box}", headers=keyed("d-1")))

            # PUT and DELETE /templates/{name}
            wording = {"subject": "Zaak $zaak", "body": "$aanhef, zie $link"}
            first = await http.put("/templates/zaak_geclaimd", json=wording, headers=keyed("t-1"))
            assert first.status_code == 204, first.text
            same(
                first,
                await http.put("/templates/zaak_geclaimd", json=wording, headers=keyed("t-1")),
            )
            reused(
                await http.put(
                    "/templates/zaak_geclaimd",
                    json={**wording, "subject": "Anders $zaak"},
                    headers=keyed("t-1"),
                )
            )
            reset = await http.delete("/templates/zaak_geclaimd", headers=keyed("t-2"))
            assert reset.status_code == 204
            again = await http.put("/templates/zaak_geclaimd", json=wording, headers=OPERATOR)
            assert again.status_code == 204
            same(reset, await http.delete("/templates/zaak_geclaimd", headers=keyed("t-2")))
            shown = await http.get("/templates/zaak_geclaimd", headers=OPERATOR)
            assert shown.json()["overridden"] is True, "the retried reset reset nothing"

            # POST and DELETE /webhooks
            hook = {**HOOK, "event_types": [EscalatedToTeamNO.event_type]}
            first = await http.post("/webhooks", json=hook, headers=keyed("w-1"))
            assert first.status_code == 201, first.text
            same(first, await http.post("/webhooks", json=hook, headers=keyed("w-1")))
            other_url = {**hook, "url": "https://gemeente.test/other"}
            reused(await http.post("/webhooks", json=other_url, headers=keyed("w-1")))
            assert len((await http.get("/webhooks", headers=OPERATOR)).json()) == 1
            without_key = await http.post("/webhooks", json=hook, headers=OPERATOR)
            assert without_key.status_code == 201
            assert without_key.json()["id"] != first.json()["id"], "no key: a new one, as ever"
            gone = await http.delete(f"/webhooks/{first.json()['id']}", headers=keyed("w-2"))
            assert gone.status_code == 204
            same(gone, await http.delete(f"/webhooks/{first.json()['id']}", headers=keyed("w-2")))
            reused(await http.delete(f"/webhooks/{without_key.json()['id']}", headers=keyed("w-2")))
            active = {
                s["id"]: s["active"] for s in (await http.get("/webhooks", headers=OPERATOR)).json()
            }
            assert active == {first.json()["id"]: False, without_key.json()["id"]: True}

            # A refused request keeps nothing, not even its key.
            unknown = await http.delete(f"/webhooks/{uuid.uuid4()}", headers=keyed("w-3"))
            assert unknown.status_code == 404
            assert unknown.json()["detail"] == "no such subscription"
            later = await http.delete(f"/webhooks/{without_key.json()['id']}", headers=keyed("w-3"))
            assert later.status_code == 204


async def test_a_replay_with_a_key_is_answered_again_and_appended_once(
    db_url: str, broker: Broker
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    case_id, other_case = uuid.uuid4(), uuid.uuid4()
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port), clock)
        async with (
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            smtp.sink.refuse["typo@school.test"] = "550 5.1.1 no such user"
            await register_person(bus, db_url, "ib-7", "typo@school.test")
            await register_person(bus, db_url, "ib-8", "ib8@school.test")
            await bus.send(claimed(case_id, "ib-7"))
            await bus.send(claimed(other_case, "ib-8"))
            [parked] = await wait_for_status(http, case_id, "parked")
            [other] = await wait_for_status(http, other_case, "sent")
            await register_person(bus, db_url, "ib-7", "ib@school.test")

            replay = f"/messages/{parked['message_id']}/replay"
            first = await http.post(replay, headers=keyed("r-1"))
            assert first.status_code == 202, first.text
            assert first.json() == {"message_id": parked["message_id"], "status": "pending"}
            same(first, await http.post(replay, headers=keyed("r-1")))
            await wait_for_status(http, case_id, "sent")
            same(first, await http.post(replay, headers=keyed("r-1")))
            assert len(smtp.sink.to("ib@school.test")) == 1
            assert (
                await fetchval(
                    db_url,
                    "SELECT count(*) FROM events WHERE event_type = $1",
                    NotificationReplayed.event_type,
                )
                == 1
            )
            # Without a key, as before: the message is no longer parked.
            not_parked = await http.post(replay, headers=OPERATOR)
            assert not_parked.status_code == 409
            assert not_parked.json()["detail"].startswith("message is sent, not parked")
            # The key for another message: refused, whatever that message's state.
            reused(await http.post(f"/messages/{other['message_id']}/replay", headers=keyed("r-1")))
