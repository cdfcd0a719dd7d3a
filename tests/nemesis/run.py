"""One nemesis run: start the cluster, load it, inject faults, heal, settle, check, report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from passend_devstack.contacts import load_dev_contacts
from tests.nemesis import checks, report
from tests.nemesis.checks import Verdict
from tests.nemesis.cluster import Cluster, running_cluster, wait_ready
from tests.nemesis.faults import Nemesis
from tests.nemesis.load import Balancer, Driver, Ledger, counting, register_contacts

WARM_UP_SECONDS = 15.0


@dataclass(frozen=True)
class Options:
    minutes: float
    workers: int
    workdir: Path
    seed: int
    instance_lanes: int = 2


async def run(options: Options, say: Callable[[str], None] = print) -> int:
    """The run; its exit code (0: every check held)."""
    random.seed(options.seed)
    say(f"Starting PostgreSQL, the broker and two instances of every service in {options.workdir}")
    async with running_cluster(options.workdir) as cluster:
        # The SWV's functional mailboxes; people's addresses come from the directory, the
        # parent's from intake (the address the school gave with the request).
        say("Ready. Registering the mailboxes' addresses ...")
        await register_contacts(cluster, [(c.recipient_id, c.email) for c in load_dev_contacts()])
        ledger = Ledger()
        balancer = Balancer(cluster)
        driver = Driver(cluster, balancer, ledger)
        nemesis = Nemesis(cluster)
        stop_load, stop_faults, stop_watch = asyncio.Event(), asyncio.Event(), asyncio.Event()
        progress = counting(ledger)
        conditions = report.Conditions()
        watchers = [
            asyncio.create_task(balancer.watch(stop_watch)),
            asyncio.create_task(_tick(cluster, stop_watch, nemesis, progress, say, conditions)),
        ]
        load = asyncio.create_task(driver.run(options.workers, stop_load))
        faults: asyncio.Task[None] | None = None
        try:
            say(f"Load: {options.workers} cases at a time; faults start in {WARM_UP_SECONDS:g} s")
            await asyncio.sleep(WARM_UP_SECONDS)
            faults = asyncio.create_task(nemesis.run(stop_faults, options.instance_lanes))
            began = time.monotonic()
            await _wait(options.minutes * 60, load)
            stop_faults.set()
            say("Time is up: the faults in progress heal, the cases in progress finish ...")
            await faults
            minutes = (time.monotonic() - began) / 60
            ready_seconds = await wait_ready(cluster, 300)
            stop_load.set()
            await load
            say(f"Load stopped ({progress()}). Settling ...")
            settle_seconds = await checks.settle(cluster)
            say(f"Settled in {settle_seconds:.0f} s. Checking ...")
            verdict = await _check(cluster, ledger, nemesis, say)
        finally:
            stop_faults.set()
            stop_load.set()
            stop_watch.set()
            # Done by now, unless the run was stopped or failed: then they end here.
            for task in (load, *([faults] if faults else []), *watchers):
                if not task.done():
                    task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            await driver.close()
        found = report.figures(
            ledger,
            nemesis.faults,
            verdict,
            minutes=minutes,
            settle_seconds=settle_seconds,
            ready_seconds=ready_seconds,
            answers=driver.answers,
            skipped=nemesis.skipped,
            conditions=conditions,
        )
    text = report.render(found, verdict)
    say(text)
    (options.workdir / "figures.json").write_text(json.dumps(found, indent=2, default=str))
    (options.workdir / "figures.txt").write_text(text)
    return 0 if verdict.ok else 1


async def _wait(seconds: float, load: asyncio.Task[None]) -> None:
    """Sleep ``seconds``; a load that failed (a wrong answer) ends the run at once."""
    done, _ = await asyncio.wait({load}, timeout=seconds)
    if done:
        load.result()
        raise AssertionError("the load ended before the time was up")


async def _tick(
    cluster: Cluster,
    stop: asyncio.Event,
    nemesis: Nemesis,
    progress: Callable[[], str],
    say: Callable[[str], None],
    conditions: report.Conditions,
) -> None:
    """Let the supervisor restart what exited; sample the machine's load every 5 s; say how
    far the run is every 30 s."""
    last = sampled = time.monotonic()
    conditions.sample()
    while not stop.is_set():
        cluster.supervisor.check()
        if time.monotonic() - sampled > 5:
            sampled = time.monotonic()
            conditions.sample()
        if time.monotonic() - last > 30:
            last = time.monotonic()
            kinds: dict[str, int] = {}
            for fault in nemesis.faults:
                kinds[fault.kind] = kinds.get(fault.kind, 0) + 1
            say(f"  {progress()}; faults {len(nemesis.faults)} {kinds}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.3)


async def _check(
    cluster: Cluster, ledger: Ledger, nemesis: Nemesis, say: Callable[[str], None]
) -> Verdict:
    verdict = Verdict()
    for name, check in (
        (
            "acknowledged commands in every read model",
            checks.check_commands(cluster, ledger, verdict),
        ),
        ("notifications", checks.check_notifications(cluster, verdict)),
        ("hash chains", checks.check_chains(cluster, verdict)),
        ("topics", checks.check_topics(cluster, verdict)),
        ("read models against their rebuild", checks.check_rebuilds(cluster, verdict)),
    ):
        say(f"  checking {name} ...")
        await check
    verdict.problems += [f"did not stop cleanly: {stop}" for stop in nemesis.unclean_stops]
    killed = [f.target for f in nemesis.faults if f.kind == "crash"]
    await checks.check_ready(cluster, verdict, killed)
    return verdict
