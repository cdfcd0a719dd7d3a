"""``passend-dossier``: a case's dossier (or its OPP) as a PDF file, from the command line.

``passend-dossier 3f2c8a4e --token "$TOKEN" --out dossier.pdf`` reads the case from the
services (``PORTAL_*_URL``) with the person's own token, exactly as the portal's
"Dossier (PDF)" button does (:mod:`passend_portal.dossier`): the same roles, the same
logged reads, the same refusal once the pupil is erased (exit 1 with the reason).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from passend_portal import dossier, finding
from passend_portal.clients import ServiceDown, ServiceError, Services
from passend_portal.names import DirectoryNames
from passend_portal.settings import load_settings

OK, REFUSED, USAGE, DOWN = 0, 1, 2, 3


class Stop(Exception):
    """The command ends here: what to say and the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="passend-dossier",
        description="Maak het dossier van een casus (of het OPP) als PDF.",
    )
    parser.add_argument("case", help="het casusnummer: de 8 tekens die het portaal toont, of heel")
    parser.add_argument("--out", type=Path, required=True, help="het PDF-bestand om te schrijven")
    parser.add_argument("--token", help="uw toegangsbewijs voor de diensten (anders PASSEND_TOKEN)")
    parser.add_argument("--opp", action="store_true", help="alleen het OPP, niet het dossier")
    parser.add_argument(
        "--purpose", default="", help="waarom u het dossier maakt (wordt vastgelegd)"
    )
    return parser


async def _case_id(services: Services, token: str, text: str) -> str:
    """The whole case id a short number (or the whole one) names, within the token's reach."""
    wanted = finding.cleaned(text).lower()
    if finding.is_case_id(wanted):
        return wanted
    try:
        found = await services.get("intake", "/requests", token=token, params={"find": wanted})
    except ServiceError as exc:
        raise Stop(f"Casus {wanted}: {dossier.NOT_FOUND}", REFUSED) from exc
    ids = sorted({str(r["case_id"]) for r in found or [] if isinstance(r, dict)})
    if not ids:
        raise Stop(f"Casus {wanted}: {dossier.NOT_FOUND}", REFUSED)
    if len(ids) > 1:
        listed = ", ".join(i[:8] for i in ids)
        raise Stop(f"Meer dan één casus past bij {wanted} ({listed}): geef het hele nummer.", USAGE)
    return ids[0]


async def make_file(
    urls: dict[str, str],
    token: str,
    case: str,
    out: Path,
    *,
    opp: bool = False,
    purpose: str = "",
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Write the dossier (or the OPP) of ``case`` to ``out``; what was written, in Dutch."""
    async with httpx.AsyncClient(timeout=30, transport=transport) as http:
        services = Services(urls, http)
        session = dossier.session_of_token(token)
        case_id = await _case_id(services, token, case)
        names = DirectoryNames(services)
        reason = dossier.purpose_of(purpose)
        if opp:
            content = await dossier.make_opp(services, names, session, case_id, reason)
        else:
            _, content = await dossier.make(services, names, session, case_id, reason)
    # Written whole or not at all: a half-written dossier is never left behind.
    partial = out.with_name(out.name + ".deel")
    partial.write_bytes(content)
    partial.replace(out)
    what = "Het OPP" if opp else "Het dossier"
    return f"{what} van casus {case_id[:8]} staat in {out} ({len(content) // 1024 + 1} kB)."


def run(
    argv: Sequence[str] | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> int:
    """Run the command; the exit code (0 written, 1 refused, 2 usage, 3 a service away)."""
    args = _parser().parse_args(argv)
    token = args.token or os.environ.get("PASSEND_TOKEN")
    if not token:
        print("passend-dossier: geef uw token met --token of PASSEND_TOKEN", file=sys.stderr)
        return USAGE
    urls = dict(load_settings().service_urls)
    try:
        said = asyncio.run(
            make_file(
                urls,
                token,
                args.case,
                args.out,
                opp=args.opp,
                purpose=args.purpose,
                transport=transport,
            )
        )
    except Stop as stop:
        print(f"passend-dossier: {stop.message}", file=sys.stderr)
        return stop.code
    except dossier.DossierRefused as exc:
        print(f"passend-dossier: {exc.message}", file=sys.stderr)
        return REFUSED
    except ServiceDown as exc:
        print(f"passend-dossier: {exc.message}", file=sys.stderr)
        return DOWN
    except ServiceError as exc:
        print(f"passend-dossier: de dienst {exc.service} weigerde ({exc.status}).", file=sys.stderr)
        return REFUSED
    except OSError as exc:
        print(f"passend-dossier: het bestand kon niet worden geschreven: {exc}", file=sys.stderr)
        return USAGE
    print(said)
    return OK


def main() -> None:
    """Console entry point."""
    sys.exit(run())
