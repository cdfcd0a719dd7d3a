"""The system under the nemesis: PostgreSQL, the broker, the mail sink and two of every service.

Built from the dev stack's parts (``passend_devstack``): the wheel's PostgreSQL on TCP,
Tansu, the SMTP sink, :func:`~passend_devstack.processes.start_service` and the
:class:`~passend_devstack.supervisor.Supervisor`, which starts an instance that exited
again after a back-off, as an orchestrator would. Each instance runs in a network
namespace of its own (:mod:`tests.nemesis.network`); two instances of a service share
its database and its consumer groups. A third, spare slot per service is what a
rebalance starts (a scale-up) and stops again (a scale-down).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_backbone import topics
from passend_backbone.auth import Role
from passend_devstack.catalog import ServiceEntry
from passend_devstack.infra import Broker, Database, tansu_broker, tcp_postgres
from passend_devstack.mailsink import MailSink, mail_sink
from passend_devstack.processes import ServiceProcess, start_service
from passend_devstack.sealing_keys import sealing_env
from passend_devstack.supervisor import BackOff, Supervised, Supervisor
from passend_devstack.test_tokens import auth_env, token_for
from tests.nemesis import network
from tests.nemesis.network import Host

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "assignment", "trajectory", "notifications", "gateway")
REGULAR_SLOTS = (0, 1)
SPARE_SLOT = 2
HTTP_PORT = 8000
POSTGRES_PORT = 5432
BROKER_PORT = 9092
MAIL_PORT = 2525
INTAKE_SERVICE_PORT = 8001
SERVICE_TOKEN_SWV = "swv-waterweg"  # the load's SWV (load.SWV)
# Delivery lease of the notifications worker, and the send timeouts it must outlive: short,
# so that pauses longer than the lease fit in a run of minutes.
LEASE_SECONDS = 6.0
SEND_TIMEOUT_SECONDS = 3.0
# How an orchestrator restarts a container that exited (shorter than Kubernetes' 10 s start).
RESTARTS = BackOff(first=1.0, factor=2.0, longest=16.0, stable=30.0)


@dataclass(frozen=True)
class Instance:
    """One service instance: its slot (0 and 1 always run, 2 is the spare) and its host."""

    service: str
    slot: int
    host: Host

    @property
    def name(self) -> str:
        return f"{self.service}-{self.slot}"

    @property
    def url(self) -> str:
        return f"http://{self.host.http_address}:{HTTP_PORT}"


@dataclass
class Exits:
    """Exits the supervisor saw, per instance, with the time each was seen."""

    seen: dict[str, list[float]] = field(default_factory=dict)

    def note(self, name: str) -> None:
        self.seen.setdefault(name, []).append(time.monotonic())

    def since(self, moment: float) -> dict[str, int]:
        return {
            name: len([t for t in times if t >= moment])
            for name, times in self.seen.items()
            if any(t >= moment for t in times)
        }


class Cluster:
    """The running system; use :func:`running_cluster`."""

    def __init__(
        self, workdir: Path, database: Database, broker: Broker, mail: MailSink, log: Path
    ) -> None:
        self.workdir = workdir
        self.database = database
        self.broker = broker
        self.mail = mail
        self.log_path = log
        self._log = log.open("a", buffering=1)
        self.exits = Exits()
        self.supervisor = Supervisor(
            say=self.say,
            backoff=RESTARTS,
            on_exit=lambda exited, _code: self.exits.note(exited.name),
        )
        self.instances: dict[str, Instance] = {}
        self.pools: dict[str, asyncpg.Pool] = {}
        self.token_dir = workdir / "service-tokens"
        _write_service_token(self.token_dir)

    def say(self, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self._log.write(f"{stamp} {line}\n")

    # -- instances --------------------------------------------------------------------------

    def env(self, instance: Instance) -> dict[str, str]:
        service = instance.service
        env = {
            **os.environ,
            **auth_env(),
            "DATABASE_URL": self.database.url_for(f"passend_{service}"),
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
            "KAFKA_BROKER_KIND": self.broker.kind,
            "HTTP_HOST": instance.host.http_address,
            "HTTP_PORT": str(HTTP_PORT),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "info",
            # The key-encryption keys the services refuse to start without, as `make up`
            # makes them (one per service, shared by its instances).
            **sealing_env(self.workdir, os.environ, service),
        }
        env.pop("KAFKA_TOPIC_PREFIX", None)
        if service == "assignment":
            env[ENV_VAR] = str(DEV_FILE)
        if service == "notifications":
            env.update(self.mail.env())
            env.update(
                {
                    "NOTIFICATIONS_LEASE_SECONDS": str(LEASE_SECONDS),
                    "NOTIFICATIONS_SMTP_TIMEOUT_SECONDS": str(SEND_TIMEOUT_SECONDS),
                    "NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS": str(SEND_TIMEOUT_SECONDS),
                    "NOTIFICATIONS_INTAKE_TIMEOUT_SECONDS": str(SEND_TIMEOUT_SECONDS),
                    # Parents' details are asked of intake at delivery, through its
                    # service address, with a service token per SWV.
                    "NOTIFICATIONS_INTAKE_URL": (
                        f"http://{network.INTAKE_ADDRESS}:{INTAKE_SERVICE_PORT}"
                    ),
                    "NOTIFICATIONS_SERVICE_TOKENS": str(self.token_dir),
                    "NOTIFICATIONS_POLL_SECONDS": "0.5",
                    "NOTIFICATIONS_BACKOFF_BASE_SECONDS": "2",
                    "NOTIFICATIONS_BACKOFF_CAP_SECONDS": "10",
                }
            )
        return env

    def starter(self, instance: Instance) -> Callable[[], ServiceProcess]:
        entry = ServiceEntry(instance.service, f"passend_{instance.service}")
        env = self.env(instance)
        log = self.workdir / "logs" / f"{instance.name}.log"

        def start() -> ServiceProcess:
            return start_service(
                entry,
                HTTP_PORT,
                env,
                log,
                ROOT,
                host=instance.host.http_address,
                prefix=instance.host.prefix(),
            )

        return start

    def start(self, instance: Instance) -> Supervised:
        """Start ``instance`` under the supervisor."""
        return self.supervisor.run(instance.name, self.starter(instance))

    async def stop(self, instance: Instance, *, grace: float = 15.0) -> int | None:
        """Stop ``instance`` on purpose (SIGTERM, a scale-down); its exit code."""
        process = self.supervisor.release(instance.name)
        process.signal_group(signal.SIGTERM)

        def wait() -> int | None:
            try:
                return process.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.signal_group(signal.SIGKILL)
                return process.process.wait()
            finally:
                process.close_log()

        return await asyncio.to_thread(wait)

    def is_running(self, instance: Instance) -> bool:
        with contextlib.suppress(KeyError):
            return self.supervisor[instance.name].running
        return False

    def pid(self, instance: Instance) -> int:
        return self.supervisor[instance.name].process.pid

    def supervised(self) -> list[Instance]:
        """The instances the supervisor keeps running now."""
        names = {s.name for s in self.supervisor}
        return [i for i in self.instances.values() if i.name in names]

    def regular(self, service: str | None = None) -> list[Instance]:
        return [
            i
            for i in self.instances.values()
            if i.slot in REGULAR_SLOTS and (service is None or i.service == service)
        ]

    def spare(self, service: str) -> Instance:
        return self.instances[f"{service}-{SPARE_SLOT}"]

    def by_address(self, address: str) -> Instance | None:
        """The instance whose database link has ``address`` (PostgreSQL's client_addr)."""
        for instance in self.instances.values():
            if instance.host.address("db") == address:
                return instance
        return None

    # -- the shared servers -------------------------------------------------------------------

    def signal_postgres(self, sig: signal.Signals) -> None:
        """``sig`` to the postmaster, then to every process it started (backends and the
        server's own workers; each backend runs in a process group of its own)."""
        postmaster = self.database.pid
        assert postmaster is not None
        os.kill(postmaster, sig)
        for pid in children(postmaster):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def signal_broker(self, sig: signal.Signals) -> None:
        assert self.broker.pid is not None
        os.killpg(self.broker.pid, sig)

    # -- readiness ----------------------------------------------------------------------------

    async def ready(self, http: httpx.AsyncClient, instance: Instance) -> bool:
        try:
            response = await http.get(f"{instance.url}/health/ready", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def not_ready(self, http: httpx.AsyncClient) -> list[str]:
        """The supervised instances that don't answer ready now."""
        instances = self.supervised()
        answers = await asyncio.gather(*(self.ready(http, i) for i in instances))
        return [i.name for i, ok in zip(instances, answers, strict=True) if not ok]

    def close(self) -> None:
        self._log.close()


def _write_service_token(directory: Path) -> None:
    """Notifications' token for intake (role ``service``), as the deployment provides it."""
    directory.mkdir(parents=True, exist_ok=True)
    token = token_for(Role.SERVICE, SERVICE_TOKEN_SWV, subject="service:notifications")
    path = directory / f"{SERVICE_TOKEN_SWV}.jwt"
    path.write_text(token, encoding="utf-8")
    path.chmod(0o600)


@contextlib.asynccontextmanager
async def service_address(cluster: Cluster, service: str, port: int) -> AsyncIterator[None]:
    """A service's one address, as a Kubernetes Service gives it: each connection goes to
    one of its running instances (another one if that one doesn't take it within 1 s)."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError, ConnectionError):
            writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        candidates = [i for i in cluster.supervised() if i.service == service]
        random.shuffle(candidates)
        for instance in candidates:
            try:
                upstream = await asyncio.wait_for(
                    asyncio.open_connection(instance.host.http_address, HTTP_PORT), 1.0
                )
            except (OSError, TimeoutError):
                continue
            await asyncio.gather(pipe(reader, upstream[1]), pipe(upstream[0], writer))
            return
        writer.close()

    server = await asyncio.start_server(serve, network.INTAKE_ADDRESS, port)
    try:
        yield
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)


def children(parent: int) -> list[int]:
    """The pids whose parent is ``parent`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


async def _create_databases(database: Database) -> None:
    conn = await asyncpg.connect(database.admin_url)
    try:
        for service in SERVICES:
            await conn.execute(f'CREATE DATABASE "passend_{service}"')
    finally:
        await conn.close()


# The municipalities whose integration topics the cluster's topics step creates.
NEMESIS_MUNICIPALITIES = ("GM0556", "GM0606", "GM0622")


@contextlib.contextmanager
def _servers(workdir: Path) -> Iterator[tuple[Database, Broker, MailSink]]:
    with (
        network.shared_addresses(),
        tcp_postgres(
            workdir / "postgres",
            network.POSTGRES_ADDRESS,
            POSTGRES_PORT,
            clients=(network.INSTANCE_NET, network.SERVICES_NET),
            log=workdir / "logs" / "postgres.log",
        ) as database,
        tansu_broker(BROKER_PORT, workdir / "logs" / "tansu.log", host=network.BROKER_ADDRESS) as b,
        mail_sink(workdir / "mail", MAIL_PORT, host=network.MAIL_ADDRESS) as mail,
    ):
        yield database, b, mail


def stop_leftover_processes() -> list[int]:
    """Kill what a run that was killed left running: its servers and service instances.

    They are recognised by the addresses only this suite uses (the broker's in a service's
    environment, the servers' on their command lines); their namespaces are gone already.
    """
    broker = f"{network.BROKER_ADDRESS}:{BROKER_PORT}"
    marks = (broker, f"-h {network.POSTGRES_ADDRESS}")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (entry / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if any(m in command for m in marks) or f"KAFKA_BOOTSTRAP_SERVERS={broker}" in environ:
            found.append(int(entry.name))
    for pid in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return found


@contextlib.asynccontextmanager
async def running_cluster(
    workdir: Path, services: tuple[str, ...] = SERVICES, ready_timeout: float = 180.0
) -> AsyncIterator[Cluster]:
    """Everything started and ready; everything stopped and removed at the end."""
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    stop_leftover_processes()
    async with contextlib.AsyncExitStack() as stack:
        database, broker, mail = stack.enter_context(_servers(workdir))
        cluster = Cluster(workdir, database, broker, mail, workdir / "logs" / "nemesis.log")
        stack.callback(cluster.close)
        await stack.enter_async_context(service_address(cluster, "intake", INTAKE_SERVICE_PORT))
        await _create_databases(database)
        # The operator's topics step: the services create none (passend-ops topics apply).
        wanted = topics.plan(topics.load_catalogue(), NEMESIS_MUNICIPALITIES)
        applied = await topics.apply(
            topics.KafkaTopics(broker.bootstrap_servers), wanted, topics.Durability()
        )
        assert applied.ok, applied.remaining
        index = 0
        hosts: list[Host] = []
        try:
            for service in services:
                for slot in (*REGULAR_SLOTS, SPARE_SLOT):
                    host = network.create_host(index, f"{service}-{slot}")
                    hosts.append(host)
                    cluster.instances[f"{service}-{slot}"] = Instance(service, slot, host)
                    index += 1
            # One instance of each first: migrations are made once, not raced.
            for slot in REGULAR_SLOTS:
                for instance in cluster.regular():
                    if instance.slot == slot:
                        cluster.start(instance)
                await wait_ready(cluster, ready_timeout)
            for service in services:
                cluster.pools[service] = await asyncpg.create_pool(
                    database.url_for(f"passend_{service}"), min_size=1, max_size=3
                )
            yield cluster
        finally:
            for pool in cluster.pools.values():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pool.close(), 10)
            with contextlib.suppress(ProcessLookupError, AssertionError):
                cluster.signal_postgres(signal.SIGCONT)
                cluster.signal_broker(signal.SIGCONT)
            for instance in cluster.supervised():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(cluster.pid(instance), signal.SIGCONT)
            for host in hosts:
                host.heal(*network.LINKS)
            await asyncio.to_thread(cluster.supervisor.stop_all, 15.0)
            for host in hosts:
                network.remove_host(host)


async def wait_ready(cluster: Cluster, timeout: float) -> float:
    """Wait until every supervised instance answers ready; the seconds it took."""
    started = time.monotonic()
    async with httpx.AsyncClient() as http:
        while True:
            cluster.supervisor.check()
            waiting = await cluster.not_ready(http)
            if not waiting:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"not ready after {timeout:g}s: {', '.join(waiting)}")
            await asyncio.sleep(0.3)
