"""R, W21: a parents' message scheduled before the request's parents were known still
reaches each parent once they are, and the placeholder is never asked of intake.

Found by the nemesis run (docs/nemesis.md): with two instances under faults, a
``SupportStarted`` (trajectory topic) was consumed before the case's ``RequestSubmitted``
(intake topic), as a bus without order across topics allows. The message went to the
case's placeholder ``parents:<case>``, and the worker asked intake for a parent of that
name: 422 on every attempt until the message parked, and the parent was never told.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from passend_contracts.events.intake import RequestSubmitted, SupportLevel
from passend_contracts.events.trajectory import SupportStarted
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from passend_notifications.domain.messages import message_id

from .kit import (
    FakeParents,
    MovableClock,
    Publisher,
    fresh_topics,
    notification_settings,
    running,
    service_settings,
    smtp_server,
    spec_for,
    wait_for_status,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def submitted(case_id: uuid.UUID, parents: list[str]) -> RequestSubmitted:
    return RequestSubmitted(
        case_id=case_id,
        school_id="s-1",
        ib_id="ib-7",
        addressed_worker_id="w-1",
        pupil_ref="pupil-ref",
        levels=[SupportLevel.PUPIL],
        educational_need="n",
        tried_in_basic_support="t",
        why_stuck="w",
        multiple_problems=False,
        specialist_advised=False,
        submitted_at=NOW,
        parent_refs=parents,
    )


async def test_r_support_started_before_the_parents_were_known_reaches_each_parent(
    db_url: str, broker: Broker
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    case_id = uuid.uuid4()
    parents = FakeParents()
    parents.add(case_id, "p-1", "een@thuis.test")
    parents.add(case_id, "p-2", "twee@thuis.test")
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port), clock, parents=parents)
        async with (
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            started = await bus.send(
                SupportStarted(case_id=case_id, individual=True, started_by="w-1", started_at=NOW)
            )
            [waiting] = await wait_for_status(http, case_id, "retrying")
            assert waiting["recipient_id"] == f"parents:{case_id}"
            assert waiting["reason_code"] == "no_recipient"
            assert "parents are not known" in waiting["last_reason"]

            await bus.send(submitted(case_id, ["p-1", "p-2"]))

            async def learnt() -> bool:
                conn = await asyncpg.connect(db_url)
                try:
                    found = await conn.fetchval(
                        "SELECT parent_refs FROM case_people WHERE case_id = $1", case_id
                    )
                finally:
                    await conn.close()
                return found == ["p-1", "p-2"]

            await eventually(learnt, what="parents learnt from the request")
            clock.advance(timedelta(minutes=2))  # past the first backoff step
            sent = await wait_for_status(http, case_id, "sent", count=2)
            assert {m["recipient_id"] for m in sent if m["status"] == "sent"} == {"p-1", "p-2"}
            [placeholder] = [m for m in sent if m["recipient_id"] == f"parents:{case_id}"]
            assert placeholder["status"] == "cancelled"
            assert placeholder["reason_code"] == "handed_to_parents"
            # The ids the scheduler gives when it knows the parents: each parent once.
            assert {m["message_id"] for m in sent if m["status"] == "sent"} == {
                str(message_id(started.id, "parents", ref)) for ref in ("p-1", "p-2")
            }
            assert len(smtp.sink.to("een@thuis.test")) == 1
            assert len(smtp.sink.to("twee@thuis.test")) == 1
            assert all(not ref.startswith("parents:") for _, _, ref, _ in parents.asked)
