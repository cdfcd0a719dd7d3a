"""The topic plan, the checks over what a broker reports, and the ACLs from the same catalogue."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from passend_backbone import kafka_acls, ops, topics
from passend_contracts import municipalities
from passend_contracts import topics as contract_topics

ROOT = Path(__file__).resolve().parents[3]
KEEP = {"retention.ms": "-1", "retention.bytes": "-1", "min.insync.replicas": "1"}
EVENTS = topics.Topic("passend.intake.events", 4, "events")


def state(partitions: int = 4, replicas: int = 1, **configs: str) -> topics.TopicState:
    merged = {**KEEP, **{k.replace("_", "."): v for k, v in configs.items()}}
    return topics.TopicState(partitions, replicas, merged)


def test_a_topic_as_planned_has_no_problems() -> None:
    assert topics.problems([EVENTS], {EVENTS.name: state()}, topics.Durability()) == []


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        (None, "does not exist"),
        (state(retention_ms="604800000"), "retention.ms=604800000: events would be deleted"),
        (topics.TopicState(4, 1, {}), "has no retention.ms of its own"),
        (state(retention_bytes="1073741824"), "retention.bytes=1073741824"),
        (state(partitions=1), "has 1 partition(s), the plan has 4"),
    ],
)
def test_each_departure_from_the_plan_is_named(
    actual: topics.TopicState | None, expected: str
) -> None:
    found = topics.problems([EVENTS], {EVENTS.name: actual}, topics.Durability())
    assert len(found) >= 1 and expected in found[0]
    assert "passend-ops topics apply" in topics.with_command(found)


def test_production_durability_wants_replicas_and_min_insync_replicas() -> None:
    production = topics.Durability(replication_factor=3, min_insync_replicas=2)
    found = topics.problems([EVENTS], {EVENTS.name: state(replicas=1)}, production)
    assert any("replication factor 1, at least 3" in f for f in found)
    assert any("min.insync.replicas=1, at least 2" in f for f in found)
    good = state(replicas=3, min_insync_replicas="2")
    assert topics.problems([EVENTS], {EVENTS.name: good}, production) == []
    with pytest.raises(ValueError, match="can't exceed"):
        topics.Durability(replication_factor=1, min_insync_replicas=2)


def test_lost_history_names_the_partitions_that_do_not_start_at_0() -> None:
    starts = {TopicPartition("t", 0): 0, TopicPartition("t", 1): 7}
    assert topics.lost_history(starts) == [
        "t[1] starts at offset 7, not 0: 7 record(s) of its history are gone"
    ]
    assert topics.lost_history({TopicPartition("t", 0): 0}) == []


def test_the_plan_holds_every_service_topic_dead_letter_topic_and_integration_topic() -> None:
    catalogue = topics.load_catalogue()
    plan = {t.name: t for t in topics.plan(catalogue, ["GM0622"], "p.")}
    for name in contract_topics.ALL:
        assert plan["p." + name].partitions == contract_topics.PARTITIONS
    for service in catalogue:
        for consumer in service.consumers:
            for read in consumer.topics:
                dead = plan[contract_topics.dead_letter("p." + read, consumer.group)]
                assert (dead.partitions, dead.kind) == (1, "dead letters")
    assert plan["p.passend.integration.gm0622"].kind == "integration"
    assert "p.passend.integration.gm0622.thin" in plan
    assert topics.Durability().configs()["retention.ms"] == "-1"
    with pytest.raises(ValueError, match="CBS municipality code"):
        topics.plan(catalogue, ["Vlaardingen"])


def test_the_default_integration_topics_are_every_current_municipality(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KAFKA_INTEGRATION_MUNICIPALITIES", raising=False)
    settings = topics.TopicSettings(kafka_bootstrap_servers="x:1")
    assert settings.municipality_codes() == sorted(municipalities.NAMES)
    chosen = topics.TopicSettings(
        kafka_bootstrap_servers="x:1", kafka_integration_municipalities="GM0622,GM0606"
    )
    assert chosen.municipality_codes() == ["GM0606", "GM0622"]


class Double:
    """A broker double that answers describe() from a dict that the test changes."""

    def __init__(self, states: dict[str, topics.TopicState | None]) -> None:
        self.states = states
        self.calls = 0

    async def describe(self, names: Sequence[str]) -> dict[str, topics.TopicState | None]:
        self.calls += 1
        return {n: self.states.get(n) for n in names}

    async def log_starts(self, names: Sequence[str]) -> dict[TopicPartition, int]:
        return {}


async def test_the_readiness_probe_refuses_until_the_topics_are_right_then_trusts_a_while() -> None:
    double = Double({EVENTS.name: state(retention_ms="604800000")})
    probe = topics.TopicsProbe(double, [EVENTS], topics.Durability(), recheck=60)
    problem = await probe()
    assert problem is not None
    assert "retention.ms=604800000" in problem and "passend-ops topics apply" in problem
    assert await probe() is not None, "a failing check is repeated every time"

    double.states[EVENTS.name] = state()
    assert await probe() is None
    calls = double.calls
    assert await probe() is None
    assert double.calls == calls, "a passing check is trusted for `recheck` seconds"


def test_the_catalogue_and_the_acl_files_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy/kafka/generate.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_each_service_principal_gets_least_privilege_from_the_catalogue() -> None:
    catalogue = topics.load_catalogue()
    files = kafka_acls.acl_files(catalogue, sorted(municipalities.NAMES))
    for service in catalogue:
        lines = (ROOT / "deploy/kafka/acls" / f"{service.service}.txt").read_text()
        assert lines == files[f"{service.service}.txt"]
        acls = kafka_acls.service_acls(service)
        assert {a.principal for a in acls} == {f"User:passend-{service.service}"}
        writes = {a.name for a in acls if a.operation == "WRITE"}
        allowed = {service.topic, *service.dead_letter_topics()}
        if service.writes_integration:
            allowed.add(contract_topics.INTEGRATION_PREFIX)
        assert writes == allowed, "only its own topic, its dead letters (and the gateway's)"
        reads = {a.name for a in acls if a.operation == "READ" and a.resource == "TOPIC"}
        assert reads == {service.topic, *service.reads, *service.dead_letter_topics()}
        groups = {a.name for a in acls if a.resource == "GROUP"}
        # Its consumers read in the service's fetch loops: the lazy one for its own topic.
        loops = {f"{service.service}.live"}
        if service.topic in service.reads:
            loops.add(f"{service.service}.own")
        assert groups == loops
        prefixed = {a.name for a in acls if a.pattern == "PREFIXED"}
        integration = {contract_topics.INTEGRATION_PREFIX}
        assert prefixed == (integration if service.writes_integration else set())
        assert not any(a.resource == "CLUSTER" or a.operation == "CREATE" for a in acls)
    ops_acls = kafka_acls.ops_acls()
    assert {a.operation for a in ops_acls} == {
        "CREATE",
        "DESCRIBE",
        "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS",
    }
    reader = kafka_acls.integrator_acls("GM0622")
    assert {(a.operation, a.name) for a in reader} == {
        ("READ", "passend.integration.gm0622"),
        ("READ", "passend.integration.gm0622.thin"),
        ("READ", "gm0622."),
    }


def test_passend_ops_lists_the_plan_without_a_broker(capsys: pytest.CaptureFixture[str]) -> None:
    assert ops.run(["topics", "list", "--municipalities", "GM0622"]) == ops.OK
    out = capsys.readouterr().out
    assert "passend.integration.gm0622.thin\t4\tintegration" in out
    assert "retention.ms=-1" in out
    assert ops.run(["topics", "list", "--municipalities", "Vlaardingen"]) == ops.USAGE
    assert ops.run(["topics", "nonsense"]) == ops.USAGE
