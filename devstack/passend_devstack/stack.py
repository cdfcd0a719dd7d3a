"""``passend-dev up``: PostgreSQL, the broker and the services, until Ctrl-C stops them all.

Order matters both ways. Up: PostgreSQL, broker, one database per service, the topics
(``passend-ops topics apply``'s plan, topic_step.py), the services
(in their own process groups), then wait for every ``/health/ready``. While it runs, a
service that exits is started again after a back-off, as an orchestrator would
(supervisor.py), and ``stack.json`` names the pid that runs now. Down, in reverse:
services first (SIGTERM, so they finish their batch and their relay flushes), then the
broker, then PostgreSQL; nothing is left running.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import itertools
import json
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import asyncpg

from passend_backbone.auth.keys import IssuerKey
from passend_devstack import state
from passend_devstack.catalog import ServiceEntry, port_offsets
from passend_devstack.contacts import load_dev_contacts, register_contacts
from passend_devstack.infra import (
    Broker,
    Database,
    broker_from_env,
    database_from_env,
    embedded_postgres,
    free_port,
    port_is_free,
    tansu_broker,
)
from passend_devstack.mailsink import MailSink, mail_sink
from passend_devstack.oidc_provider import (
    STRANGER,
    DevClient,
    OidcProvider,
    machine_clients,
    trusted_issuer_entry,
    users_of_directory,
)
from passend_devstack.processes import (
    ServiceFailed,
    ServiceProcess,
    command_line,
    is_alive,
    runs_service,
    start_service,
    wait_ready,
)
from passend_devstack.sealing_keys import sealing_env
from passend_devstack.service_tokens import token_dir, write_tokens
from passend_devstack.supervisor import Supervised, Supervisor
from passend_devstack.topic_step import apply_topics

DEV_ISSUER = "passend-dev-issuer"
DEV_AUDIENCE = "passend"
PREFERRED_BROKER_PORT = 9092
# The dev OpenID provider listens here (base port + 9, so 8010) when that port is free.
OIDC_PORT_OFFSET = 9
PORTAL_CLIENT_ID = "passend-portal"
# Services get this long to stop cleanly (their own bound is 10 s) before they are killed.
STOP_GRACE_SECONDS = 15.0


@dataclass(frozen=True)
class UpOptions:
    """What ``passend-dev up`` was asked to run."""

    project_root: Path
    data_dir: Path
    base_port: int
    services: list[ServiceEntry]
    log_level: str = "info"
    log_format: str = "json"
    ready_timeout: float = 90.0


class StackError(Exception):
    """The stack can't start; the message says why and what to do."""


def issuer_dir(data_dir: Path) -> Path:
    """Where the dev token issuer keeps its key and JWKS."""
    return data_dir / "issuer"


