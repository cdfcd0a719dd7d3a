"""``passend-<svc> dead-letters ...``: the operator's worklist of dead letters on the command line.

``list [--consumer NAME] [--open] [--json]``, ``show ID [--json]``,
``acknowledge ID --why TEXT [--by WHO]``, ``replay ID [--by WHO]`` and
``replay --all --consumer NAME [--by WHO]``; ``ID`` is ``consumer:topic:partition:offset``
as the list prints it. Exit codes: 0 done, 1 not found or a replay that failed again,
64 wrong usage.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any, TextIO

import asyncpg

from passend_backbone.deadletters.desk import FAILED, DeadLetterDesk, NoSuchDeadLetter, desk_for
from passend_backbone.deadletters.records import DeadLetter, DeadLetterKey
from passend_backbone.service import ServiceSpec
from passend_backbone.settings import ServiceSettings

COMMAND = "dead-letters"
OK, FAILED_EXIT, USAGE = 0, 1, 64


def add_parser(commands: Any) -> None:
    """Add ``dead-letters`` and its subcommands to the operator commands' parser."""
    parser = commands.add_parser(
        COMMAND, help="list, show, acknowledge or replay the records consumers set aside"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the dead letters per consumer, with the reason")
    listing.add_argument("--consumer", help="only this projection or reactor")
    listing.add_argument("--open", action="store_true", help="only those nobody resolved")
    listing.add_argument("--json", action="store_true", help="as JSON lines")
    show = actions.add_parser("show", help="one dead letter with its record")
    show.add_argument("id", help="consumer:topic:partition:offset (as the list prints it)")
    show.add_argument("--json", action="store_true", help="as JSON")
    ack = actions.add_parser(
        "acknowledge", help="record that it is handled without replaying it (who and why)"
    )
    ack.add_argument("id")
    ack.add_argument("--why", required=True, help="why it needs no replay")
    ack.add_argument("--by", default=_user(), help="who (default: the signed-in user)")
    replay = actions.add_parser("replay", help="apply it (or every open one) after a fix")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?")
    which.add_argument("--all", action="store_true", help="every open one of --consumer")
    replay.add_argument("--consumer", help="with --all: the projection or reactor")
    replay.add_argument("--by", default=_user(), help="who (default: the signed-in user)")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


async def run(
    spec: ServiceSpec,
    settings: ServiceSettings,
    pool: asyncpg.Pool,
    args: argparse.Namespace,
    out: TextIO | None = None,
) -> int:
    """Run one ``dead-letters`` subcommand; returns the exit code."""
    out = out or sys.stdout
    desk = desk_for(spec, settings, pool)
    try:
        if args.action == "list":
            letters = await desk.worklist(args.consumer)
            if args.open:
                letters = [d for d in letters if d.resolution is None]
            _print_list(desk, letters, args.consumer, out, as_json=args.json)
            return OK
        if args.action == "replay" and args.all:
            if not args.consumer:
                print("replay --all needs --consumer NAME", file=sys.stderr)
                return USAGE
            outcomes = await desk.replay_all(args.consumer, by=args.by)
            for outcome in outcomes:
                print(f"{outcome.key}: {outcome.outcome}: {outcome.message}", file=out)
            print(f"{len(outcomes)} open dead letter(s) of {args.consumer} replayed", file=out)
            return FAILED_EXIT if any(o.outcome == FAILED for o in outcomes) else OK
        key = DeadLetterKey.parse(args.id)
        if args.action == "show":
            letter = await desk.get(key)
            if args.json:
                print(json.dumps(letter.detail(), indent=2, ensure_ascii=False), file=out)
            else:
                _print_detail(letter, out)
            return OK
        if args.action == "acknowledge":
            letter, made = await desk.acknowledge(key, by=args.by, why=args.why)
            resolution = letter.resolution
            assert resolution is not None
            if made:
                print(
                    f"{key}: acknowledged by {resolution.resolved_by}: {resolution.reason}",
                    file=out,
                )
            else:
                print(
                    f"{key}: already {resolution.resolution} by {resolution.resolved_by} "
                    f"at {resolution.resolved_at:%Y-%m-%d %H:%M}: {resolution.reason}",
                    file=out,
                )
            return OK
        outcome = await desk.replay(key, by=args.by)
        print(f"{key}: {outcome.outcome}: {outcome.message}", file=out)
        return FAILED_EXIT if outcome.outcome == FAILED else OK
    except NoSuchDeadLetter as exc:
        print(f"{COMMAND}: {exc}", file=sys.stderr)
        return FAILED_EXIT
    except ValueError as exc:
        print(f"{COMMAND}: {exc}", file=sys.stderr)
        return USAGE


def _print_list(
    desk: DeadLetterDesk,
    letters: list[DeadLetter],
    consumer: str | None,
    out: TextIO,
    *,
    as_json: bool,
) -> None:
    if as_json:
        for letter in letters:
            print(json.dumps(letter.summary(), ensure_ascii=False), file=out)
        return
    for name in [consumer] if consumer else desk.consumers:
        mine = [d for d in letters if d.key.consumer == name]
        still_open = sum(1 for d in mine if d.resolution is None)
        print(f"{name}: {len(mine)} dead letter(s), {still_open} open", file=out)
        for d in mine:
            print(
                f"  {d.key}  {d.status}  {d.dead_lettered_at:%Y-%m-%d %H:%M:%S}  "
                f"{d.event_type or '-'}  [{d.reason_code}] {d.reason}",
                file=out,
            )
            if d.resolution is not None:
                r = d.resolution
                print(f"      {r.resolution} by {r.resolved_by}: {r.reason}", file=out)


def _print_detail(letter: DeadLetter, out: TextIO) -> None:
    detail = letter.detail()
    for name in ("id", "group", "status", "stage", "reason_code", "reason", "error_type"):
        print(f"{name:>16}: {detail[name]}", file=out)
    for name in ("dead_lettered_at", "event_type", "event_id", "case_id", "swv"):
        print(f"{name:>16}: {detail[name] or '-'}", file=out)
    if letter.resolution is not None:
        r = letter.resolution
        print(f"{'resolution':>16}: {r.resolution} by {r.resolved_by} ({r.reason})", file=out)
    record = detail["record"]
    print(f"{'key':>16}: {record['key']}", file=out)
    for name, value in record["headers"].items():
        print(f"{name:>16}: {value}", file=out)
    print(f"--- body ({record['value']['format']}, {record['size']} bytes) ---", file=out)
    print(record["value"]["text"], file=out)
