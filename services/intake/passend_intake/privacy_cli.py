"""``passend-privacy``: the privacy officer's erasure on request from a terminal.

Speaks to intake's ``/privacy`` API with the officer's own token (``--token`` or
``PASSEND_TOKEN``), so the same rules, logging and second-officer check apply as in the
portal. Texts are Dutch: the officer is.

    passend-privacy show ll-2024-0193
    passend-privacy erase ll-2024-0193 --requested-by "moeder, per brief" \\
        --received-on 2026-12-02 --grounds "AVG art. 17 lid 1 sub b"
    passend-privacy pending
    passend-privacy confirm <request-id>
    passend-privacy reject <request-id> --reason "..."
    passend-privacy export ll-2024-0193 --json inzage.json --html inzage.html

``export`` (access on request, AVG art. 15) asks intake for the pupil and the cases, then
every service (``--<service>-url``) for each case's events and logged reads; the requests
themselves are logged as reads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt

from passend_backbone.audit.access import access_export, access_html, collect_case_entries
from passend_contracts.privacy import dutch

OK, REFUSED, UNREACHABLE, USAGE = 0, 1, 2, 64
DEFAULT_URL = "http://127.0.0.1:8001"
EXPORT_SERVICES = ("intake", "assignment", "trajectory", "notifications")
SERVICE_URLS = {name: f"http://127.0.0.1:{8001 + i}" for i, name in enumerate(EXPORT_SERVICES)}

ON_ERASURE = {
    "withdrawn": "wordt ingetrokken; het traject stopt in elke dienst",
    "stays_withdrawn": "was al ingetrokken",
    "stays_closed": "was al afgesloten",
}
STATUS = {
    "submitted": "aangemeld",
    "in_trajectory": "in traject",
    "escalated": "bij Team NO",
    "withdrawn": "ingetrokken",
    "closed": "afgesloten",
    "awaiting_confirmation": "wacht op een tweede functionaris",
    "carried_out": "uitgevoerd",
    "rejected": "afgewezen",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="passend-privacy",
        description="Wissen van een leerling op verzoek (AVG art. 17), als functionaris "
        "gegevensbescherming.",
    )
    parser.add_argument("--token", help="uw token (standaard: $PASSEND_TOKEN)")
    parser.add_argument(
        "--intake-url",
        default=os.environ.get("PASSEND_INTAKE_URL", DEFAULT_URL),
        help=f"adres van intake (standaard {DEFAULT_URL})",
    )
    for name in EXPORT_SERVICES[1:]:
        parser.add_argument(
            f"--{name}-url",
            default=os.environ.get(f"PASSEND_{name.upper()}_URL", SERVICE_URLS[name]),
            help=f"adres van {name} (standaard {SERVICE_URLS[name]})",
        )
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="alles wat over de leerling bewaard wordt")
    export.add_argument("pupil_ref")
    export.add_argument("--json", type=Path, required=True, help="bestand voor de JSON")
    export.add_argument("--html", type=Path, required=True, help="bestand voor de leesbare versie")
    show = commands.add_parser("show", help="wat een wissing van deze leerling doet")
    show.add_argument("pupil_ref")
    erase = commands.add_parser("erase", help="een verzoek tot wissing toekennen")
    erase.add_argument("pupil_ref")
    erase.add_argument("--requested-by", required=True, help="wie het vroeg, en hoe")
    erase.add_argument("--received-on", required=True, help="ontvangen op (JJJJ-MM-DD)")
    erase.add_argument("--grounds", required=True, help="de grond, bijv. AVG art. 17 lid 1 sub b")
    commands.add_parser("pending", help="verzoeken die op een tweede functionaris wachten")
    confirm = commands.add_parser("confirm", help="een verzoek bevestigen (tweede functionaris)")
    confirm.add_argument("request_id", type=uuid.UUID)
    reject = commands.add_parser("reject", help="een verzoek niet bevestigen")
    reject.add_argument("request_id", type=uuid.UUID)
    reject.add_argument("--reason", required=True)
    return parser


def main() -> None:
    """Console entry point."""
    sys.exit(run())


def run(argv: Sequence[str] | None = None, out: Any = None) -> int:
    """One command; returns the exit code (0 done, 1 refused, 2 intake unreachable)."""
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    token = args.token or os.environ.get("PASSEND_TOKEN")
    if not token:
        print("passend-privacy: geef uw token met --token of PASSEND_TOKEN", file=sys.stderr)
        return USAGE
    headers = {"Authorization": f"Bearer {token}"}
    base = args.intake_url.rstrip("/")
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            if args.command == "export":
                urls = {"intake": base}
                urls |= {n: getattr(args, f"{n}_url").rstrip("/") for n in EXPORT_SERVICES[1:]}
                return _export(http, urls, token, args, out)
            return _command(http, args, out)
    except httpx.HTTPError as exc:
        print(f"passend-privacy: intake ({base}) antwoordt niet: {exc!r}", file=sys.stderr)
        return UNREACHABLE


def _command(http: httpx.Client, args: argparse.Namespace, out: Any) -> int:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    if args.command == "show":
        answer = http.get(f"/privacy/pupils/{args.pupil_ref}")
        if answer.status_code != 200:
            return _refused(answer)
        _show(answer.json(), out)
        return OK
    if args.command == "pending":
        answer = http.get("/privacy/erasure-requests")
        if answer.status_code != 200:
            return _refused(answer)
        requests = answer.json()["requests"]
        if not requests:
            print("Geen verzoeken die op een tweede functionaris wachten.", file=out)
        for r in requests:
            _request(r, out)
        return OK
    if args.command == "erase":
        body = {
            "requested_by": args.requested_by,
            "received_on": args.received_on,
            "grounds": args.grounds,
        }
        answer = http.post(f"/privacy/pupils/{args.pupil_ref}/erasure", json=body, headers=key)
    elif args.command == "confirm":
        answer = http.post(f"/privacy/erasure-requests/{args.request_id}/confirmation", headers=key)
    else:
        answer = http.post(
            f"/privacy/erasure-requests/{args.request_id}/rejection",
            json={"reason": args.reason},
            headers=key,
        )
    if answer.status_code not in (200, 202):
        return _refused(answer)
    _request(answer.json(), out)
    return OK


def _export(
    http: httpx.Client, urls: dict[str, str], token: str, args: argparse.Namespace, out: Any
) -> int:
    answer = http.get(f"/privacy/pupils/{args.pupil_ref}/export")
    if answer.status_code != 200:
        return _refused(answer)
    pupil = answer.json()

    async def collect() -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
        async with httpx.AsyncClient(timeout=60) as client:
            return await collect_case_entries(
                client, urls, token, [c["case_id"] for c in pupil["cases"]]
            )

    entries, problems = asyncio.run(collect())
    export = access_export(
        pupil,
        entries,
        generated_at=datetime.now(UTC),
        generated_by=_subject(token),
        problems=problems,
    )
    args.json.write_text(json.dumps(export, ensure_ascii=False, indent=2), encoding="utf-8")
    args.html.write_text(access_html(export), encoding="utf-8")
    events = sum(1 for c in export["cases"] for e in c["entries"] if e.get("kind") == "event")
    print(
        f"Inzage van leerling {args.pupil_ref}: {len(export['cases'])} casus(sen), "
        f"{events} gebeurtenissen; geschreven naar {args.json} en {args.html}",
        file=out,
    )
    if problems:
        print("Niet volledig:\n  " + "\n  ".join(problems), file=out)
        return UNREACHABLE
    return OK


def _subject(token: str) -> str:
    # The claims only: the services verified the signature when they answered.
    claims = jwt.decode(token, options={"verify_signature": False})
    return str(claims.get("sub", "?"))


def _refused(answer: httpx.Response) -> int:
    try:
        problem = answer.json()
        detail = problem.get("detail") or problem.get("title")
        rule = problem.get("rule")
    except ValueError:
        detail, rule = answer.text[:300], None
    suffix = f" (regel {rule})" if rule else ""
    print(
        f"passend-privacy: geweigerd, HTTP {answer.status_code}: {detail}{suffix}", file=sys.stderr
    )
    return REFUSED


def _show(found: dict[str, Any], out: Any) -> None:
    print(f"Leerling {found['pupil_ref']}", file=out)
    if found["erased"]:
        print(f"  Al gewist op {found['erased_at']}.", file=out)
    print("Casussen:", file=out)
    for case in found["cases"]:
        status = STATUS.get(case["status"], case["status"])
        then = ON_ERASURE.get(case["on_erasure"], case["on_erasure"])
        print(f"  {case['case_id'][:8]}  school {case['school_id']}  {status}: {then}", file=out)
    print("Wordt gewist:", file=out)
    for item in found["will_erase"]:
        print(f"  - {dutch(item)}", file=out)
    print("Blijft bewaard:", file=out)
    for kept in found["kept"]:
        print(f"  - {dutch(kept['item'])}\n    grond: {kept['legal_basis']}", file=out)
    second = "ja" if found["needs_second_officer"] else "nee"
    print(f"Tweede functionaris nodig: {second}", file=out)
    for r in found["requests"]:
        _request(r, out)


def _request(r: dict[str, Any], out: Any) -> None:
    status = STATUS.get(r["status"], r["status"])
    print(
        f"Verzoek {r['request_id']}: {status}; leerling {r['pupil_ref']}, gevraagd door "
        f"{r['requested_by']} (ontvangen {r['received_on']}), besloten door {r['decided_by']}"
        + (f", bevestigd door {r['confirmed_by']}" if r.get("confirmed_by") else ""),
        file=out,
    )


if __name__ == "__main__":
    main()