def install_stop_signals(stop: threading.Event, out: TextIO) -> None:
    """SIGINT and SIGTERM set ``stop``; the stack checks it between steps.

    Raising from the handler instead could interrupt a half-started PostgreSQL or broker
    and leave it running without anyone holding it.
    """

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            print("Still stopping, please wait...", file=out, flush=True)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def run_up(options: UpOptions, stop: threading.Event, out: TextIO) -> int:
    """Run the stack until ``stop`` is set; the exit code of ``passend-dev up``."""
    data_dir = options.data_dir
    say = _Printer(out)
    _refuse_second_stack(data_dir)
    _stop_leftovers(data_dir, say)
    problems = {s.name: s.problem(options.project_root) for s in options.services}
    found = [f"\n  {name}: {problem}" for name, problem in problems.items() if problem]
    if found:
        raise StackError(
            f"can't start every service:{''.join(found)}\n"
            "Run `make install` (it installs every service), or fix the error above."
        )
    offsets = port_offsets(options.services)
    ports = {s.name: options.base_port + offsets[s.name] for s in options.services}
    busy = [f"{name}: {port}" for name, port in ports.items() if not port_is_free(port)]
    if busy:
        raise StackError(
            f"ports already in use ({', '.join(busy)}): is another stack running? "
            "Stop it, or pick other ports with --base-port."
        )
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    with contextlib.ExitStack() as stack:
        stack.callback(state.remove, data_dir)  # last, after everything stopped
        database = database_from_env()
        if database is None:
            say(f"Starting PostgreSQL (data in {_show(data_dir / 'postgres')}) ...")
            database = stack.enter_context(_dev_postgres(data_dir / "postgres"))
        else:
            say("Using the PostgreSQL server from DATABASE_URL.")
        if stop.is_set():
            return _stopped(say)
        broker = broker_from_env()
        fresh_broker = broker is None
        if broker is None:
            port = PREFERRED_BROKER_PORT if port_is_free(PREFERRED_BROKER_PORT) else free_port()
            say(f"Starting the Tansu broker on 127.0.0.1:{port} ...")
            broker = stack.enter_context(tansu_broker(port, log=logs / "tansu.log"))
        else:
            say(f"Using the {broker.kind} broker at {broker.bootstrap_servers}.")
        if stop.is_set():
            return _stopped(say)

        mail: MailSink | None = None
        if "NOTIFICATIONS_SMTP_HOST" in os.environ:
            say(f"Mail goes to the SMTP server {os.environ['NOTIFICATIONS_SMTP_HOST']}.")
        else:
            mail = stack.enter_context(mail_sink(data_dir / "mail"))
            say(f"Starting the mail sink on {mail.host}:{mail.port} ...")

        provider: OidcProvider | None = None
        if "portal" in ports and not os.environ.get("PORTAL_OIDC_ISSUER"):
            provider = stack.enter_context(
                _dev_provider(data_dir, options.project_root, options.base_port, ports["portal"])
            )
            say(f"Starting the dev OpenID provider on {provider.url} ...")

        asyncio.run(
            _create_databases(database, [s.database for s in options.services if s.owns_data])
        )
        try:
            # Services never create topics: the operator's step comes first, as in production.
            apply_topics(broker.bootstrap_servers, options.services, say)
        except RuntimeError as exc:
            raise StackError(f"{exc}\nRun `passend-ops topics check` against the broker.") from exc
        issuer = IssuerKey(issuer_dir(data_dir))
        base_env = dict(os.environ)
        described = state.StackState(
            pid=os.getpid(),
            started_at=time.time(),
            database="embedded" if database.embedded else "external",
            broker=f"{broker.kind} {broker.bootstrap_servers}",
            broker_pid=broker.pid,
        )
        supervisor = Supervisor(
            say=say,
            # Written at every (re)start, before waiting: ``status`` shows the pid that runs,
            # and if this process is killed the next run finds what it left (_stop_leftovers).
            on_start=lambda _started: _write_state(data_dir, described, supervisor),
            on_exit=lambda exited, code: _show_exit(exited, code, say),
        )
        stack.callback(_stop_all, supervisor, say)
        renew_tokens_at = _service_tokens(data_dir, issuer)
        for service in options.services:
            env = {
                **base_env,
                "DATABASE_URL": database.url_for(service.database),
                "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                "KAFKA_BROKER_KIND": broker.kind,
                "HTTP_HOST": "127.0.0.1",
                "HTTP_PORT": str(ports[service.name]),
                "LOG_LEVEL": options.log_level,
                "LOG_FORMAT": options.log_format,
                # A fresh dev broker has no topics while the event stores kept their
                # events: publish them again, as production does after losing topics.
                "REPUBLISH_ON_START": "true" if fresh_broker else "false",
                "AUTH_ISSUER": DEV_ISSUER,
                "AUTH_AUDIENCE": DEV_AUDIENCE,
                "AUTH_JWKS": str(issuer.jwks_path),
                **(_machine_trust_env(provider) if provider else {}),
                **(mail.env() if mail else {}),
            }
            env.update(_dev_files(service, options.project_root, env))
            if service.name != "portal":
                env.update(sealing_env(data_dir, env, service.name))
            if service.name == "portal":
                env.update(_portal_env(ports, data_dir, issuer))
                if provider is not None:
                    env.update(_portal_oidc_env(provider, data_dir))
            elif service.name == "notifications":
                env.update(_notifications_env(ports, data_dir, env))
            say(f"Starting {service.name} on port {ports[service.name]} ...")
            log_path = logs / f"{service.name}.log"
            start = _starter(service, ports[service.name], env, log_path, options.project_root)
            supervisor.run(service.name, start)
        processes = supervisor.processes
        say("Waiting until every service is ready ...")
        try:
            wait_ready(processes, options.ready_timeout, cancelled=stop.is_set)
        except ServiceFailed as exc:
            say(f"\nA service did not start: {exc}")
            return 1
        if stop.is_set():
            return _stopped(say)
        _register_dev_contacts(processes, issuer, say)

        out.write(_table(processes, database, broker, fresh_broker, data_dir, mail, provider))
        out.flush()
        return _watch(supervisor, stop, lambda: _service_tokens(data_dir, issuer), renew_tokens_at)


