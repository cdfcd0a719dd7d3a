"""`python -m passend_notifications` as an OS process: a claim reaches the IB, SIGTERM stops it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from passend_backbone.auth import Role
from passend_contracts.events.assignment import CaseClaimed
from passend_devstack.infra import Broker, free_port
from passend_devstack.test_tokens import auth_header
from passend_devstack.waiting import eventually
from passend_notifications.domain.messages import message_id
from tests.integration.notifications.kit import (
    SWV,
    Publisher,
    Topics,
    register_person,
    smtp_server,
)
from tests.topics import on_broker

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
AUDITOR = auth_header(Role.AUDITOR, SWV)


class ContractTopics(Topics):
    """The real topic names, as the other services publish them."""

    def for_payload(self, payload):
        return on_broker(payload.topic)


async def test_walking_skeleton_claim_tells_the_ib(db_url: str, broker: Broker) -> None:
    port = free_port()
    case_id = uuid.uuid4()
    with smtp_server() as smtp:
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "KAFKA_BROKER_KIND": broker.kind,
            "HTTP_PORT": str(port),
            "LOG_LEVEL": "warning",
            "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
            "NOTIFICATIONS_SMTP_PORT": str(smtp.port),
            "NOTIFICATIONS_POLL_SECONDS": "0.1",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "passend_notifications",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
                await eventually(lambda: _ready(http), timeout=60, what="service ready")
                async with Publisher(broker, ContractTopics("unused")) as bus:
                    # The IB's address comes from the SWV's directory (assignment's event).
                    await register_person(bus, db_url, "ib-7", "ib@school.test")
                    event = await bus.send(
                        CaseClaimed(
                            case_id=case_id,
                            school_id="s-1",
                            ib_id="ib-7",
                            worker_id="w-1",
                            claimed_at=datetime.now(UTC),
                        )
                    )

                async def told() -> dict | None:
                    response = await http.get(f"/cases/{case_id}/notifications", headers=AUDITOR)
                    if response.status_code != 200:
                        return None
                    messages = response.json()["messages"]
                    if not messages:  # the case is known, its message not scheduled yet
                        return None
                    [message] = messages
                    return message if message["status"] == "sent" else None

                message = await eventually(told, timeout=60, what="the IB told")
                assert message["message_id"] == str(message_id(event.id, "ib", "ib-7"))
                assert (message["recipient_role"], message["recipient_id"]) == ("ib", "ib-7")
                assert message["template"] == "zaak_geclaimd"
                assert [m["To"] for m in smtp.sink.messages] == ["ib@school.test"]
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 20) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _ready(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/health/ready")).status_code == 200
    except httpx.TransportError:
        return False
