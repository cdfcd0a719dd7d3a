"""``passend-audit``: a case's history, its state as of a moment, and integrity checks.

Talks to the four services' audit APIs with an auditor's bearer token; never to their
databases. Exit codes: 0 fine, 1 a broken chain or a topic that differs from its store,
2 a service could not be asked (the answer would be incomplete), 64 wrong usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt

from passend_backbone.audit.chain import ChainReport, report_from_json
from passend_backbone.audit.kafka_check import TopicReport, check_topic
from passend_backbone.audit.merge import SERVICE_ORDER, merge
from passend_backbone.audit.report import (
    content_hash,
    html_report,
    stated_hash,
    terminal_table,
)
from passend_contracts import topics

# The stores whose chains `verify` checks: the four services', and the integration
# gateway's (8005), which holds no case history of its own but is an event store all the same.
VERIFIED = (*SERVICE_ORDER, "gateway")
DEFAULT_URLS = {name: f"http://127.0.0.1:{8001 + i}" for i, name in enumerate(VERIFIED)}
TOPICS = {
    "intake": topics.INTAKE,
    "assignment": topics.ASSIGNMENT,
    "trajectory": topics.TRAJECTORY,
    "notifications": topics.NOTIFICATIONS,
}
OK, BROKEN, INCOMPLETE, USAGE = 0, 1, 2, 64


class Unreachable(Exception):
    """A service did not answer as the audit API does."""


@dataclass
class Auditor:
    """The HTTP side: one client, the token, the services' base URLs."""

    token: str
    urls: dict[str, str]
    timeout: float = 600.0
    problems: list[str] = field(default_factory=list)

    def get(self, service: str, path: str, **params: str) -> dict[str, Any] | None:
        """The JSON answer; None for 404 (the service knows no such case)."""
        url = self.urls[service].rstrip("/") + path
        try:
            answer = httpx.get(
                url,
                params=params,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise Unreachable(f"{service} ({url}): {exc!r}") from exc
        if answer.status_code == 404:
            if _no_case(answer):
                return None
            raise Unreachable(f"{service} ({url}): no audit API there (HTTP 404)")
        if answer.status_code != 200:
            raise Unreachable(f"{service} ({url}): HTTP {answer.status_code} {answer.text[:300]}")
        body: dict[str, Any] = answer.json()
        return body


def _no_case(answer: httpx.Response) -> bool:
    """Whether a 404 is the audit API's "no such case" (not a missing route)."""
    try:
        detail = answer.json().get("detail")
    except ValueError:
        return False
    return isinstance(detail, dict) and detail.get("audit") == "no_case"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="passend-audit",
        description="Audit Passend cases across the four services (auditor token needed).",
    )
    parser.add_argument("--token", help="auditor bearer token (default: $PASSEND_TOKEN)")
    for name in VERIFIED:
        parser.add_argument(
            f"--{name}-url",
            default=os.environ.get(f"PASSEND_{name.upper()}_URL", DEFAULT_URLS[name]),
            help=f"base URL of {name} (default {DEFAULT_URLS[name]})",
        )
    commands = parser.add_subparsers(dest="command", required=True)

    history = commands.add_parser("history", help="a case's events and reads, in causal order")
    history.add_argument("case_id")
    history.add_argument("--purpose", required=True, help="why you read the case (logged)")
    history.add_argument("--as-of", help="only up to this moment (ISO 8601 with time zone)")
    history.add_argument("--html", type=Path, help="also write a self-contained HTML report")
    history.add_argument("--json", action="store_true", help="print the merged entries as JSON")

    as_of = commands.add_parser("as-of", help="each service's state of a case at a moment")
    as_of.add_argument("case_id")
    as_of.add_argument("moment", help="ISO 8601 with time zone, e.g. 2027-03-02T09:15:00+01:00")
    as_of.add_argument("--purpose", required=True, help="why you read the case (logged)")

    verify = commands.add_parser("verify", help="check every service's hash chains")
    verify.add_argument(
        "--kafka", metavar="BOOTSTRAP", help="also check each topic holds exactly the store"
    )
    verify.add_argument(
        "--topic-prefix",
        default=os.environ.get("KAFKA_TOPIC_PREFIX", ""),
        help="what the services put before their topics' names (KAFKA_TOPIC_PREFIX)",
    )

    check = commands.add_parser("check-report", help="check an HTML report's content hash")
    check.add_argument("file", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point."""
    sys.exit(run(argv))


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "check-report":
        return _check_report(args.file)
    token = args.token or os.environ.get("PASSEND_TOKEN")
    if not token:
        print("passend-audit: give an auditor token with --token or PASSEND_TOKEN", file=sys.stderr)
        return USAGE
    urls = {name: getattr(args, f"{name}_url") for name in VERIFIED}
    auditor = Auditor(token, urls)
    try:
        if args.command == "history":
            return _history(auditor, args)
        if args.command == "as-of":
            return _as_of(auditor, args)
        return _verify(auditor, args.kafka, args.topic_prefix)
    except ValueError as exc:
        print(f"passend-audit: {exc}", file=sys.stderr)
        return USAGE


def _moment(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: add one, e.g. +01:00 or Z")
    return value


def collect_history(
    auditor: Auditor, case_id: str, purpose: str, as_of: datetime | None = None
) -> list[dict[str, Any]]:
    """Every service's events and logged reads of the case, merged in causal order."""
    entries: list[dict[str, Any]] = []
    params = {"purpose": purpose}
    if as_of is not None:
        params["as_of"] = as_of.isoformat()
    for service in SERVICE_ORDER:
        try:
            body = auditor.get(service, f"/audit/cases/{case_id}/events", **params)
        except Unreachable as exc:
            auditor.problems.append(str(exc))
            continue
        if body is not None:
            entries += body["events"] + body["reads"]
    return [dict(e) for e in merge(entries)]


def _history(auditor: Auditor, args: argparse.Namespace) -> int:
    as_of = _moment(args.as_of) if args.as_of else None
    entries = collect_history(auditor, args.case_id, args.purpose, as_of)
    if args.json:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
    else:
        print(terminal_table(entries))
    if args.html is not None:
        html = html_report(
            args.case_id,
            entries,
            generated_at=datetime.now(UTC),
            generated_by=f"passend-audit (doel: {args.purpose})",
            sources=auditor.urls,
            problems=auditor.problems,
        )
        args.html.write_text(html, encoding="utf-8")
        print(f"rapport: {args.html} (sha256 {stated_hash(html)})", file=sys.stderr)
    return _incomplete(auditor)


def _as_of(auditor: Auditor, args: argparse.Namespace) -> int:
    moment = _moment(args.moment)
    states: dict[str, Any] = {}
    for service in SERVICE_ORDER:
        try:
            body = auditor.get(
                service,
                f"/audit/cases/{args.case_id}/state",
                purpose=args.purpose,
                as_of=moment.isoformat(),
            )
        except Unreachable as exc:
            auditor.problems.append(str(exc))
            continue
        states[service] = None if body is None else body["state"]
    print(
        json.dumps(
            {"case_id": args.case_id, "as_of": moment.isoformat(), "states": states},
            indent=2,
            ensure_ascii=False,
        )
    )
    return _incomplete(auditor)


def _verify(auditor: Auditor, kafka: str | None, topic_prefix: str = "") -> int:
    reports: list[ChainReport] = []
    for service in VERIFIED:
        try:
            body = auditor.get(service, "/audit/verify")
        except Unreachable as exc:
            auditor.problems.append(str(exc))
            continue
        if body is not None:
            reports.append(report_from_json(body))
    print(chain_table(reports))
    broken = any(not r.ok for r in reports)
    if kafka:
        topic_reports = _check_topics(auditor, kafka, topic_prefix)
        print()
        print(topic_table(topic_reports))
        broken = broken or any(not t.ok for t in topic_reports)
    if broken:
        return BROKEN
    return _incomplete(auditor)


def _check_topics(auditor: Auditor, bootstrap: str, prefix: str) -> list[TopicReport]:
    found: list[TopicReport] = []
    for service in SERVICE_ORDER:
        try:
            body = auditor.get(service, "/audit/event-ids")
        except Unreachable as exc:
            auditor.problems.append(str(exc))
            continue
        if body is None:
            continue
        # Only this tenant's records: the token's SWV is what the store answered for.
        swv = _token_swv(auditor.token)
        found.append(
            asyncio.run(
                check_topic(bootstrap, prefix + TOPICS[service], body["event_ids"], swv=swv)
            )
        )
    return found


def _token_swv(token: str) -> str | None:
    # The claims only: the services verified the signature when they answered.
    claims = jwt.decode(token, options={"verify_signature": False})
    swv = claims.get("swv")
    return str(swv) if swv else None


def chain_table(reports: Sequence[ChainReport]) -> str:
    """Per service: streams and events checked, and the first broken link."""
    lines = [f"{'dienst':<14} {'streams':>8} {'events':>10}  eerste breuk"]
    for r in reports:
        brk = r.first_break
        where = (
            "geen"
            if brk is None
            else f"stream {brk.stream_id} versie {brk.stream_version} positie {brk.position}: "
            f"{brk.reason}"
        )
        lines.append(f"{r.service:<14} {r.streams_checked:>8} {r.events_checked:>10}  {where}")
    return "\n".join(lines)


def topic_table(reports: Sequence[TopicReport]) -> str:
    """Per topic: records read, missing and extra event ids."""
    lines = [f"{'topic':<32} {'records':>8} {'ontbreekt':>9} {'extra':>6} {'dubbel':>7}"]
    for t in reports:
        lines.append(
            f"{t.topic:<32} {t.records:>8} {len(t.missing):>9} {len(t.extra):>6} {t.duplicates:>7}"
        )
        lines += [f"  ontbreekt op topic: {i}" for i in t.missing[:20]]
        lines += [f"  niet in de store:   {i}" for i in t.extra[:20]]
    return "\n".join(lines)


def _incomplete(auditor: Auditor) -> int:
    for problem in auditor.problems:
        print(f"passend-audit: niet bereikt: {problem}", file=sys.stderr)
    return INCOMPLETE if auditor.problems else OK


def _check_report(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    stated, actual = stated_hash(text), content_hash(text)
    if stated is None or actual is None:
        print(f"{path}: no passend-audit report (no content hash found)", file=sys.stderr)
        return BROKEN
    if stated != actual:
        print(f"{path}: CHANGED (footer says {stated}, content is {actual})")
        return BROKEN
    print(f"{path}: unchanged (sha256 {actual})")
    return OK