def _watch(
    supervisor: Supervisor,
    stop: threading.Event,
    renew: Callable[[], float] | None = None,
    renew_at: float = float("inf"),
) -> int:
    """Until ``stop``: start a service that exited again, after a back-off (supervisor.py),
    and mint the service tokens again before they expire."""
    while not stop.wait(0.5):
        supervisor.check()
        if renew is not None and time.time() >= renew_at:
            renew_at = renew()
    return 0


def _service_tokens(data_dir: Path, issuer: IssuerKey) -> float:
    """The notifications service's tokens for intake, per SWV (service_tokens.py)."""
    return write_tokens(token_dir(data_dir), issuer, issuer_name=DEV_ISSUER, audience=DEV_AUDIENCE)


def _webhook_secret_key(data_dir: Path) -> str:
    """The dev stack's key that seals webhook secrets at rest: made once per data directory,
    so the subscriptions of an earlier run still open."""
    path = data_dir / "webhook-secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
        path.chmod(0o600)
    return path.read_text().strip()


def _notifications_env(
    ports: dict[str, int], data_dir: Path, env: dict[str, str]
) -> dict[str, str]:
    """Notifications asks intake for a parent's address and link at delivery, with a service
    token of the SWV; links in e-mails open the portal (the case, or the parent's page);
    webhook secrets are sealed with the data directory's own key."""
    found = {
        "NOTIFICATIONS_SERVICE_TOKENS": str(token_dir(data_dir)),
        "NOTIFICATIONS_WEBHOOK_SECRET_KEY": _webhook_secret_key(data_dir),
    }
    if "intake" in ports:
        found["NOTIFICATIONS_INTAKE_URL"] = f"http://127.0.0.1:{ports['intake']}"
    if "portal" in ports:
        portal = f"http://127.0.0.1:{ports['portal']}"
        found["NOTIFICATIONS_CASE_LINK_BASE"] = f"{portal}/zaken"
        found["NOTIFICATIONS_PARENT_LINK_BASE"] = f"{portal}/toestemming"
    # Settings from the environment of `passend-dev up` win.
    return {name: value for name, value in found.items() if name not in env}


def _starter(
    service: ServiceEntry, port: int, env: dict[str, str], log_path: Path, root: Path
) -> Callable[[], ServiceProcess]:
    """Starts ``service``; a start after the first doesn't republish: the broker kept it all."""
    starts = itertools.count()

    def start() -> ServiceProcess:
        again = next(starts) > 0
        run_env = {**env, "REPUBLISH_ON_START": "false"} if again else env
        return start_service(service, port, run_env, log_path, root)

    return start


def _show_exit(supervised: Supervised, code: int, say: _Printer) -> None:
    """A service that ended by itself (not by a signal) says why at the end of its log."""
    if code >= 0:
        process = supervised.process
        say(f"The end of {_show(process.log_path)}:\n{process.log_tail()}")


def _write_state(data_dir: Path, described: state.StackState, supervisor: Supervisor) -> None:
    state.write(
        data_dir,
        dataclasses.replace(
            described,
            services=[
                state.ServiceState(
                    s.name,
                    s.process.url,
                    s.process.pid,
                    str(s.process.log_path),
                    s.process.entry.module,
                    restarts=s.restarts,
                )
                for s in supervisor
            ],
        ),
    )


# Dev data a service loads at start, unless its environment names a file already.
_DEV_FILES = {
    "assignment": (
        "ASSIGNMENT_DIRECTORY_FILE",
        "services/assignment/passend_assignment/dev_directory.yaml",
    ),
}


def _dev_files(service: ServiceEntry, root: Path, env: dict[str, str]) -> dict[str, str]:
    """The dev directory for assignment (the SWV ``swv-waterweg`` the dev contacts use)."""
    variable, relative = _DEV_FILES.get(service.name, ("", ""))
    path = root / relative
    if not variable or variable in env or not path.is_file():
        return {}
    return {variable: str(path)}


