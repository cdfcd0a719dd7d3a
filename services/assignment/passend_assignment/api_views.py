"""The HTTP API's reads: a case, suggestions, inbox, a worker's cases, queue, caseloads,
deadlines, lead times."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends

from passend_assignment import views
from passend_assignment.access import CASE_READERS, STAFF, require, require_sees, visible_rows
from passend_assignment.consent_view import CASE_CONSENT, ConsentOut, consent_of
from passend_assignment.domain.case import CaseState
from passend_assignment.domain.caseload import Caseload
from passend_assignment.domain.deadlines import TimeLeft, time_left
from passend_assignment.domain.directory import DirectoryState
from passend_assignment.domain.ranking import rank
from passend_assignment.projections import CASE_BOARD
from passend_assignment.schemas import (
    BoardCaseOut,
    CaseloadOut,
    CaseOut,
    LeadTimesOut,
    SuggestionOut,
)
from passend_assignment.streams import load_case, load_directory
from passend_backbone import tenancy
from passend_backbone.audit.readlog import record_case_read, record_list_read
from passend_backbone.auth import CurrentPrincipal, Principal, Role
from passend_backbone.commands import Refusal
from passend_backbone.consumer.readmodel import tenant_read_model
from passend_backbone.consumer.schema import ProjectionNotSetUp
from passend_backbone.service import ServiceContext


def _left(row: Any, directory: DirectoryState, now: datetime) -> TimeLeft | None:
    """W26: the time left on an open deadline, in working days of the school's calendar."""
    if row["contact_due_at"] is None or row["first_contact_at"] is not None:
        return None
    calendar = directory.calendar_of(row["school_id"] or "")
    return time_left(row["contact_due_on"], row["contact_due_at"], now, calendar)


def _not_ready() -> Refusal:
    return Refusal.conflict("read-model", "the case board is being set up: retry shortly")


