"""``passend-dev``: the whole system on one machine (``up``), its ``status``, dev ``token``s."""

from __future__ import annotations

import argparse
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from passend_devstack import state
from passend_devstack.catalog import default_services, parse_services
from passend_devstack.processes import is_alive, is_ready, listening_pid, runs_service
from passend_devstack.stack import (
    DEV_AUDIENCE,
    DEV_ISSUER,
    StackError,
    UpOptions,
    install_stop_signals,
    issuer_dir,
    run_up,
)


def project_root(start: Path | None = None) -> Path:
    """The checkout this runs in: the nearest parent holding ``backbone/pyproject.toml``."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "backbone" / "pyproject.toml").is_file():
            return candidate
    return here


def _parser() -> argparse.ArgumentParser:
    root = project_root()
    parser = argparse.ArgumentParser(
        prog="passend-dev", description="Run Passend on this machine for development."
    )
    data_dir_help = "where PostgreSQL data, logs and the dev issuer key live (default: var/dev)"
    parser.add_argument("--data-dir", type=Path, default=root / "var" / "dev", help=data_dir_help)
    # Accepted after the command too (``passend-dev up --data-dir ...``).
    after = argparse.ArgumentParser(add_help=False)
    after.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, help=data_dir_help)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser(
        "up",
        parents=[after],
        help="start PostgreSQL, the broker and every service; Ctrl-C stops them all",
        description=(
            "Starts an embedded PostgreSQL (unless DATABASE_URL is set) and a Tansu broker "
            "(unless KAFKA_BOOTSTRAP_SERVERS is set), then the services on consecutive ports."
        ),
    )
    up.add_argument("--base-port", type=int, default=8001, help="port of the first service")
    up.add_argument(
        "--service",
        action="append",
        metavar="NAME[=MODULE]",
        help="run only these services (repeatable; MODULE defaults to passend_NAME)",
    )
    up.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    up.add_argument("--log-format", default="json", choices=["json", "console"])
    up.add_argument(
        "--ready-timeout", type=float, default=90.0, help="seconds to wait for readiness"
    )

    commands.add_parser(
        "status", parents=[after], help="show whether the dev stack runs and is ready"
    )

    token = commands.add_parser(
        "token",
        parents=[after],
        help="print a bearer token from the dev issuer (for /docs and curl)",
    )
    token.add_argument("--role", required=True, help="ib, support_worker, auditor, ...")
    token.add_argument("--swv", required=True, help="the tenant, e.g. swv-demo")
    token.add_argument("--subject", default="dev-user", help="the user id (sub)")
    token.add_argument("--school-id")
    token.add_argument("--work-unit-id")
    token.add_argument("--region")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``passend-dev`` console script."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers); harmless here.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    args = _parser().parse_args(argv)
    data_dir: Path = args.data_dir.resolve()
    if args.command == "up":
        sys.exit(_up(args, data_dir))
    if args.command == "status":
        sys.exit(_status(data_dir))
    if args.command == "token":
        sys.exit(_token(args, data_dir))


def _up(args: argparse.Namespace, data_dir: Path) -> int:
    try:
        services = parse_services(args.service) if args.service else default_services()
    except ValueError as exc:
        print(f"passend-dev: {exc}", file=sys.stderr)
        return 2
    options = UpOptions(
        project_root=project_root(),
        data_dir=data_dir,
        base_port=args.base_port,
        services=services,
        log_level=args.log_level,
        log_format=args.log_format,
        ready_timeout=args.ready_timeout,
    )
    stop = threading.Event()
    install_stop_signals(stop, sys.stdout)
    try:
        code = run_up(options, stop, sys.stdout)
    except StackError as exc:
        print(f"passend-dev: {exc}", file=sys.stderr)
        return 1
    print("Everything stopped. Data kept in", data_dir, flush=True)
    return code


def _status(data_dir: Path) -> int:
    """What really runs: each recorded pid alive and running its service, and ready.

    A service that exited shows as not running even when something else answers on its
    port (one started by hand, say): that process is named, as not the stack's.
    """
    running = state.read(data_dir)
    if running is None:
        print(f"No dev stack runs on {data_dir} (start one with `make up`).")
        return 1
    since = time.strftime("%H:%M:%S", time.localtime(running.started_at))
    healthy = is_alive(running.pid)
    if healthy:
        print(f"Dev stack (pid {running.pid}) up since {since}; broker {running.broker}.")
    else:
        print(
            f"The dev stack (pid {running.pid}, up since {since}) is gone: nothing restarts "
            "its services. `make up` stops what it left and starts over."
        )
    for service in running.services:
        line, ok = _service_status(service)
        healthy = healthy and ok
        print(f"  {service.name:<14} {service.url:<24} {line}")
    return 0 if healthy else 1


def _service_status(service: state.ServiceState) -> tuple[str, bool]:
    """One line about ``service`` and whether it runs as recorded and is ready."""
    restarted = f", restarted {service.restarts}x" if service.restarts else ""
    port = urlsplit(service.url).port
    listener = listening_pid(port) if port is not None else None
    if not runs_service(service.pid, service.name, service.module):
        found = ""
        if listener is not None:
            found = f"; port {port} is held by pid {listener}, which the stack did not start"
        return f"NOT RUNNING (pid {service.pid} is gone{restarted}){found}", False
    ready = is_ready(service.url)
    line = f"pid {service.pid}{restarted}  {'ready' if ready else 'NOT READY'}"
    if listener is not None and listener != service.pid:
        return f"{line}; port {port} is held by pid {listener}, not by the stack's", False
    return line, ready


def _token(args: argparse.Namespace, data_dir: Path) -> int:
    from passend_backbone.auth.keys import IssuerKey
    from passend_backbone.auth.principal import Principal, Role
    from passend_backbone.auth.tokens import mint

    try:
        role = Role(args.role)
    except ValueError:
        print(f"passend-dev: unknown role {args.role!r}; one of {[r.value for r in Role]}")
        return 2
    principal = Principal(
        subject=args.subject,
        role=role,
        swv=args.swv,
        school_id=args.school_id,
        work_unit_id=args.work_unit_id,
        region=args.region,
    )
    key = IssuerKey(issuer_dir(data_dir))
    print(mint(key, principal, issuer=DEV_ISSUER, audience=DEV_AUDIENCE))
    return 0


if __name__ == "__main__":
    main()
