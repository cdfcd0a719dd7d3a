"""``passend-ops``: the operator's commands for the whole system (topics), not one service.

``passend-ops topics apply`` creates every topic of the plan (every service's event and
dead-letter topics, the municipalities' integration topics) with its partitions and the
settings that keep history; ``topics check`` only reports; ``topics list`` prints the plan.
Settings come from the environment (:class:`~passend_backbone.topics.TopicSettings`;
``KAFKA_BOOTSTRAP_SERVERS``, ``KAFKA_TOPIC_PREFIX``, ``KAFKA_REPLICATION_FACTOR``,
``KAFKA_MIN_INSYNC_REPLICAS``, ``KAFKA_INTEGRATION_MUNICIPALITIES``, and the
``KAFKA_SECURITY_*``/``KAFKA_SASL_*`` of the principal allowed to create topics).
Exit codes: 0 every topic as planned, 1 something isn't (each problem on its own line),
64 wrong usage.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from aiokafka.errors import KafkaError
from pydantic import ValidationError

from passend_backbone import topics
from passend_backbone.settings import variable_problems

OK, FAILED, USAGE = 0, 1, 64


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="passend-ops", description="Operator commands for the whole Passend system."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    topics_cmd = commands.add_parser("topics", help="Kafka topics: apply, check or list the plan")
    action = topics_cmd.add_subparsers(dest="action", required=True)
    for name, text in (
        ("apply", "create missing topics and set retention and min.insync.replicas"),
        ("check", "report topics that are missing or configured otherwise (changes nothing)"),
        ("list", "print every topic of the plan (no broker needed)"),
    ):
        sub = action.add_parser(name, help=text)
        sub.add_argument(
            "--municipalities",
            default=None,
            help="CBS codes, comma-separated, whose integration topics are in the plan "
            "(default: KAFKA_INTEGRATION_MUNICIPALITIES, else every known municipality)",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point ``passend-ops``."""
    sys.exit(run(sys.argv[1:] if argv is None else argv))


def run(argv: Sequence[str]) -> int:
    """Run one command; returns the exit code."""
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as exc:
        return USAGE if exc.code not in (0, None) else OK
    overrides = {}
    if args.municipalities is not None:
        overrides["kafka_integration_municipalities"] = args.municipalities
    try:
        if args.action == "list":
            overrides.setdefault("kafka_bootstrap_servers", "not-needed")
        settings = topics.TopicSettings(**overrides)
        durability = settings.durability()
    except ValidationError as exc:
        print("configuration error:\n  " + "\n  ".join(variable_problems(exc)), file=sys.stderr)
        return USAGE
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return USAGE
    wanted = topics.plan(
        topics.load_catalogue(), settings.municipality_codes(), settings.kafka_topic_prefix
    )
    if args.action == "list":
        configs = " ".join(f"{k}={v}" for k, v in durability.configs().items())
        for topic in wanted:
            print(f"{topic.name}\t{topic.partitions}\t{topic.kind}")
        print(
            f"{len(wanted)} topic(s); replication factor {durability.replication_factor}; {configs}"
        )
        return OK
    broker = topics.KafkaTopics(settings.kafka_bootstrap_servers)
    try:
        if args.action == "check":
            found = asyncio.run(topics.check(broker, wanted, durability))
            for problem in found:
                print(problem)
            print(
                f"{len(found)} problem(s) among {len(wanted)} topic(s)"
                + (f"; run `{topics.APPLY_COMMAND}`" if found else "")
            )
            return FAILED if found else OK
        report = asyncio.run(topics.apply(broker, wanted, durability))
    except (OSError, KafkaError) as exc:
        print(f"passend-ops topics {args.action}: {exc!r}", file=sys.stderr)
        return FAILED
    for name in report.created:
        print(f"created {name}")
    for name in report.configured:
        print(f"configured {name}")
    for problem in report.remaining:
        print(f"NOT AS PLANNED: {problem}", file=sys.stderr)
    print(
        f"{len(wanted)} topic(s) in the plan: {len(report.created)} created, "
        f"{len(report.configured)} configured, {len(report.remaining)} problem(s)"
    )
    return OK if report.ok else FAILED


if __name__ == "__main__":
    main()
