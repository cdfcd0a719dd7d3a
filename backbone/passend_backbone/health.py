"""Liveness and readiness: the two HTTP endpoints an orchestrator (or the dev stack) polls.

``/health/live`` answers 200 while the process runs. ``/health/ready`` answers 200 only
when every readiness probe passes (database reachable, no pending migrations, broker
reachable, the service's topics as planned: :class:`passend_backbone.topics.TopicsProbe`)
and the service isn't shutting down; otherwise 503 with the failing probes.
Probe results are cached for about a second, so frequent polling costs the database and
the broker almost nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from fastapi import APIRouter
from fastapi.responses import JSONResponse

# A probe returns None when all is well, or a short description of the problem; raising
# counts as a problem too (the exception's type and message are reported).
Probe = Callable[[], Awaitable[str | None]]

OK = "ok"


@dataclass(frozen=True)
class ReadinessReport:
    """The outcome of one round of probes."""

    ready: bool
    checks: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        """The response body of ``/health/ready``."""
        return {"status": "ready" if self.ready else "not ready", "checks": self.checks}


class Readiness:
    """Runs the readiness probes, each bounded by ``timeout``; caches the report ``ttl`` s."""

    def __init__(
        self, probes: Mapping[str, Probe], *, timeout: float = 1.0, ttl: float = 1.0
    ) -> None:
        self._probes = dict(probes)
        self._timeout = timeout
        self._ttl = ttl
        self._cached: ReadinessReport | None = None
        self._cached_at = 0.0
        self._lock = asyncio.Lock()
        self._running: dict[str, asyncio.Future[str | None]] = {}
        self.draining = False

    async def check(self) -> ReadinessReport:
        """The current report; probes run at most once per ``ttl`` seconds."""
        if self.draining:
            return ReadinessReport(False, {"service": "shutting down"})
        async with self._lock:  # concurrent pollers share one round of probes
            now = time.monotonic()
            if self._cached is None or now - self._cached_at >= self._ttl:
                self._cached = await self._run_probes()
                self._cached_at = time.monotonic()
            return self._cached

    async def _run_probes(self) -> ReadinessReport:
        names = list(self._probes)
        results = await asyncio.gather(*(self._run_one(n) for n in names))
        checks = dict(zip(names, results, strict=True))
        return ReadinessReport(all(r == OK for r in results), checks)

    async def _run_one(self, name: str) -> str:
        """The probe's answer, or "no answer" after ``timeout`` seconds, whatever it does.

        A probe that did not answer in time is left running, not cancelled and awaited:
        cancelling a query on a database that is frozen (a paused server, a stalled VM)
        waits for the server too, so the report would never come. Until it ends, later
        rounds wait on that same probe instead of starting another one.
        """
        running = self._running.get(name)
        if running is None or running.done():
            running = asyncio.ensure_future(self._probes[name]())
            running.add_done_callback(_retrieve)
            self._running[name] = running
        done, _ = await asyncio.wait({running}, timeout=self._timeout)
        if not done:
            return f"no answer within {self._timeout:g}s"
        try:
            problem = running.result()
        except Exception as exc:  # a failing probe is an answer, not a crash
            return f"{type(exc).__name__}: {exc}"
        return problem or OK


def _retrieve(future: asyncio.Future[str | None]) -> None:
    """Mark a probe's exception seen (it is reported, or nobody waits for it any more)."""
    if not future.cancelled():
        future.exception()


def health_router(readiness: Readiness) -> APIRouter:
    """``GET /health/live`` and ``GET /health/ready``."""
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live", summary="The process is up")
    async def live() -> dict[str, str]:
        return {"status": "live"}

    readiness_body = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ready", "not ready"]},
            "checks": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["status", "checks"],
    }

    @router.get(
        "/ready",
        summary="Database, migrations and broker are fine",
        responses={
            200: {
                "description": "Ready: every check says ok",
                "content": {"application/json": {"schema": readiness_body}},
            },
            503: {
                "description": "Not ready (by design, for the orchestrator): the body names "
                "the check that failed and why",
                "content": {"application/json": {"schema": readiness_body}},
            },
        },
    )
    async def ready() -> JSONResponse:
        report = await readiness.check()
        return JSONResponse(report.as_json(), status_code=200 if report.ready else 503)

    return router
