"""Killed between SMTP "accepted" and recording it: nobody skipped, one bounded resend; and
killed ten times while 200 messages are due: every message arrives, none more than twice."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from passend_contracts.events.assignment import CaseClaimed, PersonRegistered
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from passend_notifications.channels.email import POSSIBLE_DUPLICATE_HEADER
from passend_notifications.domain.messages import message_id
from passend_notifications.service import build_spec
from tests.topics import apply_for

from .kit import (
    SWV,
    MovableClock,
    Publisher,
    Topics,
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
LEASE_SECONDS = 30
ROOT = Path(__file__).resolve().parents[3]


async def start_crashing_service(
    db_url: str,
    broker: Broker,
    topics: Topics,
    http_port: int,
    smtp_port: int,
    *,
    plain: bool = False,
    lease_seconds: int = LEASE_SECONDS,
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "KAFKA_BROKER_KIND": broker.kind,
        "KAFKA_TOPIC_PREFIX": "",  # the kit names unique topics of its own
        "HTTP_PORT": str(http_port),
        "LOG_LEVEL": "warning",
        "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "NOTIFICATIONS_SMTP_PORT": str(smtp_port),
        "NOTIFICATIONS_SMTP_TIMEOUT_SECONDS": "5",
        "NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS": "5",
        "NOTIFICATIONS_LEASE_SECONDS": str(lease_seconds),
        "NOTIFICATIONS_POLL_SECONDS": "0.05",
        "NOTIFICATIONS_MESSAGE_ID_DOMAIN": "test.passend",
    }
    # The operator's topics step for the kit's topics (the service creates none).
    spec = build_spec(
        own_topic=f"{topics.prefix}.notifications",
        consumes=(
            f"{topics.prefix}.intake",
            f"{topics.prefix}.assignment",
            f"{topics.prefix}.trajectory",
        ),
    )
    await apply_for(broker.bootstrap_servers, spec, prefix="")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.notifications.crashing_service",
        topics.prefix,
        *(["--plain"] if plain else []),
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
            async with Publisher(broker, topics) as bus:
                for ib in cases:
                    await register_person(bus, db_url, ib, f"{ib}@school.test")
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
    # The bounded trade-off: only the message in flight at the crash went out twice, and
    # its second copy says it may be a duplicate.
    assert sorted(len(ids) for ids in received.values()) == [1, 1, 2]
    assert len(received[crashed_ib]) == 2
    copies = [m for m in smtp.sink.messages if m["To"].startswith(f"{crashed_ib}@")]
    assert [m[POSSIBLE_DUPLICATE_HEADER] for m in copies] == [None, "yes"]

    sent = await _sent_events(db_url)
    assert len(sent) == 3, "exactly one NotificationSent per message"
    flagged = {row["recipient_id"]: (row["attempt"], row["possible_duplicate"]) for row in sent}
    assert flagged[crashed_ib] == (2, True), "the auditor sees which message may be doubled"
    assert all(v == (1, False) for ib, v in flagged.items() if ib != crashed_ib)
    assert await _count(db_url, "NotificationScheduled") == 3, "scheduled once despite restart"


MESSAGES = 200
KILLS = 10


# Ten restarts of a process, each waiting for readiness: minutes on a loaded two-core machine.
@pytest.mark.timeout(600)
async def test_killed_ten_times_while_200_messages_are_due_none_missing_none_thrice(
    db_url: str, broker: Broker
) -> None:
    """SIGKILL at random moments while the service delivers (the mail server keeps each
    message 50 ms before answering "250", so many kills fall after the server has it and
    before the service heard so). The lease is the default two minutes: a message of a
    dead process is taken over at once (its owner's lock went with the process), not
    after the lease, so the whole run takes seconds, not twenty minutes."""
    topics = fresh_topics()
    ibs = [f"ib-{n:03d}" for n in range(MESSAGES)]
    rng = random.Random(17)
    with smtp_server(accept_delay=0.05) as smtp:
        http_port = service_settings(db_url, broker).http_port
        base = f"http://127.0.0.1:{http_port}"

        async def start() -> asyncio.subprocess.Process:
            process = await start_crashing_service(
                db_url, broker, topics, http_port, smtp.port, plain=True, lease_seconds=120
            )
            async with httpx.AsyncClient(base_url=base, timeout=5) as http:
                await eventually(lambda: _ready(http), timeout=60, what="service ready")
            return process

        process = await start()
        kills = 0
        try:
            async with Publisher(broker, topics) as bus:
                for ib in ibs:
                    await bus.send(
                        PersonRegistered(
                            swv_id=SWV,
                            person_id=ib,
                            display_name=ib,
                            email=f"{ib}@school.test",
                            roles=["ib"],
                            registered_at=NOW,
                        )
                    )
                await eventually(
                    lambda: _equals(_fetch_count(db_url, "SELECT count(*) FROM people"), MESSAGES),
                    timeout=60,
                    what="the directory's 200 IBs",
                )
                events = {
                    ib: await bus.send(
                        CaseClaimed(
                            case_id=uuid.uuid4(),
                            school_id="s-1",
                            ib_id=ib,
                            worker_id="w-1",
                            claimed_at=NOW,
                        )
                    )
                    for ib in ibs
                }
            sent_at_kill = []
            while kills < KILLS:
                # Once this run delivers, kill it at a random moment.
                before: int = len(smtp.sink.messages)

                async def delivering(before: int = before) -> bool:
                    return len(smtp.sink.messages) > before

                await eventually(
                    delivering,
                    timeout=60,
                    interval=0.01,
                    what="delivery under way",
                )
                await asyncio.sleep(rng.uniform(0.02, 0.3))
                process.kill()
                await process.wait()
                kills += 1
                sent_at_kill.append(await _fetch_count(db_url, SENT))
                process = await start()
            await eventually(
                lambda: _equals(_fetch_count(db_url, SENT), MESSAGES),
                timeout=120,
                what="every message sent",
            )
        finally:
            if process.returncode is None:
                process.terminate()
                await process.wait()

    expected = {f"<{message_id(events[ib].id, 'ib', ib)}@test.passend>": ib for ib in ibs}
    copies = Counter(str(m["Message-ID"]) for m in smtp.sink.messages)
    histogram = Counter(copies.values())
    print(
        f"\n{kills} kills while {MESSAGES} messages were due "
        f"(sent when killed: {sent_at_kill}); {len(smtp.sink.messages)} e-mails received; "
        f"copies per Message-ID: "
        + ", ".join(
            f"{n} cop{'y' if n == 1 else 'ies'}: {count}" for n, count in sorted(histogram.items())
        )
    )
    assert kills == KILLS
    assert all(n < MESSAGES for n in sent_at_kill), "every kill fell while messages were due"
    # None missing, none unknown, each to its own IB.
    assert set(copies) == set(expected)
    for mail in smtp.sink.messages:
        assert mail["To"] == f"{expected[str(mail['Message-ID'])]}@school.test"
    # None more than twice; a second copy says it may be one.
    assert max(copies.values()) <= 2
    for message, count in copies.items():
        if count == 2:
            first, second = [m for m in smtp.sink.messages if str(m["Message-ID"]) == message]
            assert first[POSSIBLE_DUPLICATE_HEADER] is None
            assert second[POSSIBLE_DUPLICATE_HEADER] == "yes"
    # The record: one NotificationSent per message, flagged wherever a copy may be twice.
    sent = await _sent_events(db_url)
    assert len(sent) == MESSAGES
    flagged = {str(row["message_id"]) for row in sent if row["possible_duplicate"]}
    doubled = {
        str(uuid.UUID(message.strip("<>").split("@")[0]))
        for message, count in copies.items()
        if count == 2
    }
    assert doubled <= flagged


SENT = "SELECT count(*) FROM deliveries WHERE status = 'sent'"


async def _fetch_count(db_url: str, sql: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        count: int = await conn.fetchval(sql)
    finally:
        await conn.close()
    return count


async def _equals(value: object, expected: object) -> bool:
    return (await value) == expected  # type: ignore[misc]


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
