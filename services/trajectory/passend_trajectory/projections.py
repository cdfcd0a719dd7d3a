"""The trajectory's read models: trajectory, evaluations due, Team NO agenda, stagnations,
invitations.

One projection folds each case's events with the domain's own ``evolve`` and keeps the
state per case; the other tables are rewritten from that state for the case, so each row
is a pure function of the stream up to the event applied. Events of one case arrive in
order (one topic, keyed by case id); a redelivered or older event changes nothing, and a
gap (an event whose predecessor never arrived) is filled from the service's own store.
"""

from __future__ import annotations

import json

import asyncpg

from passend_backbone import tenancy
from passend_backbone.working_days import local_day
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_trajectory.domain.catalogue import parse_own
from passend_trajectory.domain.due import evaluations_due
from passend_trajectory.domain.evolve import evolve, replay
from passend_trajectory.domain.state import TrajectoryState

_TABLES = """
CREATE TABLE trajectories (
    case_id     uuid PRIMARY KEY,
    swv         text NOT NULL,
    school_id   text,
    worker_id   text,
    escalated_region text,  -- the Team NO region of the latest escalation (TNO)
    status      text NOT NULL,
    version     integer NOT NULL,
    state       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE TABLE evaluations_due (
    case_id     uuid NOT NULL,
    kind        text NOT NULL,
    swv         text NOT NULL,
    worker_id   text NOT NULL,
    due_on      date NOT NULL,
    PRIMARY KEY (case_id, kind)
);
CREATE INDEX evaluations_due_worker ON evaluations_due (swv, worker_id, due_on);
CREATE TABLE team_no_agenda (
    case_id       uuid PRIMARY KEY,
    swv           text NOT NULL,
    region        text NOT NULL,
    municipality  text NOT NULL,
    reasons       text[] NOT NULL,
    draft_plan    text NOT NULL,
    escalation_id uuid,
    escalated_by  text,
    escalated_at  timestamptz NOT NULL
);
CREATE INDEX team_no_agenda_region ON team_no_agenda (swv, region, escalated_at);
CREATE TABLE stagnations (
    case_id       uuid NOT NULL,
    escalation_no integer NOT NULL,
    reason        text NOT NULL,
    swv           text NOT NULL,
    region        text NOT NULL,
    municipality  text NOT NULL,
    escalated_at  timestamptz NOT NULL,
    PRIMARY KEY (case_id, escalation_no, reason)
);
CREATE INDEX stagnations_region ON stagnations (swv, region);
CREATE TABLE invitations (
    case_id       uuid NOT NULL,
    invitation_id uuid NOT NULL,
    swv           text NOT NULL,
    adviser_id    text NOT NULL,
    goal          text NOT NULL,
    occasion      text NOT NULL,
    meeting_on    date NOT NULL,
    invited_by    text NOT NULL,
    invited_at    timestamptz NOT NULL,
    PRIMARY KEY (case_id, invitation_id)
);
CREATE INDEX invitations_adviser ON invitations (swv, adviser_id, meeting_on);
"""


class TrajectoryProjection:
    """Trajectory events -> per-case state and the tables derived from it."""

    name = "trajectories"
    topics: tuple[str, ...] = (topics.TRAJECTORY,)

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(_TABLES)
        await tenancy.protect(
            conn, "trajectories", "evaluations_due", "team_no_agenda", "stagnations", "invitations"
        )

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        row = await conn.fetchrow(
            "SELECT state::text AS state FROM trajectories WHERE case_id = $1::uuid",
            event.subject,
        )
        state = TrajectoryState.model_validate_json(row["state"]) if row else TrajectoryState()
        if event.streamversion <= state.version:
            return  # already folded in: a redelivery or a replay of older events
        if event.streamversion == state.version + 1:
            state = evolve(state, payload)
        else:
            state = await _from_store(conn, event)
        await _write(conn, event, state)


async def _from_store(conn: asyncpg.Connection, event: CloudEvent) -> TrajectoryState:
    """The stream folded up to ``event`` from the store (the same database)."""
    rows = await conn.fetch(
        "SELECT event_type, data::text AS data FROM public.events "
        "WHERE stream_id = $1 AND stream_version <= $2 ORDER BY stream_version",
        event.subject,
        event.streamversion,
    )
    return replay(parse_own(r["event_type"], json.loads(r["data"])) for r in rows)


async def _write(conn: asyncpg.Connection, event: CloudEvent, state: TrajectoryState) -> None:
    case_id = event.subject
    opened = state.opened
    worker_id = opened.worker_id if opened else None
    latest = state.escalations[-1].escalated if state.escalations else None
    await conn.execute(
        "INSERT INTO trajectories (case_id, swv, school_id, worker_id, escalated_region, "
        "status, version, state, updated_at) "
        "VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9) "
        "ON CONFLICT (case_id) DO UPDATE SET school_id = excluded.school_id, "
        "worker_id = excluded.worker_id, escalated_region = excluded.escalated_region, "
        "status = excluded.status, version = excluded.version, "
        "state = excluded.state, updated_at = excluded.updated_at",
        case_id,
        event.swv,
        opened.school_id if opened else None,
        worker_id,
        (latest.region or latest.municipality) if latest is not None else None,
        state.status,
        state.version,
        state.model_dump_json(),
        event.time,
    )
    await conn.execute("DELETE FROM evaluations_due WHERE case_id = $1::uuid", case_id)
    if worker_id is not None:
        # Due dates computed as of the event stay right as time passes: a half school year
        # not yet begun has the same due date once it has (see domain.due).
        for due in evaluations_due(state, local_day(event.time)):
            await conn.execute(
                "INSERT INTO evaluations_due (case_id, kind, swv, worker_id, due_on) "
                "VALUES ($1::uuid, $2, $3, $4, $5)",
                case_id,
                due.kind.value,
                event.swv,
                worker_id,
                due.due_on,
            )
    await conn.execute("DELETE FROM team_no_agenda WHERE case_id = $1::uuid", case_id)
    # A withdrawn trajectory (W1) awaits no decision any more.
    pending = None if state.ended else state.open_escalation
    if pending is not None:
        e = pending.escalated
        await conn.execute(
            "INSERT INTO team_no_agenda (case_id, swv, region, municipality, reasons, "
            "draft_plan, escalation_id, escalated_by, escalated_at) "
            "VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9)",
            case_id,
            event.swv,
            e.region or e.municipality,
            e.municipality,
            [r.value for r in e.reasons],
            e.draft_plan,
            e.escalation_id,
            e.escalated_by,
            e.escalated_at,
        )
    await conn.execute("DELETE FROM stagnations WHERE case_id = $1::uuid", case_id)
    for number, escalation in enumerate(state.escalations, start=1):
        e = escalation.escalated
        await conn.executemany(
            "INSERT INTO stagnations (case_id, escalation_no, reason, swv, region, "
            "municipality, escalated_at) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7)",
            [
                (
                    case_id,
                    number,
                    r.value,
                    event.swv,
                    e.region or e.municipality,
                    e.municipality,
                    e.escalated_at,
                )
                for r in e.reasons
            ],
        )
    await conn.execute("DELETE FROM invitations WHERE case_id = $1::uuid", case_id)
    if not state.invitations:
        return
    await conn.executemany(
        "INSERT INTO invitations (case_id, invitation_id, swv, adviser_id, goal, occasion, "
        "meeting_on, invited_by, invited_at) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            (
                case_id,
                i.invitation_id,
                event.swv,
                i.adviser_id,
                i.goal,
                i.occasion.value,
                i.meeting_on,
                i.invited_by,
                i.invited_at,
            )
            for i in state.invitations
        ],
    )
