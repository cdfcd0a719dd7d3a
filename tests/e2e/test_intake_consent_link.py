"""Consent by personal link reaches the bus, assignment and trajectory; a reused link is refused;
and on `make up` the consent e-mail with the link reaches the address typed into the request."""

from __future__ import annotations

import email
import email.policy
import tempfile
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_backbone.auth import Role
from passend_backbone.auth.keys import IssuerKey
from passend_backbone.auth.principal import Principal
from passend_backbone.auth.tokens import mint
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_devstack.infra import Broker, Database, free_port
from passend_devstack.stack import DEV_AUDIENCE, DEV_ISSUER, issuer_dir
from passend_devstack.test_tokens import auth_env, auth_header
from passend_devstack.waiting import eventually
from tests.conftest import create_database
from tests.e2e.test_assignment_flow import _ready, processes
from tests.e2e.test_devstack import stack_up
from tests.topics import on_broker

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "assignment", "trajectory", "notifications")
SWV = "swv-waterweg"
SCHOOL = "brin-11aa"
PARENT = "ouder-1"
PARENT_ADDRESS = "m.visser@example.nl"


def _submission() -> dict[str, Any]:
    return {
        "school_id": SCHOOL,
        "addressed_worker_id": "ow-anouk",
        "pupil_ref": f"leerling-{uuid.uuid4().hex[:6]}",
        "pupil": {
            "name": "Noor Visser",
            "date_of_birth": "2017-05-12",
            "parents": [
                {"parent_ref": PARENT, "name": "M. Visser", "email": "m.visser@example.nl"}
            ],
        },
        "levels": ["pupil"],
        "educational_need": "Leest traag en de spelling blijft achter bij de groep.",
        "tried_in_basic_support": "Acht weken extra leesbeurten en een leesmaatje.",
        "why_stuck": "Geen groei op de toetsen; de leerkracht weet niet wat nog helpt.",
        "multiple_problems": False,
        "specialist_advised": False,
    }