def views_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["views"])

    async def board(principal: Principal, rows: list[Any], view: str) -> list[BoardCaseOut]:
        """The rows within the caller's reach, with the time left on their deadlines; every
        case shown is logged as read by the person (``view``: which list showed it)."""
        directory, _ = await load_directory(ctx.store, principal.swv)
        now = ctx.clock()
        shown = [
            BoardCaseOut.of(r, _left(r, directory, now)) for r in visible_rows(principal, rows)
        ]
        await record_list_read(ctx.pool, principal, (c.case_id for c in shown), view=view)
        return shown

    async def reachable_case(principal: Principal, case_id: UUID) -> CaseState:
        async with tenancy.tenant_transaction(ctx.pool, principal.swv, readonly=True) as conn:
            case, records = await load_case(ctx.store, case_id, principal.swv, conn)
        require_sees(principal, case_id, case, records)
        return case

    async def consent(principal: Principal, case_id: UUID) -> ConsentOut | None:
        """W10: the consent intake published; unknown while its read model is set up."""
        try:
            async with tenant_read_model(ctx.pool, CASE_CONSENT, principal.swv) as conn:
                return await consent_of(conn, principal.swv, case_id)
        except ProjectionNotSetUp:
            return None

    @router.get(
        "/cases/{case_id}", dependencies=[Depends(record_case_read(ctx.pool, "assignment.case"))]
    )
    async def get_case(case_id: UUID, principal: CurrentPrincipal) -> CaseOut:
        """The case from its own events: who received it, who is responsible (W25), deadline;
        with the parents' consent as intake published it (W10)."""
        require(principal, *CASE_READERS)
        case = CaseOut.of(await reachable_case(principal, case_id))
        return case.model_copy(update={"consent": await consent(principal, case_id)})

    @router.get("/cases/{case_id}/suggestions")
    async def suggestions(case_id: UUID, principal: CurrentPrincipal) -> list[SuggestionOut]:
        """W24: colleagues of the work unit, expertise first, then knowing the school, then
        hours free (domain/ranking.py), each with the requested areas they have and lack."""
        require(principal, Role.SUPPORT_WORKER, Role.COORDINATOR)
        case = await reachable_case(principal, case_id)
        directory, _ = await load_directory(ctx.store, principal.swv)
        unit = case.offered_to or case.work_unit_id or principal.work_unit_id
        candidates = directory.members_of(unit) if unit else []
        try:
            async with tenant_read_model(ctx.pool, CASE_BOARD, principal.swv) as conn:
                open_cases = await views.open_case_counts(conn, principal.swv)
        except ProjectionNotSetUp:
            raise _not_ready() from None
        hours = directory.settings.case_hours_per_week if directory.settings else 2.0
        ranked = rank(candidates, case.need_areas, case.school_id, open_cases, hours)
        return [SuggestionOut.of(s) for s in ranked]

    @router.get("/workers/{worker_id}/inbox")
    async def inbox(worker_id: str, principal: CurrentPrincipal) -> list[BoardCaseOut]:
        """W24, W25: unclaimed requests the worker received."""
        require(principal, *STAFF)
        try:
            async with tenant_read_model(ctx.pool, CASE_BOARD, principal.swv) as conn:
                rows = await views.inbox(conn, principal.swv, worker_id)
        except ProjectionNotSetUp:
            raise _not_ready() from None
        return await board(principal, rows, "assignment.inbox")

    @router.get("/workers/{worker_id}/cases")
    async def worker_cases(worker_id: str, principal: CurrentPrincipal) -> list[BoardCaseOut]:
        """W25: the open cases the worker claimed or is the education specialist of."""
        require(principal, *STAFF)
        try:
            async with tenant_read_model(ctx.pool, CASE_BOARD, principal.swv) as conn:
                rows = await views.worker_cases(conn, principal.swv, worker_id)
        except ProjectionNotSetUp:
            raise _not_ready() from None
        return await board(principal, rows, "assignment.worker_cases")

    @router.get("/work-units/{work_unit_id}/queue")
    async def queue(work_unit_id: str, principal: CurrentPrincipal) -> list[BoardCaseOut]:
        """W24, W25: cases offered to the work unit and not yet claimed, with who is
        responsible meanwhile."""
        require(principal, *STAFF)
        try:
            async with tenant_read_model(ctx.pool, CASE_BOARD, principal.swv) as conn:
                rows = await views.queue(conn, principal.swv, work_unit_id)
        except ProjectionNotSetUp:
            raise _not_ready() from None
        return await board(principal, rows, "assignment.queue")

    @router.get("/caseloads")
    async def caseloads(
        principal: CurrentPrincipal, work_unit_id: str | None = None
    ) -> list[CaseloadOut]:
        """W24: open claimed cases per worker, against their weekly case hours."""
        require(principal, *STAFF)
        try:
            async with tenant_read_model(ctx.pool, CASE_BOARD, principal.swv) as conn:
                counts = await views.open_case_counts(conn, principal.swv)
        except ProjectionNotSetUp:
            raise _not_ready() from None
        directory, _ = await load_directory(ctx.store, principal.swv)
        hours = directory.settings.case_hours_per_week if directory.settings else 2.0
        out = []
        for worker_id in sorted(set(counts) | set(directory.workers)):
            worker = directory.workers.get(worker_id)
            unit = worker.work_unit_id if worker else None
            if work_unit_id is not None and unit != work_unit_id:
                continue
            if worker is not None and not worker.active and not counts.get(worker_id):
                continue
            load = Caseload(
                counts.get(worker_id, 0), worker.weekly_case_hours if worker else None, hours
            )
            out.append(
                CaseloadOut(
                    worker_id=worker_id,
                    work_unit_id=unit,
                    open_cases=load.open_cases,
                    weekly_case_hours=load.weekly_case_hours,
                    hours_taken=load.hours_taken,
                    hours_free=load.hours_free,
                    hours_over=load.hours_over,
                    over_capacity=load.over_capacity,
                )
            )
        return out

    @router.get("/deadlines")
    async def deadlines(
        principal: CurrentPrincipal, worker_id: str | None = None
    ) -> list[BoardCaseOut]:
        """W26: open first-contact deadlines with the time left, soonest first."""
        require(principal, *STAFF)
        try:
            async with tenant_read_model(ctx.pool, CASE_BOARD, principal.swv) as conn:
                rows = await views.open_deadlines(conn, principal.swv, worker_id)
        except ProjectionNotSetUp:
            raise _not_ready() from None
        return await board(principal, rows, "assignment.deadlines")

    @router.get("/lead-times")
    async def lead_times(principal: CurrentPrincipal) -> LeadTimesOut:
        """Per SWV: hours from submission to claim and to first contact (W26)."""
        require(principal, *STAFF, Role.OPERATOR)
        try:
            async with tenant_read_model(ctx.pool, CASE_BOARD, principal.swv) as conn:
                row = await views.lead_times(conn, principal.swv)
        except ProjectionNotSetUp:
            raise _not_ready() from None

        def hours(name: str) -> float | None:
            value = row[name]
            return None if value is None else round(float(value), 2)

        return LeadTimesOut(
            swv=principal.swv,
            submitted=row["submitted"],
            claimed=row["claimed"],
            contacted=row["contacted"],
            deadlines_missed=row["deadlines_missed"],
            claim_avg_hours=hours("claim_avg_hours"),
            claim_median_hours=hours("claim_median_hours"),
            contact_avg_hours=hours("contact_avg_hours"),
            contact_median_hours=hours("contact_median_hours"),
        )

    return router
