"""Operator subcommands of every service's console script: migrate, republish, rebuild, verify,
dead-letters.

``passend-<svc> migrate | republish [--from N] | rebuild <projection> | rebuild --all
[--fresh] | verify [--kafka] | dead-letters list|show|acknowledge|replay``
(:mod:`passend_backbone.deadletters.cli`), with the service's own environment (``DATABASE_URL``,
``KAFKA_BOOTSTRAP_SERVERS``, ``KAFKA_BROKER_KIND``). Exit codes: 0 done, 1 a broken chain,
a differing topic or a failed rebuild, 64 wrong usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from typing import TextIO, cast

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from passend_backbone import db, topics
from passend_backbone.audit.chain import verify_chains
from passend_backbone.audit.cli import chain_table, topic_table
from passend_backbone.audit.kafka_check import check_topic
from passend_backbone.consumer.kinds import Projection
from passend_backbone.consumer.rebuild import RebuildConflict, RebuildProgress, rebuild
from passend_backbone.deadletters import cli as dead_letter_cli
from passend_backbone.eventstore.store import PostgresEventStore
from passend_backbone.relay import OutboxRelay
from passend_backbone.service import ServiceSpec
from passend_backbone.settings import ServiceSettings
from passend_contracts import topics as contract_topics

COMMANDS = ("migrate", "republish", "rebuild", "verify", dead_letter_cli.COMMAND)
OK, FAILED, USAGE, INTERRUPTED = 0, 1, 64, 130


def is_ops_command(argv: Sequence[str]) -> bool:
    """Whether ``argv`` (without the program name) asks for an operator command."""
    return bool(argv) and argv[0] in COMMANDS


def _parser(spec: ServiceSpec) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"passend-{spec.name}",
        description=f"Run the {spec.name} service (no arguments) or an operator command.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply the database migrations, then exit")
    republish = commands.add_parser(
        "republish", help="publish the store to the topic again (lost or rebuilt topics)"
    )
    republish.add_argument(
        "--from", dest="position", type=int, default=0, help="only events after this position"
    )
    names = [p.name for p in spec.projections]
    rebuild_cmd = commands.add_parser(
        "rebuild", help="rebuild read models from the log into fresh tables, then swap"
    )
    which = rebuild_cmd.add_mutually_exclusive_group(required=True)
    which.add_argument("projection", nargs="?", choices=names or None, help=", ".join(names))
    which.add_argument("--all", action="store_true", help="every projection of the service")
    rebuild_cmd.add_argument(
        "--fresh", action="store_true", help="start over instead of resuming an interrupted run"
    )
    rebuild_cmd.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="processes reading the topic partitions (default: one per CPU core)",
    )
    dead_letter_cli.add_parser(commands)
    verify = commands.add_parser("verify", help="check every stream's hash chain")
    verify.add_argument(
        "--kafka", action="store_true", help="also check the topic holds exactly the store"
    )
    return parser


def default_workers() -> int:
    """One rebuild worker per CPU core (at most 8; a partition is read by one worker)."""
    return max(1, min(os.cpu_count() or 1, 8))


def _settings() -> ServiceSettings:
    # Operator commands verify no tokens: the JWKS setting is not needed for them.
    try:
        return ServiceSettings(auth_jwks=os.environ.get("AUTH_JWKS") or "-")
    except ValidationError as exc:
        problems = [
            f"{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        ]
        raise SystemExit("configuration error:\n  " + "\n  ".join(problems)) from None


def run_ops_command(spec: ServiceSpec, argv: Sequence[str]) -> int:
    """Run one operator command for ``spec``; returns the exit code."""
    try:
        args = _parser(spec).parse_args(list(argv))
    except SystemExit as exc:
        return USAGE if exc.code not in (0, None) else OK
    settings = _settings()
    try:
        return asyncio.run(_run(spec, settings, args))
    except (OSError, asyncpg.PostgresError, KafkaError) as exc:
        print(f"passend-{spec.name} {args.command}: {exc!r}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: run `passend-{spec.name} {' '.join(argv)}` again to resume",
            file=sys.stderr,
        )
        return INTERRUPTED


async def _run(spec: ServiceSpec, settings: ServiceSettings, args: argparse.Namespace) -> int:
    pool = await db.create_pool(settings.database_url, max_size=4)
    try:
        if args.command == "migrate":
            applied = await db.migrate(pool, spec.migration_packages)
            print(f"applied {len(applied)} migration(s)" + "".join(f"\n  {a}" for a in applied))
            return OK
        if args.command == dead_letter_cli.COMMAND:
            return await dead_letter_cli.run(spec, settings, pool, args)
        if args.command == "republish":
            return await _republish(spec, settings, pool, args.position)
        if args.command == "rebuild":
            chosen = [p for p in spec.projections if args.all or p.name == args.projection]
            return await _rebuild(
                spec, settings, pool, chosen, fresh=args.fresh, workers=max(args.workers, 1)
            )
        return await _verify(spec, settings, pool, kafka=args.kafka)
    finally:
        await pool.close()


async def _republish(
    spec: ServiceSpec, settings: ServiceSettings, pool: asyncpg.Pool, position: int
) -> int:
    """Reset the relay's checkpoint: the service's relay publishes everything after it again.

    Consumers handle each event id once, so a second copy changes no read model and no
    reactor appends twice. A lost topic is not created here: that is the operator's
    ``passend-ops topics apply``, with the plan's partitions and retention; until then
    this refuses (exit 1) and says so.
    """
    topic = settings.kafka_topic_prefix + spec.topic
    wanted = [topics.Topic(topic, contract_topics.PARTITIONS, "events")]
    durability = topics.Durability(
        settings.kafka_replication_factor, settings.kafka_min_insync_replicas
    )
    found = await topics.check(
        topics.KafkaTopics(settings.kafka_bootstrap_servers), wanted, durability
    )
    if found:
        print(f"{topic}: not republished: {topics.with_command(found)}", file=sys.stderr)
        return FAILED
    store = PostgresEventStore(pool, f"/passend/{spec.name}")
    # reset() only moves the checkpoint; the relay of the running service publishes.
    relay = OutboxRelay(pool, store, cast(AIOKafkaProducer, None), topic, source=store.source)
    before = await relay.checkpoint()
    await relay.reset(position)
    print(
        f"{topic}: checkpoint {before} -> {position}; the {spec.name} service's relay "
        "publishes from there (now if it runs, else at its next start)"
    )
    return OK


class ProgressBar:
    """One line on stderr: records read, share done, events per second."""

    def __init__(self, out: TextIO = sys.stderr, width: int = 30) -> None:
        self.out = out
        self.width = width
        self.started = time.monotonic()

    def __call__(self, p: RebuildProgress) -> None:
        total = p.records + p.behind
        share = p.records / total if total else 1.0
        filled = int(share * self.width)
        rate = p.records / max(time.monotonic() - self.started, 1e-6)
        self.out.write(
            f"\r{p.projection} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{p.records} events {share:6.1%} {rate:,.0f}/s {p.phase}   "
        )
        self.out.flush()


async def _rebuild(
    spec: ServiceSpec,
    settings: ServiceSettings,
    pool: asyncpg.Pool,
    projections: Sequence[Projection],
    *,
    fresh: bool,
    workers: int = 1,
) -> int:
    status = OK
    for projection in spec.projections:
        if projection not in projections:
            continue
        bar = ProgressBar()
        try:
            report = await rebuild(
                service=spec.name,
                projection=projection,
                pool=pool,
                bootstrap=settings.kafka_bootstrap_servers,
                kind=settings.kafka_broker_kind,
                progress=bar,
                fresh=fresh,
                topic_prefix=settings.kafka_topic_prefix,
                workers=workers,
                database_url=settings.database_url,
            )
        except RebuildConflict as exc:
            print(f"\n{projection.name}: {exc}", file=sys.stderr)
            status = FAILED
            continue
        rate = report.records / max(report.seconds, 1e-6)
        print(
            f"\n{projection.name}: generation {report.old_generation} -> "
            f"{report.new_generation}, {report.records} events in {report.seconds:.1f} s "
            f"({rate:,.0f}/s){', resumed' if report.resumed else ''}",
            file=sys.stderr,
        )
        if report.unacknowledged:
            status = FAILED
        for failed in report.failed:
            place = f"{failed.topic}[{failed.partition}]@{failed.offset}"
            if failed.acknowledged_by is None:
                print(
                    f"  not applied: {place} ({failed.stage}): {failed.reason}\n"
                    f"    acknowledge it once handled: passend-{spec.name} dead-letters "
                    f"acknowledge {projection.name}:{failed.topic}:{failed.partition}:"
                    f"{failed.offset} --why ...",
                    file=sys.stderr,
                )
            else:
                print(
                    f"  acknowledged, not applied: {place} ({failed.stage}): {failed.reason}"
                    f" [acknowledged by {failed.acknowledged_by}: {failed.acknowledged_why}]",
                    file=sys.stderr,
                )
    return status


async def _verify(
    spec: ServiceSpec, settings: ServiceSettings, pool: asyncpg.Pool, *, kafka: bool
) -> int:
    report = await verify_chains(pool, spec.name)
    print(chain_table([report]))
    ok = report.ok
    if kafka:
        ids = [r["event_id"] for r in await pool.fetch("SELECT event_id::text FROM events")]
        topic = await check_topic(
            settings.kafka_bootstrap_servers, settings.kafka_topic_prefix + spec.topic, ids
        )
        print(topic_table([topic]))
        ok = ok and topic.ok
    return OK if ok else FAILED
