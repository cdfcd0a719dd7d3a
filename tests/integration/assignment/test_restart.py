"""W26 across restarts of the whole service: a reminder, then exactly one ContactDeadlineMissed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from passend_assignment.scheduler import fire_due_timers
from passend_assignment.service import build_spec
from passend_backbone import db
from passend_backbone.eventstore import PostgresEventStore
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually

from .kit import Clock, as_cloud_event, publish, running, settings_for, submission, types_of

pytestmark = pytest.mark.integration

SUBMITTED = datetime(2027, 4, 22, 10, tzinfo=UTC)  # Thursday; King's Day is Tuesday 27 April
DUE_AT = datetime(2027, 4, 30, 22, tzinfo=UTC)  # end of Friday 30 April, Amsterdam


async def test_w26_one_missed_deadline_however_often_the_service_restarts(
    db_url: str, broker: Broker
) -> None:
    clock = Clock(SUBMITTED)
    spec = build_spec(clock=clock, scheduler_poll_seconds=0.05)
    settings = settings_for(db_url, broker)
    request = submission(worker="ow-floris", school="brin-31ff", at=SUBMITTED)
    pool = await db.create_pool(db_url)
    store = PostgresEventStore(pool, "/passend/assignment")

    async def case_types() -> list[str]:
        return types_of(await store.read_stream(str(request.case_id)))

    try:
        async with running(spec, settings, clock):
            await publish(broker, as_cloud_event(request))

            async def routed() -> bool:
                return "RequestRouted" in await case_types()

            await eventually(routed, timeout=30, what="request routed")
            routed_event = (await store.read_stream(str(request.case_id)))[0]
            # Fri 23, Mon 26, (King's Day), Wed 28, Thu 29, Fri 30 April.
            assert routed_event.data["contact_due_on"] == "2027-04-30"
            clock.now = DUE_AT - timedelta(hours=12)

            async def reminded() -> bool:
                return "ContactDeadlineApproaching" in await case_types()

            await eventually(reminded, what="reminder raised")

        # Down while the deadline lapses; then up, down and up again.
        clock.now = DUE_AT + timedelta(days=2)
        async with running(spec, settings_for(db_url, broker), clock):

            async def missed() -> bool:
                return "ContactDeadlineMissed" in await case_types()

            await eventually(missed, what="missed deadline raised")
        clock.now = DUE_AT + timedelta(days=5)
        async with running(spec, settings_for(db_url, broker), clock):
            assert await fire_due_timers(pool, store, clock.now) == 0
        assert await case_types() == [
            "RequestRouted",
            "ContactDeadlineApproaching",
            "ContactDeadlineMissed",
        ]
        fired = await pool.fetch("SELECT kind FROM contact_timers WHERE fired_at IS NOT NULL")
        assert sorted(r["kind"] for r in fired) == ["lapse", "reminder"]
    finally:
        await pool.close()