async def _on_the_bus(broker: Broker, case_id: str, event_type: str) -> CloudEvent:
    """Read intake's topic from the start until ``event_type`` for the case shows up."""
    consumer = AIOKafkaConsumer(
        on_broker(topics.INTAKE),
        bootstrap_servers=broker.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:

        async def found() -> CloudEvent | None:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    event = CloudEvent.from_kafka(record.headers, record.value)
                    if event.subject == case_id and event.type == event_type:
                        return event
            return None

        return await eventually(found, timeout=60, interval=0, what=f"{event_type} on the bus")
    finally:
        await consumer.stop()


async def test_parent_confirms_by_link_and_trajectory_sees_it(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    env_of = {}
    for name in SERVICES:
        env_of[name] = {
            **auth_env(),
            "DATABASE_URL": await create_database(database, prefix=f"e2e_ic_{name}"),
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "KAFKA_BROKER_KIND": broker.kind,
            "HTTP_PORT": str(free_port()),
            "LOG_FORMAT": "console",
        }
    env_of["assignment"][ENV_VAR] = str(DEV_FILE)
    ib = auth_header(Role.IB, SWV, subject="ib-marieke", school_id=SCHOOL)
    anouk = auth_header(Role.SUPPORT_WORKER, SWV, subject="ow-anouk", work_unit_id="wu-vlaardingen")

    with processes(env_of, tmp_path) as urls:
        async with httpx.AsyncClient(timeout=10) as http:
            await _ready(http, urls, tmp_path)
            intake = urls["intake"]
            submitted = await http.post(
                f"{intake}/requests",
                headers={**ib, "Idempotency-Key": str(uuid.uuid4())},
                json=_submission(),
            )
            assert submitted.status_code == 201, submitted.text
            case_id = submitted.json()["case_id"]

            async def in_inbox() -> bool:
                r = await http.get(f"{urls['assignment']}/workers/ow-anouk/inbox", headers=anouk)
                return r.status_code == 200 and any(c["case_id"] == case_id for c in r.json())

            await eventually(in_inbox, timeout=60, what="request in the worker's inbox")
            claimed = await http.post(f"{urls['assignment']}/cases/{case_id}/claim", headers=anouk)
            assert claimed.status_code == 200, claimed.text

            asked = await http.post(
                f"{intake}/requests/{case_id}/consent/requests",
                headers=ib,
                json={"method": "personal_link", "parent_refs": [PARENT], "expires_in_hours": 72},
            )
            assert asked.status_code == 201, asked.text
            (link,) = asked.json()["links"]
            page = await http.get(f"{intake}{link['url']}")
            assert page.json()["state"] == "open"

            confirmed = await http.post(f"{intake}{link['url']}/confirm")
            assert confirmed.status_code == 201, confirmed.text
            reused = await http.post(f"{intake}{link['url']}/confirm")
            assert reused.status_code == 410

            event = await _on_the_bus(broker, case_id, "nl.passend.intake.ConsentConfirmed.v1")
            assert event.data["confirmed_by"] == PARENT
            assert event.data["method"] == "personal_link"
            assert link["token"] not in str(event.data)

            async def trajectory_consent() -> Any:
                r = await http.get(
                    f"{urls['trajectory']}/cases/{case_id}/trajectory", headers=anouk
                )
                if r.status_code != 200:
                    return None
                consent = r.json().get("consent")
                return consent if consent and consent["status"] == "confirmed" else None

            consent = await eventually(trajectory_consent, timeout=60, what="consent in trajectory")
            assert consent["by"] == PARENT

            async def assignment_consent() -> Any:
                r = await http.get(f"{urls['assignment']}/cases/{case_id}", headers=anouk)
                if r.status_code != 200:
                    return None
                consent = r.json().get("consent")
                return consent if consent and consent["status"] == "confirmed" else None

            seen = await eventually(assignment_consent, timeout=60, what="consent in assignment")
            assert seen["confirmed_by"] == PARENT
            assert seen["method"] == "personal_link"
            assert seen["individual_support_allowed"] is True

            async def intake_consent() -> Any:
                r = await http.get(f"{intake}/requests/{case_id}/consent", headers=ib)
                return (
                    r.json() if r.status_code == 200 and r.json()["status"] == "confirmed" else None
                )

            state = await eventually(intake_consent, timeout=30, what="consent in intake")
            assert state["individual_support_allowed"] is True


async def test_w10_on_make_up_the_address_in_the_request_gets_the_consent_mail_with_the_link() -> (
    None
):
    """`passend-dev up` as a new user runs it: the parent's address typed into the request
    reaches the parent with the personal link (a portal page), with nothing registered by
    hand; notifications asks intake with the service token the dev stack minted."""
    with tempfile.TemporaryDirectory(prefix="passend-consent-", ignore_cleanup_errors=True) as tmp:
        data_dir = Path(tmp) / "dev"
        with stack_up(data_dir, services=0, timeout=150) as stack:
            assert "Could not register" not in stack.output, stack.output
            assert list((data_dir / "service-tokens").glob(f"{SWV}.jwt"))
            intake = stack.url("intake")
            principal = Principal(subject="ib-marieke", role=Role.IB, swv=SWV, school_id=SCHOOL)
            ib = {"Authorization": f"Bearer {_dev_token(data_dir, principal)}"}
            async with httpx.AsyncClient(timeout=10) as http:
                submitted = await http.post(
                    f"{intake}/requests",
                    headers={**ib, "Idempotency-Key": str(uuid.uuid4())},
                    json=_submission(),
                )
                assert submitted.status_code == 201, submitted.text
                case_id = submitted.json()["case_id"]
                asked = await http.post(
                    f"{intake}/requests/{case_id}/consent/requests",
                    headers={**ib, "Idempotency-Key": str(uuid.uuid4())},
                    json={
                        "method": "personal_link",
                        "parent_refs": [PARENT],
                        "expires_in_hours": 72,
                    },
                )
                assert asked.status_code == 201, asked.text
                (link,) = asked.json()["links"]

            async def parent_mail() -> list[EmailMessage] | None:
                return [m for m in _mails(data_dir / "mail") if m["To"] == PARENT_ADDRESS] or None

            [mail] = await eventually(parent_mail, timeout=90, what="the parent's .eml")
            body = mail.get_content()
            portal = stack.url("portal")
            assert f"{portal}/toestemming/{link['token']}" in body
            assert mail["Subject"] == "Uw toestemming gevraagd: begeleiding van Noor"
        assert stack.process.returncode == 0, stack.output


def _dev_token(data_dir: Path, principal: Principal) -> str:
    key = IssuerKey(issuer_dir(data_dir))
    return mint(key, principal, issuer=DEV_ISSUER, audience=DEV_AUDIENCE)


def _mails(folder: Path) -> list[EmailMessage]:
    found = []
    for path in sorted(folder.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found
