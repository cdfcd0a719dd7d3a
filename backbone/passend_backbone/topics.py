"""Kafka topics as an operator's deliberate act: the plan of every topic, applying it, checking it.

Services never create a topic. ``passend-ops topics apply`` (:mod:`passend_backbone.ops`,
also the compose one-shot service ``topics`` and the Kubernetes Job ``passend-topics``)
creates every topic of :func:`plan` with its partitions and with settings that keep the
history: ``retention.ms=-1`` and ``retention.bytes=-1`` (events are the integration surface
and the input of every rebuild), and in production the replication factor and
``min.insync.replicas`` of :class:`Durability`. A service checks at start, and in its
readiness probe, that its own topics are there with those settings (:class:`TopicsProbe`);
a rebuild checks that every partition it reads still starts at offset 0
(:func:`lost_history`). The decisions are pure functions over what a
:class:`TopicInspector` reports, so they are tested with a broker double as well as on a
real broker.

The plan comes from the services' own declarations (:class:`ServiceTopics`), written to
``topic_catalogue.json`` by ``deploy/kafka/generate.py`` so every image carries it; the
ACL files in ``deploy/kafka/acls/`` are generated from the same catalogue.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from passend_backbone.kafka_settings import client_security_settings
from passend_contracts import municipalities
from passend_contracts import topics as contract_topics

# What a person types to fix a topic problem; every message about one names it.
APPLY_COMMAND = "passend-ops topics apply"
CATALOGUE = Path(__file__).with_name("topic_catalogue.json")

TopicKind = Literal["events", "dead letters", "integration"]

# Kafka's default: one week. A topic without retention.ms of its own gets the broker's.
KEEP_FOREVER = "-1"


@dataclass(frozen=True)
class Durability:
    """How many copies of every record the cluster keeps, and how many must have it."""

    replication_factor: int = 1
    min_insync_replicas: int = 1

    def __post_init__(self) -> None:
        if self.replication_factor < 1 or self.min_insync_replicas < 1:
            raise ValueError("replication factor and min.insync.replicas must be at least 1")
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError(
                f"min.insync.replicas ({self.min_insync_replicas}) can't exceed the "
                f"replication factor ({self.replication_factor}): no write would succeed"
            )

    def configs(self) -> dict[str, str]:
        """The topic configuration every Passend topic is created with."""
        return {
            "retention.ms": KEEP_FOREVER,
            "retention.bytes": KEEP_FOREVER,
            "cleanup.policy": "delete",
            "min.insync.replicas": str(self.min_insync_replicas),
        }


@dataclass(frozen=True)
class Topic:
    """One topic of the plan: its name on the broker, partitions and what it holds."""

    name: str
    partitions: int
    kind: TopicKind


@dataclass(frozen=True)
class Consumer:
    """One consumer group of a service and the topics it reads (names without prefix)."""

    group: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class ServiceTopics:
    """What one service writes and reads: its own event topic and its consumer groups."""

    service: str
    topic: str
    consumers: tuple[Consumer, ...] = ()
    # The gateway writes every region's integration topics.
    writes_integration: bool = False

    @classmethod
    def of_spec(cls, spec: Any, *, writes_integration: bool = False) -> ServiceTopics:
        """From a :class:`~passend_backbone.service.ServiceSpec` (its projections and reactors)."""
        consumers = tuple(
            Consumer(f"{spec.name}.{c.name}", tuple(c.topics))
            for c in [*spec.projections, *spec.reactors]
        )
        return cls(spec.name, spec.topic, consumers, writes_integration)

    @property
    def reads(self) -> list[str]:
        """Every topic one of its consumers reads, sorted."""
        return sorted({t for c in self.consumers for t in c.topics})

    def dead_letter_topics(self, prefix: str = "") -> list[str]:
        """Its consumers' dead-letter topics, one per group and topic read."""
        return [
            contract_topics.dead_letter(prefix + t, c.group)
            for c in self.consumers
            for t in c.topics
        ]

    def wanted(self, prefix: str = "") -> list[Topic]:
        """The topics this service needs on the broker: it checks them at start."""
        events = [prefix + t for t in sorted({self.topic, *self.reads})]
        return [Topic(n, contract_topics.PARTITIONS, "events") for n in events] + [
            Topic(n, 1, "dead letters") for n in self.dead_letter_topics(prefix)
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "topic": self.topic,
            "writes_integration": self.writes_integration,
            "consumers": [{"group": c.group, "topics": list(c.topics)} for c in self.consumers],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServiceTopics:
        return cls(
            service=data["service"],
            topic=data["topic"],
            consumers=tuple(Consumer(c["group"], tuple(c["topics"])) for c in data["consumers"]),
            writes_integration=bool(data.get("writes_integration", False)),
        )


def load_catalogue(path: Path = CATALOGUE) -> list[ServiceTopics]:
    """Every Passend service's topics, as ``deploy/kafka/generate.py`` wrote them."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [ServiceTopics.from_json(s) for s in data["services"]]


def catalogue_json(services: Sequence[ServiceTopics]) -> str:
    """The catalogue file's text for ``services``."""
    return json.dumps({"services": [s.as_json() for s in services]}, indent=2) + "\n"


def integration_topics(codes: Iterable[str], prefix: str = "") -> list[Topic]:
    """Each municipality's integration topic and its thin companion."""
    found: list[Topic] = []
    for code in sorted(set(codes)):
        if not municipalities.is_code(code):
            raise ValueError(f"{code!r} is not a CBS municipality code such as GM0622")
        for name in (contract_topics.integration(code), contract_topics.integration_thin(code)):
            found.append(Topic(prefix + name, contract_topics.PARTITIONS, "integration"))
    return found


def plan(
    services: Sequence[ServiceTopics], municipality_codes: Iterable[str] = (), prefix: str = ""
) -> list[Topic]:
    """Every topic of the system, each once: services' events, dead letters, integration."""
    by_name: dict[str, Topic] = {}
    for service in services:
        for topic in service.wanted(prefix):
            by_name.setdefault(topic.name, topic)
    for topic in integration_topics(municipality_codes, prefix):
        by_name.setdefault(topic.name, topic)
    return sorted(by_name.values(), key=lambda t: t.name)


# -- what the broker has, and what is wrong with it (pure) ----------------------------------


@dataclass(frozen=True)
class TopicState:
    """One topic as the broker describes it. ``configs`` holds what the broker reported:
    Apache Kafka reports every setting, the dev broker only those set on the topic."""

    partitions: int
    replication_factor: int
    configs: Mapping[str, str] = field(default_factory=dict)


def problems(
    wanted: Sequence[Topic], actual: Mapping[str, TopicState | None], durability: Durability
) -> list[str]:
    """What is wrong with the topics on the broker, one sentence each; empty when all is well.

    A missing topic, another partition count (keys would land on other partitions than
    before), finite retention (history would be deleted), fewer replicas or a lower
    ``min.insync.replicas`` than production asks for.
    """
    found: list[str] = []
    for topic in wanted:
        state = actual.get(topic.name)
        if state is None:
            found.append(f"topic {topic.name} does not exist")
            continue
        if state.partitions != topic.partitions:
            found.append(
                f"topic {topic.name} has {state.partitions} partition(s), "
                f"the plan has {topic.partitions}"
            )
        for key in ("retention.ms", "retention.bytes"):
            value = state.configs.get(key)
            if value is None:
                found.append(
                    f"topic {topic.name} has no {key} of its own (the broker default "
                    "deletes old events); it must be -1"
                )
            elif int(value) >= 0:
                found.append(
                    f"topic {topic.name} has {key}={value}: events would be deleted; it must be -1"
                )
        if state.replication_factor < durability.replication_factor:
            found.append(
                f"topic {topic.name} has replication factor {state.replication_factor}, "
                f"at least {durability.replication_factor} wanted"
            )
        if durability.min_insync_replicas > 1:
            isr = state.configs.get("min.insync.replicas")
            if isr is None or int(isr) < durability.min_insync_replicas:
                found.append(
                    f"topic {topic.name} has min.insync.replicas={isr or 'the default'}, "
                    f"at least {durability.min_insync_replicas} wanted"
                )
    return found


def with_command(found: Sequence[str]) -> str:
    """``found`` as one message that says how to fix it."""
    return "; ".join(found) + f". Run `{APPLY_COMMAND}` (deploy/README.md, Topics)."


def lost_history(starts: Mapping[TopicPartition, int]) -> list[str]:
    """The partitions whose log no longer starts at offset 0, one sentence each.

    Such a partition lost its oldest records (retention, ``kafka-delete-records.sh``, a
    topic recreated after an offset was reached elsewhere): a read model built from it
    would silently miss events.
    """
    return [
        f"{tp.topic}[{tp.partition}] starts at offset {offset}, not 0: "
        f"{offset} record(s) of its history are gone"
        for tp, offset in sorted(starts.items(), key=lambda kv: (kv[0].topic, kv[0].partition))
        if offset > 0
    ]


# -- the port, and Kafka behind it ----------------------------------------------------------


class TopicInspector(Protocol):
    """What the checks need to know from a broker."""

    async def describe(self, names: Sequence[str]) -> dict[str, TopicState | None]:
        """Each topic of ``names`` as the broker has it, or None when it doesn't exist."""
        ...

    async def log_starts(self, names: Sequence[str]) -> dict[TopicPartition, int]:
        """The first offset still held by every partition of ``names``."""
        ...


class KafkaTopics:
    """:class:`TopicInspector` on a Kafka-protocol broker; also creates and alters topics."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap

    def _admin(self) -> AIOKafkaAdminClient:
        return AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap, request_timeout_ms=10000, **client_security_settings()
        )

    async def describe(self, names: Sequence[str]) -> dict[str, TopicState | None]:
        admin = self._admin()
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            present = [n for n in dict.fromkeys(names) if n in existing]
            states: dict[str, TopicState | None] = dict.fromkeys(names)
            if not present:
                return states
            configs: dict[str, dict[str, str]] = {n: {} for n in present}
            for response in await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, n) for n in present]
            ):
                for resource in response.resources:
                    error, message, _type, name, entries = resource[:5]
                    if error:
                        raise for_code(error)(f"describing topic {name!r}: {message}")
                    configs[name] = {e[0]: e[1] for e in entries if e[1] is not None}
            for described in await admin.describe_topics(present):
                name = described["topic"]
                parts = described["partitions"]
                replicas = min((len(p["replicas"]) for p in parts), default=0)
                states[name] = TopicState(len(parts), replicas, configs.get(name, {}))
            return states
        finally:
            await admin.close()

    async def log_starts(self, names: Sequence[str]) -> dict[TopicPartition, int]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, **client_security_settings()
        )
        await consumer.start()
        try:
            await consumer.topics()
            partitions = [
                TopicPartition(n, p)
                for n in names
                for p in sorted(consumer.partitions_for_topic(n) or ())
            ]
            if not partitions:
                return {}
            starts: dict[TopicPartition, int] = await consumer.beginning_offsets(partitions)
            return starts
        finally:
            await consumer.stop()

    async def create(self, wanted: Sequence[Topic], durability: Durability) -> list[str]:
        """Create the topics of ``wanted`` (none may exist yet); returns those created.

        "Already exists" counts as success: two operators (or two test workers) may apply
        the same plan at once.
        """
        if not wanted:
            return []
        admin = self._admin()
        await admin.start()
        try:
            response = await admin.create_topics(
                [
                    NewTopic(
                        t.name,
                        num_partitions=t.partitions,
                        replication_factor=durability.replication_factor,
                        topic_configs=durability.configs(),
                    )
                    for t in wanted
                ]
            )
        finally:
            await admin.close()
        created: list[str] = []
        for entry in response.topic_errors:
            name, code = entry[0], entry[1]
            if code == 0:
                created.append(name)
            elif code != TopicAlreadyExistsError.errno:
                error = for_code(code)
                message = entry[2] if len(entry) > 2 else ""
                raise error(f"creating topic {name!r} failed: {message or error.__name__}")
        return created

    async def set_configs(self, names: Sequence[str], durability: Durability) -> None:
        """Give existing topics the plan's configuration (retention, min.insync.replicas)."""
        if not names:
            return
        admin = self._admin()
        await admin.start()
        try:
            # AlterConfigs replaces a topic's whole configuration: these are all Passend sets.
            for response in await admin.alter_configs(
                [
                    ConfigResource(ConfigResourceType.TOPIC, n, configs=durability.configs())
                    for n in names
                ]
            ):
                for resource in response.resources:
                    error, message, _type, name = resource[:4]
                    if error:
                        raise for_code(error)(f"configuring topic {name!r}: {message}")
        finally:
            await admin.close()


# -- applying and checking ------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyReport:
    """What ``topics apply`` did, and what it could not put right."""

    created: tuple[str, ...]
    configured: tuple[str, ...]
    remaining: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.remaining


def fixable_by_config(topic: Topic, state: TopicState, durability: Durability) -> bool:
    """Whether setting the topic's configuration puts it right (partitions and replicas can't)."""
    return (
        state.partitions == topic.partitions
        and state.replication_factor >= durability.replication_factor
        and bool(problems([topic], {topic.name: state}, durability))
    )


async def apply(
    broker: KafkaTopics, wanted: Sequence[Topic], durability: Durability
) -> ApplyReport:
    """Create what is missing, configure what is configured wrongly, report the rest.

    A wrong partition count or too few replicas is reported, never changed here: more
    partitions would move keys (one case's events) to other partitions, and reassigning
    replicas is ``kafka-reassign-partitions.sh``'s job.
    """
    before = await broker.describe([t.name for t in wanted])
    created = await broker.create([t for t in wanted if before[t.name] is None], durability)
    to_configure = [
        t.name
        for t in wanted
        if (state := before[t.name]) is not None and fixable_by_config(t, state, durability)
    ]
    configured: list[str] = []
    config_failure: str | None = None
    try:
        await broker.set_configs(to_configure, durability)
        configured = to_configure
    except Exception as exc:  # the dev broker can't alter configs: report, don't crash
        config_failure = f"configuring {', '.join(to_configure)} failed: {exc!r}"
    after = await broker.describe([t.name for t in wanted])
    remaining = problems(wanted, after, durability)
    if config_failure:
        remaining.append(config_failure)
    return ApplyReport(tuple(created), tuple(configured), tuple(remaining))


async def check(
    inspector: TopicInspector, wanted: Sequence[Topic], durability: Durability
) -> list[str]:
    """What is wrong with ``wanted`` on the broker (empty: nothing)."""
    return problems(wanted, await inspector.describe([t.name for t in wanted]), durability)


class TopicsProbe:
    """The readiness probe ``topics``: the service's topics exist with the plan's settings.

    A passing check is trusted for ``recheck`` seconds (topics rarely change; the probe
    runs every second); a failing one is repeated at every probe, so the service turns
    ready as soon as the operator ran ``passend-ops topics apply``.
    """

    def __init__(
        self,
        inspector: TopicInspector,
        wanted: Sequence[Topic],
        durability: Durability,
        *,
        recheck: float = 60.0,
    ) -> None:
        self._inspector = inspector
        self._wanted = list(wanted)
        self._durability = durability
        self._recheck = recheck
        self._passed_at: float | None = None

    async def problem(self) -> str | None:
        """None when the topics are right, else what is wrong and the command that fixes it."""
        now = time.monotonic()
        if self._passed_at is not None and now - self._passed_at < self._recheck:
            return None
        found = await check(self._inspector, self._wanted, self._durability)
        if found:
            self._passed_at = None
            return with_command(found)
        self._passed_at = now
        return None

    __call__ = problem


# -- settings of the ops command ------------------------------------------------------------


class TopicSettings(BaseSettings):
    """What ``passend-ops topics`` reads from its environment.

    The services read the first four too; the broker security settings are
    :class:`~passend_backbone.kafka_settings.KafkaSecuritySettings`.
    """

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    kafka_bootstrap_servers: str = Field(min_length=3)
    kafka_topic_prefix: str = Field(default="", pattern=r"^[a-z0-9._-]{0,40}$")
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_min_insync_replicas: int = Field(default=1, ge=1)
    kafka_integration_municipalities: str = Field(
        default="",
        pattern=r"^(all|(GM\d{4}(,GM\d{4})*)?)$",
        description=(
            "CBS codes (comma-separated) whose integration topics are created; empty or "
            "'all': every municipality the contracts know"
        ),
    )

    def durability(self) -> Durability:
        return Durability(self.kafka_replication_factor, self.kafka_min_insync_replicas)

    def municipality_codes(self) -> list[str]:
        raw = self.kafka_integration_municipalities.strip()
        if raw in ("", "all"):
            return sorted(municipalities.NAMES)
        return sorted({c.strip() for c in raw.split(",") if c.strip()})
