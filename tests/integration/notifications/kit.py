"""What the notifications tests run against: the service, SMTP, a webhook receiver, a clock."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import email
import email.policy
import ipaddress
import ssl
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from passend_backbone.auth import Role
from passend_backbone.kafka_settings import producer_settings
from passend_backbone.lifecycle import SHUTDOWN_SECONDS, serve
from passend_backbone.service import ServiceSpec
from passend_backbone.settings import ServiceSettings
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import PersonRegistered
from passend_contracts.events.base import EventPayload
from passend_devstack.infra import Broker, free_port
from passend_devstack.test_tokens import auth_env, auth_header
from passend_devstack.waiting import eventually
from passend_notifications.channels.outcome import DeliveryFailed
from passend_notifications.config import NotificationSettings
from passend_notifications.parents import Parent, ParentDirectory, ParentLink, PupilErased
from passend_notifications.service import build_spec
from passend_notifications.worker import DeliveryWorker

SWV = "swv-rijnmond"
# Seals the webhook secrets at rest (NOTIFICATIONS_WEBHOOK_SECRET_KEY).
WEBHOOK_SECRET_KEY = base64.b64encode(b"k" * 32).decode()
OPERATOR = auth_header(Role.OPERATOR, SWV, subject="op-1")
# Sees every message of every case of the SWV (the operator sees no case content).
AUDITOR = auth_header(Role.AUDITOR, SWV, subject="au-1")
SERVICE = auth_header(Role.SERVICE, SWV, subject="service:intake")


class MovableClock:
    """The wall clock plus an offset tests move forward instead of sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> None:
        self.offset += by


# -- SMTP ----------------------------------------------------------------------------------


class MailSink:
    """aiosmtpd handler keeping every accepted message; some recipients can be refused."""

    def __init__(self, accept_delay: float = 0.0) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}  # address -> SMTP reply, e.g. "550 no such user"
        # Seconds between keeping a message and answering "250": a client that dies then
        # leaves a delivered message it never heard was accepted.
        self.accept_delay = accept_delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        if self.accept_delay:
            await asyncio.sleep(self.accept_delay)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


@dataclasses.dataclass
class SmtpServer:
    sink: MailSink
    port: int


@contextlib.contextmanager
def smtp_server(
    *,
    login: tuple[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
    accept_delay: float = 0.0,
) -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 (in its own thread), optionally requiring AUTH.

    With ``tls`` it offers STARTTLS and refuses mail (and AUTH) before it.
    """
    sink = MailSink(accept_delay)
    port = free_port()
    kwargs: dict[str, Any] = {}
    if tls is not None:
        kwargs.update(tls_context=tls, require_starttls=True)
    if login is not None:

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and (
                    auth_data.login.decode(),
                    auth_data.password.decode(),
                )
                == login
            )
            return AuthResult(success=ok)

        kwargs.update(
            authenticator=authenticator, auth_required=True, auth_require_tls=tls is not None
        )
    controller = Controller(sink, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield SmtpServer(sink, port)
    finally:
        controller.stop()


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 and the PEM a client trusts it with."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "passend test mail")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


# -- webhooks ------------------------------------------------------------------------------


@dataclasses.dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


SLOW = -1  # scripted "status": answer 200, but only after the sender's timeout


class HookReceiver:
    """An HTTP endpoint answering each POST with the next scripted status (200 when none)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: deque[int] = deque()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/passend"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status = self.script.popleft() if self.script else 200
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(headers, body, status))
        if status == SLOW:
            # The endpoint got the request but answers too late: the sender can't know.
            await asyncio.sleep(2)
            status = 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@contextlib.asynccontextmanager
async def hook_receiver() -> AsyncIterator[HookReceiver]:
    receiver = HookReceiver()
    config = uvicorn.Config(receiver, host="127.0.0.1", port=receiver.port, log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: _true(server.started), what="webhook receiver listening")
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


async def _true(value: bool) -> bool:
    return value


