"""The scheduler: consumed events of the other services become queued, scheduled messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import asyncpg

from passend_backbone.eventstore import EventStore, Metadata, NewEvent
from passend_backbone.service import utc_now
from passend_contracts import topics as contract_topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import PersonDeactivated, PersonRegistered
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import PupilErased
from passend_contracts.events.notifications import NotificationScheduled
from passend_notifications import directory, erasure, journal, reach, webhook_routes
from passend_notifications.domain.planning import PlannedMessage, plan
from passend_notifications.domain.rules import RecipientRole
from passend_notifications.queue import enqueue


class Scheduler:
    """Reactor: plan the messages an event causes, queue the new ones, record them as events.

    Queue rows and ``NotificationScheduled`` events go into the runner's transaction, which
    also marks the event handled; the queue's primary key (the derived message id) is the
    second guard, so even an event handled again schedules nothing twice.
    """

    name = "scheduler"
    topics: tuple[str, ...]

    def __init__(
        self,
        clock: Callable[[], datetime] = utc_now,
        consumes: tuple[str, ...] = (
            contract_topics.INTAKE,
            contract_topics.ASSIGNMENT,
            contract_topics.TRAJECTORY,
        ),
    ) -> None:
        self._clock = clock
        self.topics = consumes

    async def react(
        self,
        conn: asyncpg.Connection,
        event: CloudEvent,
        payload: EventPayload,
        store: EventStore,
    ) -> None:
        match payload:
            case PupilErased():
                await erasure.remember_erased(conn, event.swv, payload.pupil_ref, payload.erased_at)
                return
            case PersonRegistered():
                # The directory's people: IBs, teachers and staff are reached at the work
                # address the SWV registered, never at one typed in elsewhere.
                await directory.register_person(
                    conn,
                    event.swv,
                    payload.person_id,
                    payload.email,
                    payload.display_name,
                    payload.registered_at,
                )
                return
            case PersonDeactivated():
                await directory.forget_person(conn, event.swv, payload.person_id)
                return
        if "case_id" not in event.data:
            return  # directory events (SWV, work units, schools) concern no one to be told
        case_id = UUID(str(event.data["case_id"]))
        case = await directory.learn_case(conn, event.swv, case_id, event.data)
        await reach.learn(conn, event, case_id)
        planned = plan(event, case)
        # Webhooks are an integration channel: the allow-listed fields of the cases of the
        # subscriber's own municipality only, as on the gateway's topics.
        planned += await webhook_routes.plan_for_event(conn, event, payload, case_id)
        if planned and await erasure.case_of_erased_pupil(conn, event.swv, case_id):
            planned = [m for m in planned if not _to_parents(m)]
        if not planned:
            return
        now = self._clock()
        scheduled: list[NewEvent] = []
        for message in planned:
            if not await enqueue(conn, event.swv, message, event.id, event.correlationid, now):
                continue
            notice = NotificationScheduled(
                message_id=message.message_id,
                case_id=message.case_id,
                recipient_role=message.role,
                recipient_id=message.recipient_id,
                template=message.template,
                caused_by_event=event.id,
                scheduled_at=now,
                channel=message.channel,
                rule=message.rule,
            )
            scheduled.append(
                NewEvent.of(notice, event_id=journal.event_id(message.message_id, "scheduled"))
            )
        if scheduled:
            meta = Metadata(
                swv=event.swv,
                actor=journal.ACTOR,
                correlation_id=event.correlationid,
                causation_id=str(event.id),
            )
            await journal.append_to_case(conn, store, case_id, scheduled, meta)


def _to_parents(message: PlannedMessage) -> bool:
    return message.role == RecipientRole.PARENTS
