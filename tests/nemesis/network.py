"""The nemesis's own test hosts: one network namespace per service instance, cut and healed.

Every instance gets a namespace with three veth links to the host's namespace, each a /30
of its own: ``http`` (the driver reaches its API; it reaches the mail sink and intake's
service address), ``db`` (the only way to PostgreSQL) and ``bus`` (the only way to the
broker). PostgreSQL, the broker, the mail sink and intake's service address (a small
proxy in the nemesis, see :mod:`tests.nemesis.cluster`) listen on addresses of the host's
loopback device (``SERVICES_NET``), so no traffic leaves these namespaces and loopback,
and nothing listens on a real interface.

A partition sets the host end of a link down: the instance's packets on it are dropped
without a word, so open connections hang until their own timeouts, and new ones fail to
reach the peer, as when a cable is pulled. Healing sets it up again; the instance's routes
stay in place throughout. Only iproute2 (``ip``) is needed.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

# The addresses the shared servers listen on, on the host's loopback device.
SERVICES_NET = "10.76.0.0/24"
POSTGRES_ADDRESS = "10.76.0.2"
BROKER_ADDRESS = "10.76.0.3"
MAIL_ADDRESS = "10.76.0.4"
# Intake's service address (as a Kubernetes Service has one): notifications asks it for parents.
INTAKE_ADDRESS = "10.76.0.5"
SHARED_ADDRESSES = (POSTGRES_ADDRESS, BROKER_ADDRESS, MAIL_ADDRESS, INTAKE_ADDRESS)
# Instance k's links are 10.77.k.0/30 (http), 10.77.k.4/30 (db), 10.77.k.8/30 (bus).
INSTANCE_NET = "10.77.0.0/16"
IP = shutil.which("ip") or "/usr/sbin/ip"
PREFIX = "pn"  # of every namespace and link this module makes, so a rerun finds leftovers
LINKS = ("http", "db", "bus")
Link = str


def ip(*args: str, check: bool = True) -> str:
    """Run ``ip`` with ``args``; its output."""
    done = subprocess.run([IP, *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class Host:
    """One instance's namespace: its name, its addresses and the host ends of its links."""

    index: int
    namespace: str

    def address(self, link: Link) -> str:
        """The instance's own address on ``link``."""
        return f"10.77.{self.index}.{4 * LINKS.index(link) + 2}"

    def gateway(self, link: Link) -> str:
        """The host end's address on ``link``."""
        return f"10.77.{self.index}.{4 * LINKS.index(link) + 1}"

    def device(self, link: Link) -> str:
        """The host end's device name (at most 15 characters)."""
        return f"{PREFIX}{self.index}{link[0]}"

    @property
    def http_address(self) -> str:
        return self.address("http")

    def prefix(self) -> list[str]:
        """The command prefix that runs a program inside this namespace."""
        return [IP, "netns", "exec", self.namespace]

    def cut(self, *links: Link) -> None:
        """Drop every packet on ``links`` (``db``, ``bus``) until :meth:`heal`."""
        for link in links:
            ip("link", "set", self.device(link), "down")

    def heal(self, *links: Link) -> None:
        for link in links:
            ip("link", "set", self.device(link), "up")

    def is_cut(self, link: Link) -> bool:
        return "state DOWN" in ip("link", "show", self.device(link))


def create_host(index: int, name: str) -> Host:
    """A namespace ``pn-<name>`` with its three links and routes to the shared servers."""
    host = Host(index, f"{PREFIX}-{name}")
    ns = host.namespace
    ip("netns", "add", ns)
    ip("-n", ns, "link", "set", "lo", "up")
    for link in LINKS:
        outer, inner = host.device(link), f"{link}0"
        ip("link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns)
        ip("addr", "add", f"{host.gateway(link)}/30", "dev", outer)
        ip("link", "set", outer, "up")
        ip("-n", ns, "addr", "add", f"{host.address(link)}/30", "dev", inner)
        ip("-n", ns, "link", "set", inner, "up")
    for address, link in (
        (POSTGRES_ADDRESS, "db"),
        (BROKER_ADDRESS, "bus"),
        (MAIL_ADDRESS, "http"),
        (INTAKE_ADDRESS, "http"),
    ):
        ip("-n", ns, "route", "add", f"{address}/32", "via", host.gateway(link))
    return host


def remove_host(host: Host) -> None:
    # Deleting the namespace deletes its ends of the veth pairs, and with them ours.
    ip("netns", "del", host.namespace, check=False)
    for link in LINKS:
        ip("link", "del", host.device(link), check=False)


def remove_leftovers() -> None:
    """Namespaces, links and addresses a previous run left (it was killed, say)."""
    for line in ip("netns", "list").splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(f"{PREFIX}-"):
            ip("netns", "del", name, check=False)
    for line in ip("-o", "link", "show").splitlines():
        device = line.split(":")[1].strip().split("@")[0]
        if device.startswith(PREFIX) and device[len(PREFIX) : len(PREFIX) + 1].isdigit():
            ip("link", "del", device, check=False)
    for address in SHARED_ADDRESSES:
        ip("addr", "del", f"{address}/32", "dev", "lo", check=False)


@contextlib.contextmanager
def shared_addresses() -> Iterator[None]:
    """The servers' addresses on the host's loopback device, removed afterwards."""
    remove_leftovers()
    for address in SHARED_ADDRESSES:
        ip("addr", "add", f"{address}/32", "dev", "lo")
    try:
        yield
    finally:
        remove_leftovers()


def check_prerequisites() -> str | None:
    """Why the nemesis can't run here, or None: it needs root and iproute2."""
    import os

    if shutil.which("ip") is None:
        return "`ip` is missing: apt-get install -y iproute2"
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"{PREFIX}-probe"
    try:
        ip("netns", "add", probe)
    except RuntimeError as exc:
        return f"can't make a network namespace here: {exc}"
    ip("netns", "del", probe, check=False)
    return None