# -- the service ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Topics:
    """Topics of one test, so tests sharing the broker don't see each other's events."""

    prefix: str

    @property
    def intake(self) -> str:
        return f"{self.prefix}.intake"

    @property
    def assignment(self) -> str:
        return f"{self.prefix}.assignment"

    @property
    def trajectory(self) -> str:
        return f"{self.prefix}.trajectory"

    @property
    def own(self) -> str:
        return f"{self.prefix}.notifications"

    def for_payload(self, payload: EventPayload) -> str:
        return {
            "passend.intake.events": self.intake,
            "passend.assignment.events": self.assignment,
            "passend.trajectory.events": self.trajectory,
        }[payload.topic]


def fresh_topics() -> Topics:
    return Topics(f"test.{uuid.uuid4().hex[:10]}")


def service_settings(db_url: str, broker: Broker) -> ServiceSettings:
    auth = auth_env()
    return ServiceSettings(
        database_url=db_url,
        kafka_bootstrap_servers=broker.bootstrap_servers,
        kafka_broker_kind=broker.kind,
        http_port=free_port(),
        auth_issuer=auth["AUTH_ISSUER"],
        auth_audience=auth["AUTH_AUDIENCE"],
        auth_jwks=auth["AUTH_JWKS"],
        kafka_topic_prefix="",  # the kit names unique topics of its own (fresh_topics)
    )


def notification_settings(smtp_port: int, **overrides: Any) -> NotificationSettings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_timeout_seconds": 5,
        "webhook_timeout_seconds": 5,
        "lease_seconds": 30,
        "poll_seconds": 0.05,
        "max_attempts": 3,
        "backoff_base_seconds": 60,
        "backoff_cap_seconds": 600,
        "message_id_domain": "test.passend",
        "case_link_base": "https://passend.test/zaken",
        "parent_link_base": "https://passend.test/toestemming",
        "mail_from": "Passend <noreply@passend.test>",
        "webhook_secret_key": WEBHOOK_SECRET_KEY,
        **overrides,
    }
    return NotificationSettings(**values)


def spec_for(
    topics: Topics,
    settings: NotificationSettings,
    clock: MovableClock,
    worker: DeliveryWorker | None = None,
    parents: ParentDirectory | None = None,
) -> ServiceSpec:
    return build_spec(
        settings,
        clock=clock,
        worker=worker
        or DeliveryWorker(
            settings, clock=clock, random=lambda: 0.5, parents=parents or FakeParents()
        ),
        own_topic=topics.own,
        consumes=(topics.intake, topics.assignment, topics.trajectory),
    )


class FakeParents:
    """Plays intake's answer for (case, parent): what the request gave, and the links the
    causing events made. Keyed by the pair, as intake is; a reference alone finds nothing."""

    def __init__(self) -> None:
        self.parents: dict[tuple[uuid.UUID, str], Parent] = {}
        self.links: dict[tuple[uuid.UUID, str, uuid.UUID], ParentLink] = {}
        self.erased: set[uuid.UUID] = set()
        self.asked: list[tuple[str, uuid.UUID, str, uuid.UUID]] = []

    def add(
        self,
        case_id: uuid.UUID,
        parent_ref: str,
        email: str | None,
        name: str = "J. de Vries",
        *,
        school: str | None = "De Havenmeester",
        child: str = "Noor",
    ) -> None:
        self.parents[(case_id, parent_ref)] = Parent(name, email, school, child, None)

    def link(
        self,
        case_id: uuid.UUID,
        parent_ref: str,
        cause: uuid.UUID,
        token: str | None,
        state: str = "open",
        purpose: str = "consent",
    ) -> None:
        expires = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
        self.links[(case_id, parent_ref, cause)] = ParentLink(purpose, token, expires, state)

    async def parent(
        self, swv: str, case_id: uuid.UUID, parent_ref: str, cause: uuid.UUID
    ) -> Parent:
        self.asked.append((swv, case_id, parent_ref, cause))
        if case_id in self.erased:
            raise PupilErased()
        found = self.parents.get((case_id, parent_ref))
        if found is None:
            raise DeliveryFailed("intake does not know this parent", code="no_recipient")
        return dataclasses.replace(found, link=self.links.get((case_id, parent_ref, cause)))