def _portal_env(ports: dict[str, int], data_dir: Path, issuer: IssuerKey) -> dict[str, str]:
    """The portal calls the services' APIs and signs dev users in with the dev issuer."""
    secret_file = data_dir / "portal-session-secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(32))
        secret_file.chmod(0o600)
    env = {
        f"PORTAL_{name.upper()}_URL": f"http://127.0.0.1:{port}"
        for name, port in ports.items()
        if name != "portal"
    }
    return {
        **env,
        "PORTAL_DEV_ISSUER_DIR": str(issuer.pem_path.parent),
        "PORTAL_TOKEN_ISSUER": DEV_ISSUER,
        "PORTAL_TOKEN_AUDIENCE": DEV_AUDIENCE,
        "PORTAL_SESSION_SECRET": secret_file.read_text().strip(),
        "PORTAL_PUBLIC_URL": f"http://127.0.0.1:{ports['portal']}",
    }


def _client_secret(data_dir: Path) -> str:
    """The portal's client secret at the dev provider (kept in the data dir, like a Secret)."""
    secret_file = data_dir / "portal-oidc-client-secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(32))
        secret_file.chmod(0o600)
    return secret_file.read_text().strip()


@contextlib.contextmanager
def _dev_provider(
    data_dir: Path, root: Path, base_port: int, portal_port: int
) -> Iterator[OidcProvider]:
    """The dev OpenID provider: the dev directory's people (and one person it doesn't
    know) sign in with one click; the portal is its registered client."""
    _, relative = _DEV_FILES["assignment"]
    directory = root / relative
    users = [*(users_of_directory(directory) if directory.is_file() else []), STRANGER]
    portal = f"http://127.0.0.1:{portal_port}"
    client = DevClient(
        PORTAL_CLIENT_ID,
        _client_secret(data_dir),
        redirect_uris=(f"{portal}/aanmelden/terug",),
        post_logout_redirect_uris=(f"{portal}/afgemeld",),
    )
    preferred = base_port + OIDC_PORT_OFFSET
    port = preferred if port_is_free(preferred) else free_port()
    clients = [client, *machine_clients()]
    with OidcProvider(data_dir / "oidc-provider", users, clients, port=port) as provider:
        yield provider


def _machine_trust_env(provider: OidcProvider) -> dict[str, str]:
    """The services take the dev provider's client-credentials tokens of its machine
    clients (dev_machine_clients.yaml) besides the portal's tokens."""
    entry = trusted_issuer_entry(provider.url, provider.clients.values())
    return {"AUTH_TRUSTED_ISSUERS": json.dumps([entry])}


def _portal_oidc_env(provider: OidcProvider, data_dir: Path) -> dict[str, str]:
    """The portal signs people in through the dev provider, as in production."""
    return {
        "PORTAL_OIDC_ISSUER": provider.url,
        "PORTAL_OIDC_CLIENT_ID": PORTAL_CLIENT_ID,
        "PORTAL_OIDC_CLIENT_SECRET": _client_secret(data_dir),
    }


def _register_dev_contacts(
    processes: list[ServiceProcess], issuer: IssuerKey, say: _Printer
) -> None:
    """Give the SWV's functional mailboxes their addresses (dev_contacts.yaml), so their mail
    reaches the sink instead of waiting for an address; a problem is reported, not fatal."""
    notifications = next((p for p in processes if p.entry.name == "notifications"), None)
    if notifications is None:
        return
    contacts = load_dev_contacts()
    problems = register_contacts(
        notifications.url, contacts, issuer, issuer_name=DEV_ISSUER, audience=DEV_AUDIENCE
    )
    if problems:
        say("Could not register every dev contact:\n  " + "\n  ".join(problems))


def _stopped(say: _Printer) -> int:
    say("Stopped before everything was up.")
    return 130


def _stop_all(supervisor: Supervisor, say: _Printer) -> None:
    if not supervisor.processes:
        return
    say("\nStopping the services ...")
    killed = supervisor.stop_all(STOP_GRACE_SECONDS)
    if killed:
        say(f"Killed (they didn't stop within {STOP_GRACE_SECONDS:g}s): {', '.join(killed)}")
    say("Services stopped; stopping the broker and PostgreSQL ...")


