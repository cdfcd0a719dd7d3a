"""The retention job: pupils are erased once their SWV's retention period after closure passed.

A case is closed when its trajectory closed (``TrajectoryClosed``) or the request was
withdrawn before any trajectory. A pupil is erased when *every* case of theirs is closed
and the retention period of the data category has passed since the last closure; the
erasure deletes the pupil's key (see :mod:`passend_intake.erasure`) and is recorded in
``pupil_erasures`` with reason ``retention`` (and as a ``PupilErased`` event once the
contracts define it).

Periods are configured per data category and per SWV in ``INTAKE_RETENTION`` (JSON, days):
``{"default": {"school": 730}, "swv-waterweg": {"school": 1095}}``. Intake holds school
data only (the request and the pupil's identity): category ``school``, two years unless
configured otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg
import structlog

from passend_backbone.consumer.readmodel import read_model
from passend_backbone.consumer.schema import ProjectionNotSetUp
from passend_backbone.eventstore import EventStore
from passend_backbone.service import ServiceContext
from passend_intake.erasure import erase_pupil
from passend_intake.projections import RequestsProjection

SCHOOL = "school"
DEFAULT_PERIODS: Mapping[str, timedelta] = {SCHOOL: timedelta(days=730)}  # two years
ENV_VAR = "INTAKE_RETENTION"
POLL_ENV_VAR = "INTAKE_RETENTION_POLL_SECONDS"
ACTOR = "service:intake:retention"
_log = structlog.get_logger("passend.intake.retention")

# Pupils with a key whose every case is closed, with the last closure.
_CLOSED_PUPILS = """
SELECT r.swv, r.pupil_ref, count(*) AS cases,
       max(coalesce(p.closed_at, r.withdrawn_at)) AS closed_at
FROM requests r LEFT JOIN case_progress p USING (case_id)
WHERE EXISTS (SELECT 1 FROM public.pupil_keys k
              WHERE k.swv = r.swv AND k.pupil_ref = r.pupil_ref)
GROUP BY r.swv, r.pupil_ref
HAVING bool_and(p.closed_at IS NOT NULL OR r.withdrawn_at IS NOT NULL)
"""


@dataclass(frozen=True)
class RetentionPolicy:
    """Retention periods per data category, by default and per SWV."""

    default: Mapping[str, timedelta] = field(default_factory=lambda: dict(DEFAULT_PERIODS))
    per_swv: Mapping[str, Mapping[str, timedelta]] = field(default_factory=dict)

    def period(self, swv: str, category: str = SCHOOL) -> timedelta:
        own = self.per_swv.get(swv, {})
        return own.get(category) or self.default.get(category) or DEFAULT_PERIODS[SCHOOL]

    @classmethod
    def parse(cls, text: str | None) -> RetentionPolicy:
        """From ``INTAKE_RETENTION``'s JSON (days per category; ``default`` for all SWVs)."""
        if not text:
            return cls()
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError(f"{ENV_VAR} must be a JSON object of SWV -> category -> days")
        periods: dict[str, dict[str, timedelta]] = {}
        for swv, categories in raw.items():
            if not isinstance(categories, dict):
                raise ValueError(f"{ENV_VAR}: {swv!r} needs an object of category -> days")
            for category, days in categories.items():
                if not isinstance(days, int) or days < 1:
                    raise ValueError(f"{ENV_VAR}: {swv}.{category} must be whole days >= 1")
                periods.setdefault(swv, {})[category] = timedelta(days=days)
        default = {**DEFAULT_PERIODS, **periods.pop("default", {})}
        return cls(default=default, per_swv=periods)


@dataclass(frozen=True)
class Erased:
    swv: str
    pupil_ref: str
    closed_at: datetime


async def erase_expired(
    pool: asyncpg.Pool, store: EventStore, policy: RetentionPolicy, now: datetime
) -> list[Erased]:
    """Erase every pupil whose retention period passed; those erased now.

    Idempotent: an erased pupil has no key and is no candidate any more. A pupil with a
    request newer than the read model knows is left for the next run.
    """
    try:
        async with read_model(pool, RequestsProjection.name) as conn:
            rows = await conn.fetch(_CLOSED_PUPILS)
    except ProjectionNotSetUp:
        return []
    erased = []
    for row in rows:
        if row["closed_at"] + policy.period(row["swv"], SCHOOL) > now:
            continue
        done = await erase_pupil(
            pool,
            row["swv"],
            row["pupil_ref"],
            erased_by=ACTOR,
            now=now,
            reason="retention",
            category=SCHOOL,
            expected_cases=row["cases"],
            store=store,
        )
        if done:
            erased.append(Erased(row["swv"], row["pupil_ref"], row["closed_at"]))
            _log.info("pupil_erased", reason="retention", category=SCHOOL, swv=row["swv"])
    return erased


def retention_job(
    policy: RetentionPolicy | None = None, poll_seconds: float | None = None
) -> Callable[[ServiceContext, asyncio.Event], Awaitable[None]]:
    """A background task for the service spec: run :func:`erase_expired` every poll."""

    async def retention(ctx: ServiceContext, stop: asyncio.Event) -> None:
        chosen = policy or RetentionPolicy.parse(os.environ.get(ENV_VAR))
        every = poll_seconds or float(os.environ.get(POLL_ENV_VAR, "3600"))
        while not stop.is_set():
            try:
                await erase_expired(ctx.pool, ctx.store, chosen, ctx.clock())
            except (OSError, asyncpg.PostgresError) as exc:
                # The database is away for a moment: the next run catches up.
                _log.warning("retention_run_failed", error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)

    return retention