@contextlib.asynccontextmanager
async def running(
    spec: ServiceSpec, settings: ServiceSettings, clock: MovableClock
) -> AsyncIterator[httpx.AsyncClient]:
    """The service in a task until the block ends; yields an HTTP client on its API."""
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(spec, settings, stop, ready=ready, clock=clock))
    await eventually(
        lambda: _true(ready.is_set() or task.done()), timeout=60, what="notifications ready"
    )
    if task.done():
        await task
    base = f"http://127.0.0.1:{settings.http_port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            yield http
    finally:
        stop.set()
        started = time.monotonic()
        await asyncio.wait_for(task, SHUTDOWN_SECONDS + 5)
        assert time.monotonic() - started < SHUTDOWN_SECONDS + 1


class Publisher:
    """Plays the other services: publishes their events as CloudEvents on the test topics."""

    def __init__(self, broker: Broker, topics: Topics) -> None:
        self.broker = broker
        self.topics = topics
        self.producer: AIOKafkaProducer | None = None
        self.position = 0

    async def __aenter__(self) -> Publisher:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.broker.bootstrap_servers,
            **producer_settings(self.broker.kind),  # type: ignore[arg-type]
        )
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.producer is not None
        await self.producer.stop()

    def event(
        self, payload: EventPayload, *, event_id: uuid.UUID | None = None, swv: str = SWV
    ) -> CloudEvent:
        self.position += 1
        data = payload.model_dump(mode="json")
        return CloudEvent(
            id=event_id or uuid.uuid4(),
            source=f"/passend/{payload.topic.split('.')[1]}",
            type=payload.event_type,
            subject=str(data.get("case_id") or data.get("person_id") or data.get("swv_id")),
            time=datetime.now(UTC),
            swv=swv,
            correlationid=f"corr-{self.position}",
            causationid=f"cmd-{self.position}",
            actor="user-1",
            streamversion=self.position,
            position=self.position,
            data=data,
        )

    async def publish(self, event: CloudEvent, topic: str) -> None:
        assert self.producer is not None
        key, headers, value = event.to_kafka()
        await self.producer.send_and_wait(topic, value, key=key, headers=headers)

    async def send(self, payload: EventPayload, **kwargs: Any) -> CloudEvent:
        event = self.event(payload, **kwargs)
        await self.publish(event, self.topics.for_payload(payload))
        return event


async def register_person(
    bus: Publisher,
    db_url: str,
    person_id: str,
    address: str | None,
    name: str | None = None,
    *,
    swv: str = SWV,
    at: datetime | None = None,
) -> None:
    """The directory registers a person (assignment's event), and the service knows them."""
    registered_at = at or datetime.now(UTC)
    await bus.send(
        PersonRegistered(
            swv_id=swv,
            person_id=person_id,
            display_name=name or person_id,
            email=address,
            roles=["ib"],
            registered_at=registered_at,
        ),
        swv=swv,
    )

    async def known() -> bool:
        conn = await asyncpg.connect(db_url)
        try:
            found = await conn.fetchval(
                "SELECT registered_at FROM people WHERE swv = $1 AND person_id = $2",
                swv,
                person_id,
            )
        finally:
            await conn.close()
        return found is not None and found >= registered_at

    await eventually(known, timeout=30, what=f"{person_id} in the directory")


async def put_contact(
    http: httpx.AsyncClient, recipient_id: str, address: str, name: str | None = None
) -> None:
    """An operator sets one of the SWV's functional mailboxes."""
    response = await http.put(
        f"/contacts/{recipient_id}",
        json={"email": address, "display_name": name},
        headers=OPERATOR,
    )
    assert response.status_code == 204, response.text


async def case_messages(http: httpx.AsyncClient, case_id: uuid.UUID) -> list[dict[str, Any]]:
    response = await http.get(f"/cases/{case_id}/notifications", headers=AUDITOR)
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def wait_for_status(
    http: httpx.AsyncClient, case_id: uuid.UUID, status: str, count: int = 1
) -> list[dict[str, Any]]:
    """The case's messages once ``count`` of them show ``status`` in the read model."""

    async def probe() -> list[dict[str, Any]] | None:
        messages = await case_messages(http, case_id)
        done = [m for m in messages if m["status"] == status]
        return messages if len(done) >= count else None

    return await eventually(probe, timeout=30, what=f"{count} message(s) {status}")
