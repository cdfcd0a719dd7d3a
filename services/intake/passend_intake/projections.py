"""Intake's read models: requests per school, each request's history, consent, progress.

One projection reads intake's own topic plus the claims (assignment) and trajectories
(trajectory) it needs for withdrawal and reformulation. Progress lives in its own table,
written with order-free upserts, so a claim seen before its request ends the same.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from passend_backbone import tenancy
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import (
    CaseClaimed,
    RequestRouted,
    RouteCoachCalledIn,
    SchoolRegistered,
    SwvConfigured,
)
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import (
    ConsentConfirmed,
    ConsentRefused,
    ConsentRequested,
    ConsentWithdrawn,
    ParentContactCorrected,
    PupilHeard,
    RequestReformulated,
    RequestSubmitted,
    RequestWithdrawn,
)
from passend_contracts.events.trajectory import (
    EscalatedToTeamNO,
    TrajectoryClosed,
    TrajectoryOpened,
)

_TABLES = """
CREATE TABLE IF NOT EXISTS requests (
    case_id                uuid PRIMARY KEY,
    swv                    text NOT NULL,
    school_id              text NOT NULL,
    ib_id                  text NOT NULL,
    addressed_worker_id    text NOT NULL,
    pupil_ref              text NOT NULL,
    parent_refs            text[] NOT NULL,
    levels                 text[] NOT NULL,
    educational_need       text NOT NULL,
    tried_in_basic_support text NOT NULL,
    why_stuck              text NOT NULL,
    multiple_problems      boolean NOT NULL,
    specialist_advised     boolean NOT NULL,
    processing_basis       text NOT NULL,
    encrypted_identity     jsonb,
    submitted_at           timestamptz NOT NULL,
    withdrawn_at           timestamptz,
    withdrawal_reason      text,
    version                integer NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_by_school ON requests (swv, school_id, submitted_at DESC);

CREATE TABLE IF NOT EXISTS request_history (
    event_id       uuid PRIMARY KEY,
    case_id        uuid NOT NULL,
    swv            text NOT NULL,
    stream_version integer NOT NULL,
    event_type     text NOT NULL,
    occurred_at    timestamptz NOT NULL,
    actor          text NOT NULL,
    on_behalf_of   text,
    data           jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS request_history_case ON request_history (case_id, stream_version);

CREATE TABLE IF NOT EXISTS consent (
    case_id         uuid PRIMARY KEY,
    swv             text NOT NULL,
    status          text NOT NULL,
    method          text,
    parents_asked   text[] NOT NULL DEFAULT '{}',
    requested_by    text,
    requested_at    timestamptz,
    answered_by     text,
    answered_at     timestamptz,
    withdrawn_at    timestamptz,
    link_expires_at timestamptz,
    pupil_heard_at  timestamptz,
    pupil_view      text,
    version         integer NOT NULL
);

CREATE TABLE IF NOT EXISTS case_progress (
    case_id              uuid PRIMARY KEY,
    swv                  text NOT NULL,
    routed_to            text,
    routed_work_unit     text,
    claimed_by           text,
    claimed_at           timestamptz,
    trajectory_opened_at timestamptz,
    -- Who else may see the case (passend_backbone.auth.policy): route coaches called in
    -- (W29) and the Team NO region it was escalated to (R).
    route_coaches        text[] NOT NULL DEFAULT '{}',
    escalated_region     text,
    -- When the trajectory closed: the start of the retention period (passend_intake.retention).
    closed_at            timestamptz
);

-- The SWV's expertise areas from its directory (SwvConfigured): a submitted request names
-- the areas its words signal (W24), which only intake can read.
CREATE TABLE IF NOT EXISTS expertise_areas (
    swv    text  PRIMARY KEY,
    areas  jsonb NOT NULL
);

-- The schools' names from the SWV's directory: a parent's page and e-mail name the school.
CREATE TABLE IF NOT EXISTS schools (
    swv       text NOT NULL,
    school_id text NOT NULL,
    name      text NOT NULL,
    PRIMARY KEY (swv, school_id)
);
"""


class RequestsProjection:
    """Requests, their history and consent (intake topic); claims and trajectories."""

    name: str = "requests"
    topics: tuple[str, ...] = (topics.INTAKE, topics.ASSIGNMENT, topics.TRAJECTORY)

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(_TABLES)
        await tenancy.protect(
            conn,
            "requests",
            "request_history",
            "consent",
            "case_progress",
            "schools",
            "expertise_areas",
        )

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        # Case events only: a pupil's erasure is about no case (its stream is no case id).
        if event.type.startswith("nl.passend.intake.") and hasattr(payload, "case_id"):
            await _history(conn, event)
        match payload:
            case RequestSubmitted():
                await _submitted(conn, event, payload)
            case RequestReformulated():
                await _update_request(
                    conn,
                    event,
                    "levels = $3, educational_need = $4, tried_in_basic_support = $5, "
                    "why_stuck = $6",
                    [str(x) for x in payload.current.levels],
                    payload.current.educational_need,
                    payload.current.tried_in_basic_support,
                    payload.current.why_stuck,
                )
            case RequestWithdrawn():
                await _update_request(
                    conn,
                    event,
                    "withdrawn_at = $3, withdrawal_reason = $4",
                    payload.withdrawn_at,
                    payload.reason,
                )
            case ConsentRequested():
                await _consent(
                    conn,
                    event,
                    "status = 'requested', method = $3, parents_asked = $4, requested_by = $5, "
                    "requested_at = $6, link_expires_at = $7, answered_by = NULL, "
                    "answered_at = NULL, withdrawn_at = NULL",
                    payload.method.value if payload.method else None,
                    payload.parent_refs,
                    payload.requested_by,
                    payload.requested_at,
                    payload.link_expires_at,
                )
            case ConsentConfirmed():
                await _consent(
                    conn,
                    event,
                    "status = 'confirmed', method = $3, answered_by = $4, answered_at = $5",
                    payload.method.value,
                    payload.confirmed_by,
                    payload.confirmed_at,
                )
            case ConsentRefused():
                await _consent(
                    conn,
                    event,
                    "status = 'refused', answered_by = $3, answered_at = $4",
                    payload.refused_by,
                    payload.refused_at,
                )
            case ConsentWithdrawn():
                await _consent(
                    conn, event, "status = 'withdrawn', withdrawn_at = $3", payload.withdrawn_at
                )
            case ParentContactCorrected():
                # W10: every later message to the parents opens this one.
                await _update_request(
                    conn, event, "encrypted_identity = $3", payload.encrypted_identity.model_dump()
                )
            case PupilHeard():
                await _consent(
                    conn,
                    event,
                    "pupil_heard_at = $3, pupil_view = $4",
                    payload.heard_at,
                    payload.view.value,
                )
            case RequestRouted():
                await _progress(
                    conn, event, payload.case_id, "routed_to", payload.receiving_worker_id
                )
                await _progress(
                    conn, event, payload.case_id, "routed_work_unit", payload.work_unit_id
                )
            case CaseClaimed():
                await _progress(conn, event, payload.case_id, "claimed_by", payload.worker_id)
                await _progress(conn, event, payload.case_id, "claimed_at", payload.claimed_at)
            case TrajectoryOpened():
                await _progress(
                    conn, event, payload.case_id, "trajectory_opened_at", payload.opened_at
                )
            case RouteCoachCalledIn() if payload.route_coach_id:
                await conn.execute(
                    "INSERT INTO case_progress (case_id, swv, route_coaches) "
                    "VALUES ($1, $2, ARRAY[$3::text]) ON CONFLICT (case_id) DO UPDATE SET "
                    "route_coaches = case_progress.route_coaches || ARRAY[$3::text] "
                    "WHERE NOT $3::text = ANY (case_progress.route_coaches)",
                    payload.case_id,
                    event.swv,
                    payload.route_coach_id,
                )
            case EscalatedToTeamNO():
                region = payload.region or payload.municipality
                await _progress(conn, event, payload.case_id, "escalated_region", region)
            case TrajectoryClosed():
                await _progress(conn, event, payload.case_id, "closed_at", payload.closed_at)
            case SchoolRegistered():
                # The directory's latest word on the name; a replay ends the same.
                await conn.execute(
                    "INSERT INTO schools (swv, school_id, name) VALUES ($1, $2, $3) "
                    "ON CONFLICT (swv, school_id) DO UPDATE SET name = EXCLUDED.name",
                    event.swv,
                    payload.school_id,
                    payload.name,
                )
            case SwvConfigured():
                # The directory's latest configuration; a replay ends the same.
                areas = [a.model_dump(mode="json") for a in payload.expertise_areas]
                await conn.execute(
                    "INSERT INTO expertise_areas (swv, areas) VALUES ($1, $2::jsonb) "
                    "ON CONFLICT (swv) DO UPDATE SET areas = EXCLUDED.areas",
                    event.swv,
                    json.dumps(areas),
                )
            case _:
                pass  # other events of these topics don't change intake's read models


async def _history(conn: asyncpg.Connection, event: CloudEvent) -> None:
    # The ciphertext of the identity stays in `requests` only; history shows what happened.
    data = {k: v for k, v in event.data.items() if k != "encrypted_identity"}
    await conn.execute(
        "INSERT INTO request_history (event_id, case_id, swv, stream_version, event_type, "
        "occurred_at, actor, on_behalf_of, data) VALUES ($1, $2, $9, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT (event_id) DO NOTHING",
        event.id,
        event.subject,
        event.streamversion,
        event.type,
        event.time,
        event.actor,
        event.onbehalfof,
        data,
        event.swv,
    )


async def _submitted(conn: asyncpg.Connection, event: CloudEvent, p: RequestSubmitted) -> None:
    identity = p.encrypted_identity.model_dump() if p.encrypted_identity else None
    await conn.execute(
        "INSERT INTO requests (case_id, swv, school_id, ib_id, addressed_worker_id, pupil_ref, "
        "parent_refs, levels, educational_need, tried_in_basic_support, why_stuck, "
        "multiple_problems, specialist_advised, processing_basis, encrypted_identity, "
        "submitted_at, version) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) "
        "ON CONFLICT (case_id) DO NOTHING",
        p.case_id,
        event.swv,
        p.school_id,
        p.ib_id,
        p.addressed_worker_id,
        p.pupil_ref,
        p.parent_refs,
        [str(x) for x in p.levels],
        p.educational_need,
        p.tried_in_basic_support,
        p.why_stuck,
        p.multiple_problems,
        p.specialist_advised,
        p.processing_basis.value,
        identity,
        p.submitted_at,
        event.streamversion,
    )
    await conn.execute(
        "INSERT INTO consent (case_id, swv, status, version) VALUES ($1, $2, 'not_requested', $3) "
        "ON CONFLICT (case_id) DO NOTHING",
        p.case_id,
        event.swv,
        event.streamversion,
    )


async def _update_request(
    conn: asyncpg.Connection, event: CloudEvent, assignments: str, *values: Any
) -> None:
    # The version guard keeps a replayed older event from undoing a newer one.
    await conn.execute(
        f"UPDATE requests SET {assignments}, version = $2 WHERE case_id = $1 AND version < $2",
        event.subject,
        event.streamversion,
        *values,
    )


async def _consent(
    conn: asyncpg.Connection, event: CloudEvent, assignments: str, *values: Any
) -> None:
    await conn.execute(
        f"UPDATE consent SET {assignments}, version = $2 WHERE case_id = $1 AND version < $2",
        event.subject,
        event.streamversion,
        *values,
    )


async def _progress(
    conn: asyncpg.Connection, event: CloudEvent, case_id: Any, column: str, value: Any
) -> None:
    # The first value wins: a redelivered or late duplicate never moves a date.
    await conn.execute(
        f"INSERT INTO case_progress (case_id, swv, {column}) VALUES ($1, $2, $3) "
        f"ON CONFLICT (case_id) DO UPDATE SET {column} = "
        f"COALESCE(case_progress.{column}, EXCLUDED.{column})",
        case_id,
        event.swv,
        value,
    )
