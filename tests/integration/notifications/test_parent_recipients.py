"""W10: each consent e-mail reaches only its own case's parent, named alike in other cases.

Intake and notifications run together on real PostgreSQL, Kafka and SMTP; the parents'
addresses are typed into the requests (as the IB does) and no address is registered by
hand anywhere. Two pupils of two schools both have a parent the schools call ``ouder-1``,
with different addresses: each address gets exactly one e-mail, with the link of its own
case, naming its own child. Then the same with 20 cases submitted and asked at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from passend_backbone.auth import Role
from passend_contracts.events.assignment import SchoolRegistered
from passend_devstack.infra import Broker, Database
from passend_devstack.test_tokens import token_for
from passend_devstack.waiting import eventually
from passend_notifications.config import NotificationSettings
from passend_notifications.service import build_spec
from passend_notifications.worker import DeliveryWorker
from tests.integration.intake.kit import BODY, SWV, Intake, ib, publish, running_intake

from .kit import (
    MovableClock,
    SmtpServer,
    notification_settings,
    running,
    service_settings,
    smtp_server,
)

pytestmark = pytest.mark.integration

LINK_BASE = "https://passend.test/toestemming"
TOKEN = re.compile(re.escape(LINK_BASE) + r"/([A-Za-z0-9_-]{20,100})")


def request_for(school: str, child: str, parent_email: str) -> dict[str, Any]:
    """What an IB types in: the pupil, and the parent as the school calls them, ouder-1."""
    body = copy.deepcopy(BODY)
    body["school_id"] = school
    body["pupil_ref"] = f"{school}-{uuid.uuid4().hex[:8]}"
    body["pupil"]["name"] = f"{child} Jansen"
    body["pupil"]["parents"] = [
        {"parent_ref": "ouder-1", "name": f"Ouder van {child}", "email": parent_email}
    ]
    return body


@dataclass
class Both:
    intake: Intake
    notifications: httpx.AsyncClient
    smtp: SmtpServer


@contextlib.asynccontextmanager
async def intake_and_notifications(
    database: Database, broker: Broker, db_url: str, tokens: Path
) -> AsyncIterator[Both]:
    """Intake, and notifications asking it for parents with a service token of the SWV."""
    (tokens / f"{SWV}.jwt").write_text(
        token_for(Role.SERVICE, SWV, subject="service:notifications")
    )
    clock = MovableClock()
    with smtp_server() as smtp:
        async with running_intake(database, broker) as intake:
            settings: NotificationSettings = notification_settings(
                smtp.port,
                parent_link_base=LINK_BASE,
                intake_url=str(intake.http.base_url),
                service_tokens=str(tokens),
            )
            spec = build_spec(settings, clock=clock, worker=DeliveryWorker(settings, clock=clock))
            # The service's usual topics, in this test module's namespace (as intake's).
            service = service_settings(db_url, broker).model_copy(
                update={"kafka_topic_prefix": os.environ.get("KAFKA_TOPIC_PREFIX", "")}
            )
            async with running(spec, service, clock) as http:
                yield Both(intake, http, smtp)


async def ask_by_link(intake: Intake, case_id: str, school: str) -> None:
    asked = await intake.http.post(
        f"/requests/{case_id}/consent/requests",
        json={"method": "personal_link", "parent_refs": ["ouder-1"], "expires_in_hours": 168},
        headers={**ib(school=school, subject=f"ib-{school}"), "Idempotency-Key": str(uuid.uuid4())},
    )
    assert asked.status_code == 201, asked.text


async def submit(intake: Intake, school: str, body: dict[str, Any]) -> str:
    answer = await intake.http.post(
        "/requests",
        json=body,
        headers={**ib(school=school, subject=f"ib-{school}"), "Idempotency-Key": str(uuid.uuid4())},
    )
    assert answer.status_code == 201, answer.text
    case_id: str = answer.json()["case_id"]
    return case_id


async def case_of_link(intake: Intake, mail: EmailMessage) -> str:
    """The case whose link the e-mail carries, by the token's hash in intake's own table."""
    match = TOKEN.search(mail.get_content())
    assert match, mail.get_content()
    digest = hashlib.sha256(match.group(1).encode()).digest()
    case_id = await intake.pool.fetchval(
        "SELECT case_id FROM consent_links WHERE token_hash = $1", digest
    )
    assert case_id is not None
    return str(case_id)


async def mails_to(smtp: SmtpServer, addresses: list[str]) -> dict[str, list[EmailMessage]]:
    async def all_there() -> dict[str, list[EmailMessage]] | None:
        found = {a: smtp.sink.to(a) for a in addresses}
        return found if all(found.values()) else None

    return await eventually(all_there, timeout=90, what="a consent e-mail at every address")


async def test_w10_two_pupils_parents_both_called_ouder_1_each_get_only_their_own_mail(
    database: Database, broker: Broker, db_url: str, tmp_path: Path
) -> None:
    async with intake_and_notifications(database, broker, db_url, tmp_path) as both:
        intake, smtp = both.intake, both.smtp
        await publish(
            broker,
            SWV,
            *[
                SchoolRegistered(
                    swv_id=SWV,
                    school_id=school,
                    name=name,
                    municipality="GM0622",
                    registered_at=datetime.now(UTC),
                )
                for school, name in (("brin-a", "De Havenmeester"), ("brin-b", "De Vlieger"))
            ],
        )
        case_a = await submit(intake, "brin-a", request_for("brin-a", "Noor", "moeder.noor@a.test"))
        case_b = await submit(intake, "brin-b", request_for("brin-b", "Daan", "moeder.daan@b.test"))
        await ask_by_link(intake, case_a, "brin-a")
        await ask_by_link(intake, case_b, "brin-b")

        mails = await mails_to(smtp, ["moeder.noor@a.test", "moeder.daan@b.test"])
        # A moment more: a wrong second delivery would be sent by now.
        await asyncio.sleep(1)
        [to_a] = smtp.sink.to("moeder.noor@a.test")
        [to_b] = smtp.sink.to("moeder.daan@b.test")
        assert len(smtp.sink.messages) == 2
        assert await case_of_link(intake, to_a) == case_a
        assert await case_of_link(intake, to_b) == case_b
        assert "Noor" in to_a["Subject"] and "Daan" not in to_a.get_content()
        assert "Daan" in to_b["Subject"] and "Noor" not in to_b.get_content()
        assert to_a.get_content().startswith("Beste Ouder van Noor,")
        assert "De Vlieger" in to_b.get_content() and "De Havenmeester" not in to_b.get_content()
        assert mails


async def test_w10_twenty_cases_at_once_each_parent_gets_their_own_link_once(
    database: Database, broker: Broker, db_url: str, tmp_path: Path
) -> None:
    async with intake_and_notifications(database, broker, db_url, tmp_path) as both:
        intake, smtp = both.intake, both.smtp
        schools = [f"brin-{n:02d}" for n in range(20)]
        address = {school: f"ouder-1.{school}@thuis.test" for school in schools}
        submitted = await asyncio.gather(
            *(
                submit(intake, school, request_for(school, f"Kind{n}", address[school]))
                for n, school in enumerate(schools)
            )
        )
        case_of = dict(zip(schools, submitted, strict=True))
        await asyncio.gather(*(ask_by_link(intake, case_of[s], s) for s in schools))

        await mails_to(smtp, list(address.values()))
        await asyncio.sleep(1)
        assert len(smtp.sink.messages) == 20
        for n, school in enumerate(schools):
            [mail] = smtp.sink.to(address[school])
            assert await case_of_link(intake, mail) == case_of[school]
            assert f"Kind{n}" in mail["Subject"]
