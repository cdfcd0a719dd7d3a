"""Killed between SMTP "accepted" and recording it: nobody skipped, one bounded resend."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from passend_contracts.events.assignment import CaseClaimed
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from passend_notifications.domain.messages import message_id

from .kit import (
    MovableClock,
    Publisher,
    Topics,
    fresh_topics,
    notification_settings,
    put_contact,
    running,
    service_settings,
    smtp_server,
    spec_for,
    wait_for_status,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
LEASE_SECONDS = 30
ROOT = Path(__file__).resolve().parents[3]


async def start_crashing_service(
    db_url: str, broker: Broker, topics: Topics, http_port: int, smtp_port: int
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "KAFKA_BROKER_KIND": broker.kind,
        "HTTP_PORT": str(http_port),
        "LOG_LEVEL": "warning",
        "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "NOTIFICATIONS_SMTP_PORT": str(smtp_port),
        "NOTIFICATIONS_SMTP_TIMEOUT_SECONDS": "5",
        "NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS": "5",
        "NOTIFICATIONS_LEASE_SECONDS": str(LEASE_SECONDS),
        "NOTIFICATIONS_POLL_SECONDS": "0.05",
        "NOTIFICATIONS_MESSAGE_ID_DOMAIN": "test.passend",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.notifications.crashing_service",
        topics.prefix,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_crash_after_smtp_accepted_resends_once_with_the_same_message_id(
    db_url: str, broker: Broker
) -> None:
    topics = fresh_topics()
    cases = {f"ib-{n}": uuid.uuid4() for n in range(3)}
    with smtp_server() as smtp:
        settings = service_settings(db_url, broker)
        process = await start_crashing_service(
            db_url, broker, topics, settings.http_port, smtp.port
        )
        try:
            base = f"http://127.0.0.1:{settings.http_port}"
            async with httpx.AsyncClient(base_url=base, timeout=5) as http:
                await eventually(lambda: _ready(http), timeout=60, what="crashing service ready")
                for ib in cases:
                    await put_contact(http, ib, f"{ib}@school.test")
            async with Publisher(broker, topics) as bus:
                events = {
                    ib: await bus.send(
                        CaseClaimed(
                            case_id=case_id,
                            school_id="s-1",
                            ib_id=ib,
                            worker_id="w-1",
                            claimed_at=NOW,
                        )
                    )
                    for ib, case_id in cases.items()
                }
            code = await asyncio.wait_for(process.wait(), 60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert code == -9, "the service killed itself right after the first send"
        [crashed_mail] = smtp.sink.messages
        crashed_ib = crashed_mail["To"].split("@")[0]
        assert await _sent_events(db_url) == [], "killed before NotificationSent was recorded"

        # Restart the real service on the same database. Its clock is past the lease of
        # the message that was in flight, so that one is taken over as "maybe delivered".
        clock = MovableClock()
        clock.advance(timedelta(seconds=LEASE_SECONDS + 1))
        spec = spec_for(topics, notification_settings(smtp.port), clock)
        async with running(spec, service_settings(db_url, broker), clock) as http:
            for case_id in cases.values():
                await wait_for_status(http, case_id, "sent")

    expected = {ib: f"<{message_id(events[ib].id, 'ib', ib)}@test.passend>" for ib in cases}
    received: dict[str, list[str]] = {ib: [] for ib in cases}
    for mail in smtp.sink.messages:
        received[mail["To"].split("@")[0]].append(str(mail["Message-ID"]))
    # None skipped: every IB was told, under the one Message-ID of (event, recipient).
    assert {ib: set(ids) for ib, ids in received.items()} == {
        ib: {mid} for ib, mid in expected.items()
    }
    # The bounded trade-off: only the message in flight at the crash went out twice.
    assert sorted(len(ids) for ids in received.values()) == [1, 1, 2]
    assert len(received[crashed_ib]) == 2

    sent = await _sent_events(db_url)
    assert len(sent) == 3, "exactly one NotificationSent per message"
    flagged = {row["recipient_id"]: (row["attempt"], row["possible_duplicate"]) for row in sent}
    assert flagged[crashed_ib] == (2, True), "the auditor sees which message may be doubled"
    assert all(v == (1, False) for ib, v in flagged.items() if ib != crashed_ib)
    assert await _count(db_url, "NotificationScheduled") == 3, "scheduled once despite restart"


async def _ready(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/health/ready")).status_code == 200
    except httpx.TransportError:
        return False


async def _sent_events(db_url: str) -> list[dict[str, object]]:
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch(
            "SELECT data::text AS data FROM events WHERE event_type = $1 ORDER BY position",
            "nl.passend.notifications.NotificationSent.v1",
        )
    finally:
        await conn.close()
    return [json.loads(r["data"]) for r in rows]


async def _count(db_url: str, kind: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM events WHERE event_type = $1",
            f"nl.passend.notifications.{kind}.v1",
        )
    finally:
        await conn.close()
    return count
