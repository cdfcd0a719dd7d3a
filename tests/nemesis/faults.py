"""The nemesis: crashes, pauses, partitions and rebalances, injected while the load runs.

Faults come from a few lanes at once, each injecting one fault at a time: two lanes pick
any running instance (crash, pause, partition, rolling restart); one lane aims: a
rebalance (a spare joins, then leaves); a crash of the instance that holds its outbox
relay's lock, or of one whose consumer groups are rebalancing; the relay lock's holder cut
off from PostgreSQL, or paused; a notifications instance paused while a message is being
sent; a pause of PostgreSQL or of the broker. No instance suffers two faults at once;
PostgreSQL and the broker are paused one at a time.

Every fault is healed by the nemesis itself (SIGCONT, the link set up, a spare stopped)
except a crash: the supervisor starts the instance again, as an orchestrator would.
Each fault's record says when it began, when it was healed and when its target (every
instance, for PostgreSQL and the broker) answered ready again: the time to heal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from passend_contracts import topics
from tests.nemesis.cluster import LEASE_SECONDS, Cluster, Instance

# Longer than the consumers' session timeout on Tansu (1 s) and the delivery lease.
PAUSE_SECONDS = (LEASE_SECONDS + 1.0, LEASE_SECONDS + 6.0)
PARTITION_SECONDS = (LEASE_SECONDS + 1.0, LEASE_SECONDS + 6.0)
GAP_SECONDS = (1.0, 3.0)
HEAL_TIMEOUT = 180.0
KINDS = ("crash", "pause", "partition", "rebalance")
OWN_TOPICS = {
    "intake": topics.INTAKE,
    "assignment": topics.ASSIGNMENT,
    "trajectory": topics.TRAJECTORY,
    "notifications": topics.NOTIFICATIONS,
}


@dataclass
class Fault:
    """One injected fault."""

    kind: str  # crash, pause, partition, rebalance
    what: str  # e.g. "kill -9", "kill -9 holding the relay lock", "SIGSTOP postgres"
    target: str
    began: float = field(default_factory=time.monotonic)
    # From when the target is to heal: SIGCONT sent, link up; the kill for a crash (the
    # supervisor heals it); the start for a rebalance (the spare joins).
    healed: float | None = None
    ready: float | None = None  # the target (every instance) answered ready again
    seconds: float = 0.0  # how long it lasted (pauses, partitions, a spare's life)

    @property
    def heal_seconds(self) -> float | None:
        if self.healed is None or self.ready is None:
            return None
        return self.ready - self.healed


@dataclass
class Nemesis:
    """Injects faults into ``cluster`` until ``stop``; keeps the record."""

    cluster: Cluster
    faults: list[Fault] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    busy: set[str] = field(default_factory=set)  # instances (and "servers") under a fault
    healing: list[asyncio.Task[None]] = field(default_factory=list)  # crashed, not ready yet
    unclean_stops: list[str] = field(default_factory=list)  # SIGTERM without exit code 0
    http: httpx.AsyncClient = field(default_factory=httpx.AsyncClient)

    async def run(self, stop: asyncio.Event, instance_lanes: int = 2) -> None:
        lanes = [self._lane(stop, self._instance_fault) for _ in range(instance_lanes)]
        lanes.append(self._lane(stop, self._system_fault))
        try:
            await asyncio.gather(*lanes)
            await asyncio.gather(*self.healing)
        finally:
            await self.http.aclose()

    async def _lane(self, stop: asyncio.Event, pick: Callable[[], Awaitable[None]]) -> None:
        while not stop.is_set():
            await pick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), random.uniform(*GAP_SECONDS))

    def _free(self, instances: list[Instance]) -> list[Instance]:
        return [i for i in instances if i.name not in self.busy and self.cluster.is_running(i)]

    async def _instance_fault(self) -> None:
        candidates = self._free(self.cluster.regular())
        if not candidates:
            await asyncio.sleep(1)
            return
        target = random.choice(candidates)
        choice = random.choices(["crash", "pause", "partition", "restart"], weights=[3, 3, 4, 1.5])[
            0
        ]
        if choice == "crash":
            await self.crash(target)
            return
        self.busy.add(target.name)
        try:
            if choice == "restart":
                await self.leave_and_join(target)
            elif choice == "pause":
                await self.pause_instance(target)
            else:
                links = random.choice([("db",), ("bus",), ("db", "bus")])
                await self.partition(target, links)
        finally:
            self.busy.discard(target.name)

    async def _system_fault(self) -> None:
        choice = random.choices(
            [
                "rebalance",
                "crash_relay",
                "crash_rebalance",
                "cut_relay",
                "pause_relay",
                "pause_sending",
                "pause_postgres",
                "pause_broker",
            ],
            weights=[3, 3, 3, 1.5, 1.5, 1.5, 1.5, 1.5],
        )[0]
        if choice == "cut_relay":
            await self.cut_relay_holder(random.choice(list(OWN_TOPICS)))
        elif choice == "pause_relay":
            await self.pause_relay_holder(random.choice(list(OWN_TOPICS)))
        elif choice == "pause_sending":
            await self.pause_while_sending()
        elif choice == "rebalance":
            await self.rebalance(random.choice([*list(OWN_TOPICS), "gateway"]))
        elif choice == "crash_relay":
            await self.crash_relay_holder(random.choice(list(OWN_TOPICS)))
        elif choice == "crash_rebalance":
            await self.crash_mid_rebalance(random.choice([*list(OWN_TOPICS), "gateway"]))
        elif choice == "pause_postgres":
            await self.pause_server("postgres")
        else:
            await self.pause_server("broker")

    # -- the faults -----------------------------------------------------------------------

    async def crash(self, target: Instance, what: str = "kill -9") -> Fault:
        """kill -9; the supervisor heals it. The target stays busy until it is ready again,
        while the lane goes on to its next fault."""
        fault = Fault("crash", what, target.name)
        os.kill(self.cluster.pid(target), signal.SIGKILL)
        fault.healed = time.monotonic()
        self._record(fault)
        self.busy.add(target.name)

        async def heal() -> None:
            try:
                await self._until_ready(fault, [target])
            finally:
                self.busy.discard(target.name)

        self.healing.append(asyncio.create_task(heal()))
        return fault

    async def pause_instance(self, target: Instance, when: str = "") -> None:
        seconds = random.uniform(*PAUSE_SECONDS)
        what = f"SIGSTOP instance {when}".strip()
        fault = Fault("pause", what, target.name, seconds=seconds)
        pid = self.cluster.pid(target)
        os.kill(pid, signal.SIGSTOP)
        self._record(fault)
        await asyncio.sleep(seconds)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
        fault.healed = time.monotonic()
        await self._until_ready(fault, [target])

    async def partition(self, target: Instance, links: tuple[str, ...], when: str = "") -> None:
        seconds = random.uniform(*PARTITION_SECONDS)
        names = {"db": "PostgreSQL", "bus": "the broker"}
        what = f"cut off from {' and '.join(names[link] for link in links)} {when}".strip()
        fault = Fault("partition", what, target.name, seconds=seconds)
        target.host.cut(*links)
        self._record(fault)
        try:
            await asyncio.sleep(seconds)
        finally:
            target.host.heal(*links)
        fault.healed = time.monotonic()
        await self._until_ready(fault, [target])

    async def pause_server(self, server: str) -> None:
        if "servers" in self.busy:
            return
        self.busy.add("servers")
        seconds = random.uniform(*PAUSE_SECONDS)
        fault = Fault("pause", f"SIGSTOP {server}", server, seconds=seconds)
        send = self.cluster.signal_postgres if server == "postgres" else self.cluster.signal_broker
        send(signal.SIGSTOP)
        self._record(fault)
        try:
            await asyncio.sleep(seconds)
        finally:
            send(signal.SIGCONT)
            fault.healed = time.monotonic()
            self.busy.discard("servers")
        await self._until_ready(fault, self.cluster.supervised())

    async def rebalance(self, service: str) -> None:
        """Scale up by one (the spare joins every consumer group), then down (it leaves)."""
        spare = self.cluster.spare(service)
        if spare.name in self.busy:
            return
        self.busy.add(spare.name)
        fault = Fault("rebalance", "instance joins, then leaves", spare.name)
        try:
            self.cluster.start(spare)
            self._record(fault)
            fault.healed = fault.began
            await self._until_ready(fault, [spare])
            await asyncio.sleep(random.uniform(2.0, 6.0))
            await self._stop(spare)
            fault.seconds = time.monotonic() - fault.began
        finally:
            self.busy.discard(spare.name)

    async def leave_and_join(self, target: Instance) -> None:
        """A rolling restart: the instance stops cleanly (leaves its groups), then starts."""
        fault = Fault("rebalance", "instance leaves (SIGTERM), then joins again", target.name)
        self._record(fault)
        await self._stop(target)
        fault.healed = time.monotonic()
        self.cluster.start(target)
        await self._until_ready(fault, [target])
        fault.seconds = time.monotonic() - fault.began

    async def _stop(self, instance: Instance) -> None:
        code = await self.cluster.stop(instance)
        if code != 0:
            self.unclean_stops.append(f"{instance.name} exited with {code} on SIGTERM")

    async def crash_mid_rebalance(self, service: str) -> None:
        """A spare starts (its groups rebalance); a regular instance is killed meanwhile."""
        spare = self.cluster.spare(service)
        victims = self._free(self.cluster.regular(service))
        if spare.name in self.busy or not victims:
            return
        victim = random.choice(victims)
        self.busy.add(spare.name)
        join = Fault("rebalance", "instance joins, then leaves", spare.name)
        try:
            self.cluster.start(spare)
            self._record(join)
            join.healed = join.began
            # Consumers join their groups before HTTP listens: once it answers, they are
            # joining (a join takes about half the session timeout on Tansu).
            deadline = time.monotonic() + HEAL_TIMEOUT
            while time.monotonic() < deadline and not await self._answers(spare):
                await asyncio.sleep(0.05)
            if victim.name not in self.busy and self.cluster.is_running(victim):
                await self.crash(victim, "kill -9 during a rebalance")
            await self._until_ready(join, [spare])
            await asyncio.sleep(random.uniform(1.0, 3.0))
            await self._stop(spare)
            join.seconds = time.monotonic() - join.began
        finally:
            self.busy.discard(spare.name)

    async def crash_relay_holder(self, service: str) -> None:
        """kill -9 the instance whose outbox relay holds the lock (publishing right now)."""
        holder = await self._relay_holder(service)
        if holder is not None:
            await self.crash(holder, "kill -9 holding the relay lock")

    async def cut_relay_holder(self, service: str) -> None:
        """Cut the relay lock's holder off from PostgreSQL mid-step: its session keeps the
        lock (and its open transaction) until the link heals."""
        holder = await self._relay_holder(service)
        if holder is None:
            return
        self.busy.add(holder.name)
        try:
            await self.partition(holder, ("db",), "holding the relay lock")
        finally:
            self.busy.discard(holder.name)

    async def pause_relay_holder(self, service: str) -> None:
        """SIGSTOP the relay lock's holder mid-step: no other relay of the service publishes
        until it goes on (its open transaction keeps the lock)."""
        holder = await self._relay_holder(service)
        if holder is None:
            return
        self.busy.add(holder.name)
        try:
            await self.pause_instance(holder, "holding the relay lock")
        finally:
            self.busy.discard(holder.name)

    async def pause_while_sending(self) -> None:
        """SIGSTOP a notifications instance while a message is being sent, longer than the
        delivery lease: the other instance takes the message over (half the time the
        paused one held it), and the paused one may finish its send when it goes on."""
        pool = self.cluster.pools["notifications"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                sending = await asyncio.wait_for(
                    pool.fetchval("SELECT 1 FROM deliveries WHERE status = 'attempting' LIMIT 1"),
                    5,
                )
            except (TimeoutError, OSError):
                break
            targets = self._free(self.cluster.regular("notifications"))
            if sending and targets:
                target = random.choice(targets)
                self.busy.add(target.name)
                try:
                    await self.pause_instance(target, "while a message is being sent")
                finally:
                    self.busy.discard(target.name)
                return
            await asyncio.sleep(0.005)
        self._skip("no message caught in flight")

    async def _relay_holder(self, service: str) -> Instance | None:
        """The instance whose relay holds ``service``'s outbox lock, caught within 15 s."""
        pool = self.cluster.pools[service]
        query = (
            "SELECT host(a.client_addr) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database() "
            "AND l.objsubid = 1 "
            "AND l.objid = (hashtext('passend.outbox:' || $1)::bigint & 4294967295)::oid"
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                holder = await asyncio.wait_for(pool.fetchval(query, OWN_TOPICS[service]), 5)
            except (TimeoutError, OSError):
                break
            instance = self.cluster.by_address(holder) if holder else None
            if instance is not None and instance.name not in self.busy:
                if self.cluster.is_running(instance):
                    return instance
                break
            await asyncio.sleep(0.005)
        self._skip("relay lock not caught")
        return None

    def _skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1

    # -- helpers -----------------------------------------------------------------------------

    def _record(self, fault: Fault) -> None:
        self.faults.append(fault)
        self.cluster.say(f"fault {fault.kind}: {fault.what} -> {fault.target}")

    async def _answers(self, instance: Instance) -> bool:
        try:
            response = await self.http.get(f"{instance.url}/health/live", timeout=1.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def _until_ready(self, fault: Fault, instances: list[Instance]) -> None:
        deadline = time.monotonic() + HEAL_TIMEOUT
        waiting = list(instances)
        while waiting and time.monotonic() < deadline:
            self.cluster.supervisor.check()
            answers = await asyncio.gather(*(self.cluster.ready(self.http, i) for i in waiting))
            waiting = [i for i, ok in zip(waiting, answers, strict=True) if not ok]
            if waiting:
                await asyncio.sleep(0.25)
        if not waiting:
            fault.ready = time.monotonic()
        else:
            self.cluster.say(f"not ready {HEAL_TIMEOUT:g}s after {fault.what} -> {fault.target}")