@contextlib.contextmanager
def _dev_postgres(datadir: Path) -> Iterator[Database]:
    """Embedded PostgreSQL on ``datadir``, surely stopped afterwards.

    The wheel stops the server only when it thinks it holds the last handle; a dev stack
    that was killed leaves a stale handle behind, so check and stop it here.
    """
    try:
        with embedded_postgres(datadir) as database:
            yield database
    finally:
        pid = _postmaster_pid(datadir)
        if pid is not None and is_alive(pid):
            os.kill(pid, signal.SIGINT)  # "fast" shutdown: disconnect clients, checkpoint
            deadline = time.monotonic() + 15
            while is_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if is_alive(pid):
                os.kill(pid, signal.SIGQUIT)


def _postmaster_pid(datadir: Path) -> int | None:
    try:
        first = (datadir / "postmaster.pid").read_text().splitlines()[0]
        return int(first)
    except (OSError, IndexError, ValueError):
        return None


async def _create_databases(database: Database, names: list[str]) -> None:
    """One database per service on the server (kept between runs)."""
    conn = await asyncpg.connect(database.admin_url)
    try:
        for name in names:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def _refuse_second_stack(data_dir: Path) -> None:
    running = state.read(data_dir)
    if running is not None and is_alive(running.pid):
        raise StackError(
            f"a dev stack already runs on {_show(data_dir)} (pid {running.pid}): "
            "stop it with Ctrl-C in its terminal, or use another --data-dir"
        )


def _stop_leftovers(data_dir: Path, say: _Printer) -> None:
    """Stop what a killed ``passend-dev`` left running on this data directory.

    A dev stack killed with SIGKILL can't stop its services and broker (they run in
    sessions of their own); its ``stack.json`` says which they were.
    """
    stale = state.read(data_dir)
    if stale is None:
        return
    # Only processes that still run the same command: a pid may have been reused.
    leftovers = [s.pid for s in stale.services if runs_service(s.pid, s.name, s.module)]
    if stale.broker_pid is not None and "tansu" in command_line(stale.broker_pid):
        leftovers.append(stale.broker_pid)
    if leftovers:
        say(f"Stopping what a previous run left behind (pids {leftovers}) ...")
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while any(is_alive(pid) for pid in leftovers) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    state.remove(data_dir)


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, line: str) -> None:
        print(line, file=self.out, flush=True)


def _show(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


RUNNING_BANNER = "Passend is running."


def _command() -> str:
    """How to call passend-dev from here (it lives in the virtualenv, maybe not on PATH)."""
    script = Path(sys.executable).parent / "passend-dev"
    return _show(script) if script.exists() else "passend-dev"


def _table(
    processes: list[ServiceProcess],
    database: Database,
    broker: Broker,
    fresh_broker: bool,
    data_dir: Path,
    mail: MailSink | None = None,
    provider: OidcProvider | None = None,
) -> str:
    rows = [("service", "URL", "API docs", "database", "log")]
    rows += [
        (
            p.entry.name,
            p.url,
            f"{p.url}/docs" if p.entry.owns_data else "(web pages)",
            p.entry.database if p.entry.owns_data else "-",
            _show(p.log_path),
        )
        for p in processes
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        ("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))).rstrip()
        for r in rows
    ]
    lines.insert(1, "  " + "  ".join("-" * w for w in widths))
    pg = (
        f"embedded, data in {_show(data_dir / 'postgres')}"
        if database.embedded
        else "external (DATABASE_URL)"
    )
    bus = f"{broker.kind} at {broker.bootstrap_servers}"
    if fresh_broker:
        bus += " (memory only: services republished their stored events)"
    info = {
        "PostgreSQL": pg,
        "Broker": bus,
        "Data dir": _show(data_dir),
        "Mail": (
            f"every message as a .eml file in {_show(mail.folder)} "
            f"(SMTP sink on {mail.host}:{mail.port})"
            if mail
            else "to NOTIFICATIONS_SMTP_HOST"
        ),
        "Sign-in": (
            f"the dev OpenID provider at {provider.url}: the dev directory's people, one "
            "click each (no password)"
            if provider
            else "the provider of PORTAL_OIDC_ISSUER"
        ),
        "Dev tokens": f"{_command()} token --role ib --swv swv-waterweg --school-id brin-11aa"
        " --subject ib-marieke  (paste into /docs, Authorize)",
    }
    footer = [f"  {k + ':':<12}{v}" for k, v in info.items()]
    return (
        "\n".join(
            ["", RUNNING_BANNER + " Press Ctrl-C to stop everything.", "", *lines, "", *footer, ""]
        )
        + "\n"
    )
