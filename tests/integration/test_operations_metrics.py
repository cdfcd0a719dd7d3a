"""``GET /metrics`` reports appends, outbox backlog, lag, dead letters, deadlines and latency.

Also: each request's log context carries its correlation id and the case id of its route.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import asyncpg
import httpx
import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from passend_backbone.db import migrate
from passend_backbone.eventstore import PostgresEventStore
from passend_backbone.kafka_settings import BrokerKind
from passend_backbone.lifecycle import SHUTDOWN_SECONDS, serve
from passend_backbone.metrics import ServiceMetrics
from passend_backbone.service import ServiceSpec
from passend_backbone.settings import ServiceSettings
from passend_devstack.infra import Broker, free_port
from passend_devstack.test_tokens import auth_env
from passend_devstack.waiting import eventually
from tests.integration.consumer_crash_worker import POISON, create_topic
from tests.integration.test_operations_shutdown import META, consent_requested, ledger_spec

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def settings_for(db_url: str, broker: Broker) -> ServiceSettings:
    auth = auth_env()
    return ServiceSettings(
        database_url=db_url,
        kafka_bootstrap_servers=broker.bootstrap_servers,
        kafka_broker_kind=cast(BrokerKind, broker.kind),
        http_port=free_port(),
        auth_issuer=auth["AUTH_ISSUER"],
        auth_audience=auth["AUTH_AUDIENCE"],
        auth_jwks=auth["AUTH_JWKS"],
        kafka_topic_prefix="",  # the test names a unique topic of its own (topic_name)
    )


@asynccontextmanager
async def running(spec: ServiceSpec, settings: ServiceSettings) -> AsyncIterator[httpx.AsyncClient]:
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(spec, settings, stop, ready=ready))

    async def started() -> bool:
        if task.done():
            await task
        return ready.is_set()

    await eventually(started, timeout=30, what="service started")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}") as http:
            yield http
    finally:
        stop.set()
        began = time.monotonic()
        await asyncio.wait_for(task, SHUTDOWN_SECONDS + 5)
        assert time.monotonic() - began < SHUTDOWN_SECONDS


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    wanted = set(labels.items())
    found = [v for (n, ls), v in samples.items() if n == name and wanted <= ls]
    return sum(found) if found else None


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def test_metrics_follow_what_the_service_does(
    db_url: str, pool: asyncpg.Pool, broker: Broker, topic_name: str
) -> None:
    await create_topic(broker.bootstrap_servers, topic_name)
    spec = ledger_spec(topic_name)
    case = uuid.uuid4()
    async with running(spec, settings_for(db_url, broker)) as http:
        store = PostgresEventStore(pool, "/passend/ledger")
        await store.append(str(case), 0, [consent_requested(case) for _ in range(3)], META)
        # The projection raises for this one: retried, then dead-lettered.
        await store.append(str(case), 3, [consent_requested(case, requested_by=POISON)], META)
        await pool.execute(
            "INSERT INTO greetings (word) VALUES ('started'), ('started'), ('stopped')"
        )
        answer = await http.get(f"/cases/{case}", headers={"X-Correlation-ID": "corr-77"})
        assert answer.status_code == 200
        assert answer.json()["log_context"] == {"correlation_id": "corr-77", "case_id": str(case)}
        assert (await http.get("/no/such/route")).status_code == 404

        event_type = "nl.passend.intake.ConsentRequested.v1"

        async def settled() -> Samples | None:
            samples = await scrape(http)
            done = (
                value(samples, "passend_events_appended_total", event_type=event_type) == 4
                and value(samples, "passend_dead_lettered_messages_total") == 1
                and value(samples, "passend_outbox_backlog_events") == 0
                and value(samples, "passend_projection_lag_records", projection="case_counts") == 0
            )
            return samples if done else None

        samples = await eventually(settled, timeout=30, what="metrics after the events")
        assert value(samples, "passend_events_appended_total", service="ledger") == 4
        assert (
            value(
                samples,
                "passend_dead_lettered_messages_total",
                consumer="case_counts",
                topic=topic_name,
            )
            == 1
        )
        assert value(samples, "passend_outbox_backlog_age_seconds") == 0
        lags = [
            (dict(labels), v)
            for (name, labels), v in samples.items()
            if name == "passend_consumer_lag_records"
        ]
        assert lags, "lag is reported per partition"
        assert all(labels["consumer"] == "case_counts" for labels, _ in lags)
        assert {labels["topic"] for labels, _ in lags} == {topic_name}
        assert sum(v for _, v in lags) == 0
        applied = value(
            samples, "passend_projection_last_applied_timestamp_seconds", projection="case_counts"
        )
        assert applied is not None and abs(applied - time.time()) < 120
        assert value(samples, "passend_deadlines_due", kind="greeting") == 2
        assert value(samples, "passend_deadlines_missed", kind="greeting") == 1
        assert (
            value(
                samples,
                "passend_http_request_duration_seconds_count",
                route="/cases/{case_id}",
                method="GET",
                status="200",
            )
            == 1
        ), "latency is labelled with the route template, not the path"
        assert (
            value(samples, "passend_http_request_duration_seconds_count", route="<unmatched>") == 1
        )
        for source in ("outbox", "consumers", "deadlines"):
            assert value(samples, "passend_metrics_source_up", source=source) == 1


async def test_outbox_backlog_and_its_age_count_what_is_not_published(
    pool: asyncpg.Pool,
) -> None:
    await migrate(pool, ["passend_backbone.migrations"])
    metrics = ServiceMetrics("ledger")
    metrics.watch_outbox(pool, "passend.ledger.events")
    store = PostgresEventStore(pool, "/passend/ledger")
    case = uuid.uuid4()
    await store.append(str(case), 0, [consent_requested(case) for _ in range(5)], META)

    samples = parse((await metrics.exposition()).decode())
    assert value(samples, "passend_outbox_backlog_events") == 5
    age = value(samples, "passend_outbox_backlog_age_seconds")
    assert age is not None and age > 0

    await pool.execute(
        "INSERT INTO outbox_checkpoint (topic, position) VALUES ($1, $2)",
        "passend.ledger.events",
        await pool.fetchval("SELECT max(position) - 1 FROM events"),
    )
    samples = parse((await metrics.exposition()).decode())
    assert value(samples, "passend_outbox_backlog_events") == 1


async def test_a_failing_source_is_reported_down_and_the_scrape_still_answers() -> None:
    metrics = ServiceMetrics("ledger")

    async def broken() -> None:
        raise ConnectionError("database gone")

    metrics.add_source("outbox", broken)
    samples = parse((await metrics.exposition()).decode())
    assert value(samples, "passend_metrics_source_up", source="outbox") == 0


def test_republished_events_are_not_counted_as_appended_again() -> None:
    metrics = ServiceMetrics("ledger")
    metrics.start_counting_appends_after(2)
    rows = [{"position": p, "event_type": "t.v1"} for p in (1, 2, 3, 4)]
    metrics.events_published(rows)
    metrics.events_published(rows)  # published again (a republish, or a crash before checkpoint)
    samples = parse(generate_latest(metrics.collectors).decode())
    assert value(samples, "passend_events_appended_total", event_type="t.v1") == 2
