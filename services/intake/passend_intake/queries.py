"""Reading intake's read models (and the pupil keys, to open identities for one answer)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import asyncpg

from passend_backbone.auth import CaseFacts
from passend_backbone.consumer.readmodel import tenant_read_model
from passend_backbone.consumer.schema import ProjectionNotSetUp
from passend_backbone.texts.tokens import ERASED
from passend_contracts.events.assignment import ExpertiseArea
from passend_contracts.events.intake import EncryptedIdentity
from passend_intake import pupil_keys
from passend_intake.access import facts_of
from passend_intake.projections import RequestsProjection
from passend_intake.views import (
    ConsentView,
    HistoryEntry,
    ParentView,
    ProgressView,
    PupilIdentityView,
    RequestDetail,
    RequestSummary,
    request_status,
)

_PROJECTION = RequestsProjection.name

# The school's own reference of the pupil lives only beside the pupil's key (issue 20).
_SUMMARY = """
SELECT r.*, c.status AS consent_status, p.routed_to, p.claimed_by, p.claimed_at,
       p.trajectory_opened_at, p.routed_work_unit, p.route_coaches, p.escalated_region,
       k.school_ref AS school_pupil_ref
FROM requests r
LEFT JOIN consent c USING (case_id)
LEFT JOIN case_progress p USING (case_id)
LEFT JOIN public.pupil_keys k ON k.swv = r.swv AND k.pupil_ref = r.pupil_ref
"""


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _progress(row: asyncpg.Record) -> ProgressView:
    return ProgressView(
        routed_to=row["routed_to"],
        claimed_by=row["claimed_by"],
        claimed_at=row["claimed_at"],
        trajectory_opened_at=row["trajectory_opened_at"],
    )


def _summary_fields(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "case_id": row["case_id"],
        "school_id": row["school_id"],
        "ib_id": row["ib_id"],
        "addressed_worker_id": row["addressed_worker_id"],
        "pupil_ref": row["pupil_ref"],
        "school_pupil_ref": row["school_pupil_ref"],
        "levels": list(row["levels"]),
        "status": request_status(row["withdrawn_at"] is not None, _progress(row)),
        "consent_status": row["consent_status"] or "not_requested",
        "submitted_at": row["submitted_at"],
    }


async def school_requests(
    pool: asyncpg.Pool,
    swv: str,
    school_id: str,
    *,
    limit: int,
    offset: int,
    visible: Callable[[CaseFacts], bool] = lambda _: True,
) -> list[RequestSummary]:
    """The school's requests the caller may see (``visible``), newest first.

    Paging counts visible requests only; a school's requests are few enough to filter
    here rather than repeat the access rules in SQL.
    """
    async with tenant_read_model(pool, _PROJECTION, swv) as conn:
        rows = await conn.fetch(
            _SUMMARY + "WHERE r.swv = $1 AND r.school_id = $2 "
            "ORDER BY r.submitted_at DESC, r.case_id",
            swv,
            school_id,
        )
    shown = [row for row in rows if visible(facts_of(row))]
    return [RequestSummary(**_summary_fields(row)) for row in shown[offset : offset + limit]]


# How many requests a search or a list of case ids answers at most.
MAX_FOUND = 200
# A case id's first characters match from this many on (the portal shows eight).
MIN_PREFIX = 6
_HEX = frozenset("0123456789abcdef-")


def id_prefix(text: str) -> str | None:
    """The start of a case id ``text`` may be (``52fca91e``, a whole UUID), lower case;
    None when it cannot be one (too short, or not hexadecimal)."""
    candidate = text.strip().lower()
    if len(candidate) < MIN_PREFIX or len(candidate) > 36 or not set(candidate) <= _HEX:
        return None
    return candidate


async def found_requests(
    pool: asyncpg.Pool,
    swv: str,
    *,
    find: str | None = None,
    case_ids: Sequence[UUID] = (),
    called_in: str | None = None,
    visible: Callable[[CaseFacts], bool] = lambda _: True,
) -> list[RequestSummary]:
    """The requests the caller may see (``visible``) whose case id starts with ``find`` or
    whose pupil is ``find`` (the school's reference or intake's pseudonym, any case), or
    whose case id is one of ``case_ids``, or whose case the route coach ``called_in`` was
    called into (W29); newest first, at most :data:`MAX_FOUND`."""
    text = (find or "").strip()
    if "\x00" in text:
        # PostgreSQL text holds no NUL: no reference or id has one, so nothing matches.
        text = ""
    prefix = id_prefix(text) if text else None
    async with tenant_read_model(pool, _PROJECTION, swv) as conn:
        rows = await conn.fetch(
            _SUMMARY + "WHERE r.swv = $1 AND ("
            "($2::text IS NOT NULL AND (lower(r.pupil_ref) = lower($2) "
            "OR lower(k.school_ref) = lower($2))) "
            "OR ($3::text IS NOT NULL AND r.case_id::text LIKE $3 || '%') "
            "OR r.case_id = ANY($4::uuid[]) "
            "OR $6::text = ANY (p.route_coaches)) "
            "ORDER BY r.submitted_at DESC, r.case_id LIMIT $5",
            swv,
            text or None,
            prefix,
            list(case_ids),
            MAX_FOUND,
            called_in,
        )
    return [RequestSummary(**_summary_fields(row)) for row in rows if visible(facts_of(row))]


async def school_pupils(
    pool: asyncpg.Pool, swv: str, school_id: str, school_refs: Sequence[str]
) -> dict[str, str]:
    """Intake's pseudonyms of the school's references ``school_refs``, of that school's
    pupils that are not erased (only the key's row knows the reference, and its school)."""
    async with tenant_read_model(pool, _PROJECTION, swv) as conn:
        rows = await conn.fetch(
            "SELECT k.school_ref, k.pupil_ref FROM public.pupil_keys k "
            "WHERE k.swv = $1 AND k.school_id = $2 AND k.school_ref = ANY($3::text[])",
            swv,
            school_id,
            list(school_refs),
        )
    return {r["school_ref"]: r["pupil_ref"] for r in rows}


async def teacher_pupils(
    pool: asyncpg.Pool, swv: str, school_id: str, teacher_id: str
) -> dict[str, str]:
    """The school's pupils (not erased) whose latest request names ``teacher_id`` as their
    teacher (W16): school reference -> intake's pseudonym. One indexed read of what the
    submissions kept beside the keys (:mod:`passend_intake.pupil_teachers`)."""
    async with tenant_read_model(pool, _PROJECTION, swv) as conn:
        rows = await conn.fetch(
            "SELECT k.school_ref, k.pupil_ref FROM public.pupil_teachers t"
            " JOIN public.pupil_keys k ON k.swv = t.swv AND k.pupil_ref = t.pupil_ref"
            " WHERE t.swv = $1 AND t.teacher_id = $3 AND k.school_id = $2",
            swv,
            school_id,
            teacher_id,
        )
    return {r["school_ref"]: r["pupil_ref"] for r in rows}


async def case_school(pool: asyncpg.Pool, swv: str, case_id: UUID) -> str | None:
    """The school of a case in ``swv`` per the read model (None when unknown there)."""
    async with tenant_read_model(pool, _PROJECTION, swv) as conn:
        value: str | None = await conn.fetchval(
            "SELECT school_id FROM requests WHERE swv = $1 AND case_id = $2", swv, case_id
        )
    return value


def consent_view(case_id: UUID, row: asyncpg.Record | None) -> ConsentView:
    if row is None:
        return ConsentView(
            case_id=case_id, status="not_requested", individual_support_allowed=False
        )
    return ConsentView(
        case_id=case_id,
        status=row["status"],
        individual_support_allowed=row["status"] == "confirmed",
        method=row["method"],
        parents_asked=list(row["parents_asked"] or []),
        requested_by=row["requested_by"],
        requested_at=row["requested_at"],
        answered_by=row["answered_by"],
        answered_at=row["answered_at"],
        withdrawn_at=row["withdrawn_at"],
        link_expires_at=row["link_expires_at"],
        pupil_heard_at=row["pupil_heard_at"],
        pupil_view=row["pupil_view"],
    )


async def consent_state(pool: asyncpg.Pool, swv: str, case_id: UUID) -> ConsentView | None:
    """Consent of a case in ``swv``; None when the case is unknown there."""
    async with tenant_read_model(pool, _PROJECTION, swv) as conn:
        row = await conn.fetchrow(
            "SELECT c.* FROM requests r LEFT JOIN consent c USING (case_id) "
            "WHERE r.swv = $1 AND r.case_id = $2",
            swv,
            case_id,
        )
    if row is None:
        return None
    return consent_view(case_id, row if row["status"] is not None else None)


async def _pupil(conn: asyncpg.Connection, row: asyncpg.Record) -> PupilIdentityView:
    raw = _json(row["encrypted_identity"])
    sealed = EncryptedIdentity.model_validate(raw) if raw else None
    identity = await pupil_keys.open_identity(conn, sealed, row["swv"], row["pupil_ref"])
    if identity is None:
        return PupilIdentityView(erased=True, name=ERASED)
    return PupilIdentityView(
        erased=False,
        name=identity.name,
        date_of_birth=identity.date_of_birth,
        parents=[ParentView(**p.model_dump()) for p in identity.parents],
    )


async def request_detail(pool: asyncpg.Pool, swv: str, case_id: UUID) -> RequestDetail | None:
    """One request with its full history; None when unknown in ``swv``."""
    async with tenant_read_model(pool, _PROJECTION, swv) as conn:
        row = await conn.fetchrow(_SUMMARY + "WHERE r.swv = $1 AND r.case_id = $2", swv, case_id)
        if row is None:
            return None
        consent = await conn.fetchrow("SELECT * FROM consent WHERE case_id = $1", case_id)
        history = await conn.fetch(
            "SELECT * FROM request_history WHERE case_id = $1 ORDER BY stream_version", case_id
        )
        pupil = await _pupil(conn, row)
    return RequestDetail(
        **_summary_fields(row),
        parent_refs=list(row["parent_refs"]),
        educational_need=row["educational_need"],
        tried_in_basic_support=row["tried_in_basic_support"],
        why_stuck=row["why_stuck"],
        multiple_problems=row["multiple_problems"],
        specialist_advised=row["specialist_advised"],
        processing_basis=row["processing_basis"],
        withdrawn_at=row["withdrawn_at"],
        withdrawal_reason=row["withdrawal_reason"],
        pupil=pupil,
        consent=consent_view(case_id, consent),
        progress=_progress(row),
        history=[
            HistoryEntry(
                version=h["stream_version"],
                event_type=h["event_type"],
                occurred_at=h["occurred_at"],
                actor=h["actor"],
                on_behalf_of=h["on_behalf_of"],
                data=_json(h["data"]),
            )
            for h in history
        ],
    )


async def progress(pool: asyncpg.Pool, swv: str, case_id: UUID) -> ProgressView:
    """What intake heard of the case's claim and trajectory (empty when nothing yet)."""
    async with tenant_read_model(pool, _PROJECTION, swv) as conn:
        row = await conn.fetchrow(
            "SELECT routed_to, claimed_by, claimed_at, trajectory_opened_at "
            "FROM case_progress WHERE case_id = $1",
            case_id,
        )
    return _progress(row) if row else ProgressView()


async def expertise_areas(pool: asyncpg.Pool, swv: str) -> tuple[ExpertiseArea, ...]:
    """The SWV's expertise areas as the directory last configured them (none known: none).

    W24: a request names the areas its words signal; before intake has read the
    directory's configuration (a fresh start), a request names none and is still routed.
    """
    try:
        async with tenant_read_model(pool, _PROJECTION, swv) as conn:
            raw = await conn.fetchval("SELECT areas FROM expertise_areas WHERE swv = $1", swv)
    except ProjectionNotSetUp:
        return ()
    if raw is None:
        return ()
    items = json.loads(raw) if isinstance(raw, str) else raw
    return tuple(ExpertiseArea.model_validate(item) for item in items)
