"""The composition of the assignment service: its topic, migrations, app, consumers and tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from passend_assignment.api import create_app
from passend_assignment.consent_view import ConsentBoard
from passend_assignment.directory_file import ENV_VAR
from passend_assignment.directory_service import load_directory_at_start
from passend_assignment.projections import CaseBoard
from passend_assignment.reactors import RoutingReactor
from passend_assignment.responsibility import ClosureReactor
from passend_assignment.scheduler import contact_deadline_scheduler
from passend_backbone.metrics import deadline_query
from passend_backbone.service import ServiceSpec
from passend_backbone.settings import check_file_variable
from passend_backbone.texts import ledger as text_ledger
from passend_contracts import topics


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def build_spec(
    *, clock: Callable[[], datetime] = _wall_clock, scheduler_poll_seconds: float = 5.0
) -> ServiceSpec:
    """The service. Tests pass the clock they also give ``serve`` (the reactor is built
    before the runtime's context exists) and poll the deadline scheduler faster."""
    return ServiceSpec(
        name="assignment",
        topic=topics.ASSIGNMENT,
        migrations="passend_assignment.migrations",
        create_app=create_app,
        projections=(CaseBoard(), ConsentBoard()),
        reactors=(RoutingReactor(clock), ClosureReactor()),
        background=(load_directory_at_start, contact_deadline_scheduler(scheduler_poll_seconds)),
        # W26: contact timers due now and lapses that fired, for passend_deadlines_* metrics.
        deadlines=(deadline_query(_DEADLINES_SQL),),
        config=(lambda: check_file_variable(ENV_VAR),),
        # A restored backup deletes the keys of cases erased since, before it answers.
        before_serving=(text_ledger.reapply_before_serving,),
    )


_DEADLINES_SQL = (
    "SELECT kind, "
    "count(*) FILTER (WHERE fired_at IS NULL AND cancelled_at IS NULL AND fire_at <= $1), "
    "count(*) FILTER (WHERE kind = 'lapse' AND fired_at IS NOT NULL) "
    "FROM contact_timers GROUP BY kind"
)


SPEC = build_spec()
