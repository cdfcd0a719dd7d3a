"""The consumer kit's webhook receiver example takes what the notifications service sends:
it verifies the signature and the timestamp, keeps each delivery once, follows a secret
rotation, and refuses tampered, replayed and foreign deliveries."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from passend_consumerkit.webhooks import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature_header,
)
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.trajectory import EscalatedToTeamNO, StagnationReason
from passend_contracts.integration import minimise
from passend_notifications.channels.outcome import DeliveryFailed
from passend_notifications.channels.webhook import body_bytes, post_webhook

EXAMPLE = Path(__file__).parents[2] / "consumerkit" / "examples" / "webhook_receiver.py"
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
OLD, NEW = "o" * 40, "n" * 40
URL = "http://gemeente.test/hooks/passend"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_receiver", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


example = load_example()


def event_body() -> dict[str, Any]:
    payload = EscalatedToTeamNO(
        case_id=uuid.uuid4(),
        municipality="GM0606",
        reasons=[StagnationReason.WAITING_LIST],
        draft_plan="Overbrugging",
        escalated_at=NOW,
        escalated_by="w-1",
    )
    event = CloudEvent(
        id=uuid.uuid4(),
        source="/passend/trajectory",
        type=payload.event_type,
        subject=str(payload.case_id),
        time=NOW,
        swv="swv-rijnmond",
        correlationid="c",
        causationid="k",
        actor="w-1",
        streamversion=1,
        position=1,
        data=payload.model_dump(mode="json"),
    )
    shown = minimise(event, payload)
    assert shown is not None
    return shown.model_dump(mode="json")


def receiver(tmp_path: Path, *secrets: str, at: datetime = NOW) -> httpx.AsyncClient:
    app = example.make_app(tmp_path / "hooks.sqlite", secrets, clock=lambda: at.timestamp())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app))


async def send(client: httpx.AsyncClient, secrets: list[str], body: dict[str, Any], **kw: Any):
    message = kw.get("message", uuid.uuid4())
    return await post_webhook(client, URL, secrets, message, body["type"], body, kw.get("at", NOW))


def kept(tmp_path: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(tmp_path / "hooks.sqlite")
    try:
        return db.execute("SELECT event_id, event_type FROM received_events").fetchall()
    finally:
        db.close()


async def test_a_signed_delivery_is_kept_once_however_often_it_comes(tmp_path: Path) -> None:
    body, message = event_body(), uuid.uuid4()
    async with receiver(tmp_path, OLD) as client:
        await send(client, [OLD], body, message=message)
        await send(client, [OLD], body, message=message, at=NOW + timedelta(seconds=30))
    assert kept(tmp_path) == [(body["id"], EscalatedToTeamNO.event_type)]


async def test_during_a_rotation_either_secret_verifies_after_it_only_the_new(
    tmp_path: Path,
) -> None:
    body = event_body()
    async with receiver(tmp_path, OLD) as not_switched:
        await send(not_switched, [NEW, OLD], body)
    async with receiver(tmp_path, NEW) as switched:
        await send(switched, [NEW, OLD], body, message=uuid.uuid4())
        await send(switched, [NEW], body, message=uuid.uuid4())
    async with receiver(tmp_path, OLD) as left_behind:
        with pytest.raises(DeliveryFailed, match="HTTP 401"):
            await send(left_behind, [NEW], body)


async def test_replayed_tampered_foreign_and_malformed_deliveries_are_refused(
    tmp_path: Path,
) -> None:
    body = event_body()
    later = NOW + timedelta(minutes=6)
    async with receiver(tmp_path, OLD, at=later) as client:
        with pytest.raises(DeliveryFailed, match="HTTP 401"):
            await send(client, [OLD], body)  # captured at NOW, replayed six minutes on
    async with receiver(tmp_path, OLD) as client:
        with pytest.raises(DeliveryFailed, match="HTTP 401"):
            await send(client, ["f" * 40], body)
        content, message = body_bytes(body), str(uuid.uuid4())
        stamp = int(NOW.timestamp())
        headers = {
            ID_HEADER: message,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: signature_header([OLD], message, stamp, content),
        }
        changed = content.replace(b"GM0606", b"GM0622")
        tampered = await client.post(URL, content=changed, headers=headers)
        assert tampered.status_code == 401
        junk = b'{"not": "an event"}'
        headers[SIGNATURE_HEADER] = signature_header([OLD], message, stamp, junk)
        malformed = await client.post(URL, content=junk, headers=headers)
        assert malformed.status_code == 400
        assert (await client.get(URL)).status_code == 405
    assert kept(tmp_path) == []
