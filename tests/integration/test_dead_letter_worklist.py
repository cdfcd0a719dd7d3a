"""Dead letters are an operator's worklist: listed with the reason in words, acknowledged
(who and why) so rebuilds pass over them knowingly, replayed once after a fix."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from passend_backbone.audit.readlog import MIGRATIONS as AUDIT_MIGRATIONS
from passend_backbone.auth import install_verifier
from passend_backbone.auth.keys import KeySet
from passend_backbone.auth.tokens import TokenVerifier
from passend_backbone.consumer.subscribers import Consumers
from passend_backbone.db import migrate
from passend_backbone.deadletters.api import dead_letter_router
from passend_backbone.deadletters.desk import DeadLetterDesk
from passend_backbone.http_errors import install_backbone_error_handlers
from passend_backbone.opscli import run_ops_command
from passend_backbone.service import ServiceSpec
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import ConsentRequested
from passend_devstack.infra import Broker
from passend_devstack.test_tokens import AUDIENCE, ISSUER, auth_header, issuer_key
from passend_devstack.waiting import eventually
from tests.integration.consumer_crash_worker import (
    POISON,
    CountingProjection,
    consent_requested,
    counts,
    create_topic,
    produce,
)

pytestmark = pytest.mark.integration


class FixableProjection(CountingProjection):
    """The counting projection with its poison bug, until a test "deploys the fix"."""

    fixed = False

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        if self.fixed and isinstance(payload, ConsentRequested):
            payload = payload.model_copy(update={"requested_by": "fixed"})
        await super().handle(conn, event, payload)


def spec_of(projection: FixableProjection) -> ServiceSpec:
    return ServiceSpec(
        name="svc",
        topic="svc.events",
        migrations="passend_backbone.migrations",
        create_app=lambda ctx: FastAPI(),
        projections=(projection,),
    )


@pytest.fixture
async def db(pool: asyncpg.Pool) -> asyncpg.Pool:
    await migrate(pool, ["passend_backbone.migrations"])
    return pool


@pytest.fixture
def env(db_url: str, broker: Broker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
    monkeypatch.setenv("KAFKA_BROKER_KIND", broker.kind)
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", "")  # the test's topic is unique already


@pytest.fixture
async def live(
    db: asyncpg.Pool, broker: Broker, topic_name: str
) -> AsyncIterator[tuple[Consumers, FixableProjection]]:
    await create_topic(broker.bootstrap_servers, topic_name)
    projection = FixableProjection(topic_name)
    runner = Consumers(
        service="svc",
        pool=db,
        bootstrap=broker.bootstrap_servers,
        kind=broker.kind,  # type: ignore[arg-type]
        projections=[projection],
        retries=2,
    )
    await runner.start()
    yield runner, projection
    await runner.stop()


async def ops(spec: ServiceSpec, *argv: str) -> tuple[int, str, str]:
    """``passend-svc <argv>`` in a thread (it runs its own event loop): code, stdout, stderr."""

    def call() -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run_ops_command(spec, list(argv))
        return code, out.getvalue(), err.getvalue()

    return await asyncio.to_thread(call)


def outcome_of(out: str, dead_letter: str) -> str:
    """The outcome the CLI printed for ``dead_letter`` (``<id>: <outcome>: <message>``)."""
    [line] = [ln for ln in out.splitlines() if ln.startswith(dead_letter + ": ")]
    return line[len(dead_letter) + 2 :].split(": ")[0]


async def listed(spec: ServiceSpec, count: int) -> list[dict[str, object]]:
    """The JSON list once it holds ``count`` dead letters (they arrive after the retries)."""
    found: list[dict[str, object]] = []

    async def enough() -> bool:
        nonlocal found
        code, out, _ = await ops(spec, "dead-letters", "list", "--json")
        # The live consumer logs to the same stdout meanwhile: only the JSON lines.
        found = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        return code == 0 and len(found) >= count

    await eventually(enough, timeout=60, what=f"{count} dead letters listed")
    return found


async def test_poison_is_listed_acknowledged_passed_over_by_a_rebuild_and_replayed_once(
    db: asyncpg.Pool,
    broker: Broker,
    topic_name: str,
    env: None,
    live: tuple[Consumers, FixableProjection],
) -> None:
    _, projection = live
    spec = spec_of(FixableProjection(topic_name))
    good, poisoned_case = uuid.uuid4(), uuid.uuid4()
    poison = consent_requested(poisoned_case, requested_by=POISON)
    key, headers, _ = consent_requested(good).to_kafka()
    await produce(
        broker.bootstrap_servers,
        broker.kind,
        topic_name,
        [consent_requested(good), poison],
        # A garbage record: zero bytes make a JSON parser guess UTF-16.
        raw=[(key, headers, b"\x00\x9c\xff\x00 garbage")],
    )

    # Listed by the CLI, per consumer, with the reason in words.
    letters = await listed(spec, 2)
    by_code = {str(d["reason_code"]): d for d in letters}
    assert set(by_code) == {"handler-failed", "not-text"}
    assert "Poisoned" in str(by_code["handler-failed"]["reason"])
    assert "not UTF-8 text" in str(by_code["not-text"]["reason"])
    assert "codec" not in str(by_code["not-text"]["reason"])
    assert {d["status"] for d in letters} == {"open"}
    code, text, _ = await ops(spec, "dead-letters", "list")
    assert code == 0
    assert "case_counts: 2 dead letter(s), 2 open" in text
    poison_id, garbage_id = str(by_code["handler-failed"]["id"]), str(by_code["not-text"]["id"])
    code, shown, _ = await ops(spec, "dead-letters", "show", poison_id)
    assert code == 0 and str(poison.id) in shown and POISON in shown

    # Before any acknowledgement, a rebuild fails on both and says how to acknowledge.
    code, _, err = await ops(spec, "rebuild", "case_counts", "--workers", "1")
    assert code == 1
    assert err.count("not applied:") == 2
    assert f"dead-letters acknowledge {garbage_id}" in err

    # Acknowledged (who and why); doing it again changes nothing.
    why = "garbage from a test producer, nothing to apply"
    for _ in range(2):
        code, out, _ = await ops(
            spec, "dead-letters", "acknowledge", garbage_id, "--why", why, "--by", "op-jan"
        )
        assert code == 0
    assert "already acknowledged by op-jan" in out
    code, out, _ = await ops(
        spec, "dead-letters", "acknowledge", poison_id, "--why", "fix comes", "--by", "op-jan"
    )
    assert code == 0
    rows = await db.fetch("SELECT resolution, resolved_by, reason FROM dead_letter_resolutions")
    assert sorted(tuple(r) for r in rows) == [
        ("acknowledged", "op-jan", "fix comes"),
        ("acknowledged", "op-jan", why),
    ]

    # The next rebuild exits 0 and reports both as acknowledged.
    code, _, err = await ops(spec, "rebuild", "case_counts", "--workers", "1")
    assert code == 0, err
    assert err.count("acknowledged, not applied:") == 2
    assert "not applied: " + topic_name not in err.replace("acknowledged, not applied: ", "")
    assert "acknowledged by op-jan" in err
    assert await counts(db) == {str(good): 1}

    # After a fix, a replay applies the poison once; replaying again changes nothing.
    spec.projections[0].fixed = True  # type: ignore[attr-defined]
    code, out, _ = await ops(spec, "dead-letters", "replay", poison_id, "--by", "op-jan")
    assert (code, outcome_of(out, poison_id)) == (0, "applied"), out
    code, out, _ = await ops(spec, "dead-letters", "replay", poison_id, "--by", "op-jan")
    assert (code, outcome_of(out, poison_id)) == (0, "already-applied"), out
    assert await counts(db) == {str(good): 1, str(poisoned_case): 1}
    [status] = [d["status"] for d in await listed(spec, 2) if d["id"] == poison_id]
    assert status == "replayed"

    # The garbage still can't be read: its replay fails and changes nothing.
    code, out, _ = await ops(spec, "dead-letters", "replay", garbage_id)
    assert code == 1 and "still can't be read" in out
    assert projection.fixed is False  # the live consumer's projection was never touched


async def test_replay_all_applies_every_open_dead_letter_after_a_fix(
    db: asyncpg.Pool,
    broker: Broker,
    topic_name: str,
    env: None,
    live: tuple[Consumers, FixableProjection],
) -> None:
    spec = spec_of(FixableProjection(topic_name))
    cases = [uuid.uuid4() for _ in range(2)]
    await produce(
        broker.bootstrap_servers,
        broker.kind,
        topic_name,
        [consent_requested(c, requested_by=POISON) for c in cases],
    )
    await listed(spec, 2)
    code, out, _ = await ops(spec, "dead-letters", "replay", "--all", "--consumer", "case_counts")
    assert code == 1 and out.count(": failed: the consumer failed on it again") == 2
    spec.projections[0].fixed = True  # type: ignore[attr-defined]
    code, out, _ = await ops(spec, "dead-letters", "replay", "--all", "--consumer", "case_counts")
    assert code == 0 and out.count(": applied:") == 2
    assert await counts(db) == {str(c): 1 for c in cases}
    code, out, _ = await ops(spec, "dead-letters", "replay", "--all", "--consumer", "case_counts")
    assert code == 0 and "0 open dead letter(s)" in out
    code, _, err = await ops(spec, "dead-letters", "show", "case_counts:nope:0:1")
    assert code == 1 and "no dead letter" in err


async def test_the_service_api_lets_only_an_operator_list_show_acknowledge_and_replay(
    db: asyncpg.Pool,
    broker: Broker,
    topic_name: str,
    live: tuple[Consumers, FixableProjection],
) -> None:
    await migrate(db, [AUDIT_MIGRATIONS])
    projection = FixableProjection(topic_name)
    desk = DeadLetterDesk(
        service="svc", pool=db, bootstrap=broker.bootstrap_servers, projections=[projection]
    )
    app = FastAPI()
    install_backbone_error_handlers(app)
    install_verifier(
        app.state,
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=KeySet(str(issuer_key().jwks_path))),
    )
    app.include_router(dead_letter_router(desk))
    operator = auth_header("operator", "swv-waterweg", subject="op-jan")
    cases = [uuid.uuid4() for _ in range(2)]
    poisons = [consent_requested(c, requested_by=POISON) for c in cases]
    await produce(broker.bootstrap_servers, broker.kind, topic_name, poisons)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        base = "/operator/dead-letters"
        for role in ("education_specialist", "auditor", "ib"):
            answer = await http.get(base, headers=auth_header(role, "swv-waterweg"))
            assert answer.status_code == 403, role

        async def both_listed() -> bool:
            answer = await http.get(base, headers=operator)
            return bool(answer.json()["consumers"][0]["open"] == 2)

        await eventually(both_listed, timeout=60, what="two dead letters over the API")
        [listing] = (await http.get(base, headers=operator)).json()["consumers"]
        assert listing["name"] == "case_counts" and listing["group"] == "svc.case_counts"
        first, second = (d["id"] for d in listing["dead_letters"])
        replayed_case = listing["dead_letters"][1]["case_id"]
        assert all("record" not in d for d in listing["dead_letters"])  # no bodies in a list

        shown = (await http.get(f"{base}/{first}", headers=operator)).json()
        assert (
            shown["reason_code"] == "handler-failed" and POISON in shown["record"]["value"]["text"]
        )
        reads = await db.fetch("SELECT reader, reader_role, case_id::text, swv FROM case_reads")
        assert [tuple(r) for r in reads] == [("op-jan", "operator", shown["case_id"], "swv-test")]

        answer = await http.post(f"{base}/{first}/acknowledge", headers=operator, json={})
        assert answer.status_code == 422
        for recorded in (True, False):
            answer = await http.post(
                f"{base}/{first}/acknowledge", headers=operator, json={"reason": "test data"}
            )
            assert answer.status_code == 200
            assert answer.json()["recorded"] is recorded
            assert answer.json()["dead_letter"]["resolution"]["resolved_by"] == "op-jan"

        projection.fixed = True
        answer = await http.post(f"{base}/{second}/replay", headers=operator)
        assert answer.json()["outcome"] == "applied"
        answer = await http.post(f"{base}/replay?consumer=case_counts", headers=operator)
        assert answer.json() == {"outcomes": []}  # the one left is acknowledged, not open
        assert await counts(db) == {replayed_case: 1}

        assert (await http.get(f"{base}/nonsense", headers=operator)).status_code == 422
        missing = await http.get(f"{base}/case_counts:{topic_name}:0:999", headers=operator)
        assert missing.status_code == 404 and missing.json()["rule"] == "dead-letters"
