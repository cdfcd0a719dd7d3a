"""Composition of the notifications service: scheduler, projection, delivery worker, HTTP API."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from passend_backbone.service import ServiceSpec, utc_now
from passend_contracts import topics
from passend_notifications.api import create_app
from passend_notifications.config import NotificationSettings
from passend_notifications.projections import CaseMessages
from passend_notifications.reactors import Scheduler
from passend_notifications.worker import DeliveryWorker

CONSUMED = (topics.INTAKE, topics.ASSIGNMENT, topics.TRAJECTORY)


def build_spec(
    settings: NotificationSettings | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
    worker: DeliveryWorker | None = None,
    own_topic: str = topics.NOTIFICATIONS,
    consumes: tuple[str, ...] = CONSUMED,
) -> ServiceSpec:
    """The service; tests pass settings, a clock they move, a worker with fakes, own topics.

    Without ``settings`` the worker reads ``NOTIFICATIONS_*`` when it starts, so importing
    this module needs no environment.
    """
    return ServiceSpec(
        name="notifications",
        topic=own_topic,
        migrations="passend_notifications.migrations",
        create_app=functools.partial(create_app, settings=settings),
        projections=(CaseMessages(own_topic),),
        reactors=(Scheduler(clock, consumes),),
        background=(worker or DeliveryWorker(settings, clock=clock),),
    )


SPEC = build_spec()
