"""The composition of the trajectory service: its topic, migrations, app, consumers and tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from passend_backbone.service import ServiceSpec, utc_now
from passend_backbone.texts import ledger as text_ledger
from passend_contracts import topics
from passend_trajectory.api import create_app
from passend_trajectory.calendars import Calendars
from passend_trajectory.people import People
from passend_trajectory.projections import TrajectoryProjection
from passend_trajectory.reach import CaseReach
from passend_trajectory.reactors import ClaimReactor, IntakeReactor
from passend_trajectory.scheduler import evaluation_reminders
from passend_trajectory.team_no_regions import TeamNoRegions


def build_spec(
    *, clock: Callable[[], datetime] = utc_now, reminder_poll_seconds: float = 60.0
) -> ServiceSpec:
    """The service; tests pass a clock they move and poll the reminders faster."""
    return ServiceSpec(
        name="trajectory",
        topic=topics.TRAJECTORY,
        migrations="passend_trajectory.migrations",
        create_app=create_app,
        projections=(TrajectoryProjection(), CaseReach(), Calendars(), People(), TeamNoRegions()),
        reactors=(ClaimReactor(clock), IntakeReactor(clock)),
        background=(evaluation_reminders(reminder_poll_seconds),),
        # A restored backup deletes the keys of cases erased since, before it answers.
        before_serving=(text_ledger.reapply_before_serving,),
    )


SPEC = build_spec()
