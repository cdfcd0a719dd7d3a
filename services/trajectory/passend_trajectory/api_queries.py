"""Read-model routes: a case's trajectory, evaluations due per worker, Team NO per region,
a person's invitations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from passend_backbone.audit.readlog import record_case_read, record_list_read
from passend_backbone.auth import CurrentPrincipal, Principal, Role
from passend_backbone.commands import Refusal
from passend_backbone.service import ServiceContext
from passend_backbone.working_days import local_day
from passend_trajectory import calendars, reach, views
from passend_trajectory.api import FINDINGS_READERS, READERS, WORKERS, require
from passend_trajectory.api_runner import no_trajectory
from passend_trajectory.domain.decide import DECIDER
from passend_trajectory.domain.state import TrajectoryState
from passend_trajectory.team_no_regions import regions_of

# Who oversees a region's Team NO agenda and stagnations besides its members.
REGION_OVERSIGHT = (Role.EDUCATION_SPECIALIST, Role.COORDINATOR, Role.AUDITOR)
# The SWV's figures per phase, as assignment's lead times up to the first contact.
LEAD_TIME_READERS = (Role.COORDINATOR, Role.EDUCATION_SPECIALIST, Role.OPERATOR)


def _not_found(case_id: UUID) -> Refusal:
    return no_trajectory(case_id)


def _require_region(principal: Principal, region: str) -> None:
    """TNO: Team NO members see their own region; SWV oversight roles see every region."""
    if principal.role is Role.TEAM_NO_MEMBER:
        if principal.region != region:
            raise Refusal.forbidden(
                "TNO",
                f"a member of Team NO {principal.region} does not see the agenda of {region}",
            )
        return
    require(principal, Role.TEAM_NO_MEMBER, *REGION_OVERSIGHT, what="see a Team NO region")


def _case_ids(rows: Any) -> list[object]:
    """The case ids of a list's rows (dicts with ``case_id``)."""
    return [r.get("case_id") for r in rows if isinstance(r, dict)]


def queries_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["trajectory read models"])

    @router.get(
        "/cases/{case_id}/trajectory",
        dependencies=[Depends(record_case_read(ctx.pool, "trajectory.trajectory"))],
    )
    async def get_trajectory(
        case_id: UUID, principal: CurrentPrincipal, as_of: datetime | None = None
    ) -> dict[str, Any]:
        """The case's trajectory with every plan revision, evaluation and what is due; with
        ``as_of`` (an aware timestamp), replayed from the log as it stood then.

        W23, issue 19: the sessions' findings only for :data:`FINDINGS_READERS` (null for
        the others), as of any moment too.

        Issue 9 and 24: who may see the case is decided on reads made alike for an unknown
        case and for one out of reach (:func:`passend_trajectory.views.reading`), so the
        404 takes the same time either way; only a caller who sees the case gets its state.
        """
        require(principal, *READERS, what="read a trajectory")
        if as_of is not None and as_of.tzinfo is None:
            raise Refusal.invalid("as_of", "as_of needs a time zone offset")
        async with views.reading(ctx.pool, principal.swv, case_id) as read:
            if not (read.exists and reach.within_reach(principal, read.facts)):
                raise _not_found(case_id)
            if as_of is None:
                state = await read.state()
        if as_of is not None:
            records = await ctx.store.read_stream(str(case_id), as_of=as_of)
            found = records and records[0].swv == principal.swv
            state = DECIDER.fold_stored(records) if found else TrajectoryState()
        if state.opened is None and state.withdrawn is None:
            raise _not_found(case_id)
        today = local_day(as_of if as_of is not None else ctx.clock())
        school = state.opened.school_id if state.opened is not None else read.facts.school_id
        calendar = await calendars.calendar_of_school(ctx.pool, principal.swv, school)
        findings = principal.role in FINDINGS_READERS  # W23
        return views.trajectory_view(state, today, calendar, findings=findings)

    @router.get("/workers/{worker_id}/evaluations-due")
    async def evaluations_due(worker_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
        """W21, S: the worker's evaluations due or overdue; another worker's (a colleague's,
        or for oversight) only of the cases within the caller's reach (issue 9)."""
        require(principal, Role.SUPPORT_WORKER, *REGION_OVERSIGHT, what="see evaluations due")
        due = await views.evaluations_due_for(
            ctx.pool, principal.swv, worker_id, local_day(ctx.clock())
        )
        if principal.subject != worker_id:
            due = await reach.visible(ctx.pool, principal, due)
        await record_list_read(
            ctx.pool, principal, _case_ids(due), view="trajectory.evaluations_due"
        )
        return {"worker_id": worker_id, "evaluations": due}

    @router.get("/regions")
    async def team_no_regions(principal: CurrentPrincipal) -> dict[str, Any]:
        """TNO: the SWV's Team NO regions as its directory configures them: the
        municipalities each covers (CBS code and name) and its members. Workers see them
        too: they escalate to them."""
        require(principal, Role.TEAM_NO_MEMBER, *REGION_OVERSIGHT, *WORKERS, what="see regions")
        return {"regions": await regions_of(ctx.pool, principal.swv)}

    @router.get("/regions/{region}/team-no-agenda")
    async def team_no_agenda(region: str, principal: CurrentPrincipal) -> dict[str, Any]:
        """TNO: the cases awaiting the region's Team NO decision."""
        _require_region(principal, region)
        cases = await reach.visible(
            ctx.pool, principal, await views.team_no_agenda(ctx.pool, principal.swv, region)
        )
        # The agenda shows draft plans and reasons: a read of every case on it.
        await record_list_read(
            ctx.pool, principal, _case_ids(cases), view="trajectory.team_no_agenda"
        )
        return {"region": region, "cases": cases}

    @router.get("/regions/{region}/stagnations")
    async def stagnations(
        region: str,
        principal: CurrentPrincipal,
        since: date | None = None,
        until: date | None = None,
    ) -> dict[str, Any]:
        """TNO: the region's stagnations by reason and municipality; ``since`` and ``until``
        (days, both included, Dutch time) narrow it to the escalations of a period."""
        _require_region(principal, region)
        if since and until and since > until:
            raise Refusal.invalid("until", "the period ends before it starts")
        return await views.stagnation_report(ctx.pool, principal.swv, region, since, until)

    @router.get("/lead-times")
    async def phase_lead_times(
        principal: CurrentPrincipal,
        worker_id: str | None = None,
        school_id: Annotated[list[str] | None, Query()] = None,
        since: date | None = None,
        until: date | None = None,
    ) -> dict[str, Any]:
        """W6, W15, W16, W21, TNO: days per phase of the route after the first contact
        (to the start conversation, the plan, the support, the first evaluation, closing;
        Team NO's decision), average and median, over the trajectories opened in a period
        (``since``/``until``, Dutch days, both included), of a worker or of one or more
        schools (``school_id`` repeated: the schools of a municipality, say)."""
        require(principal, *LEAD_TIME_READERS, what="see lead times")
        if since and until and since > until:
            raise Refusal.invalid("until", "the period ends before it starts")
        return await views.phase_lead_times(
            ctx.pool,
            principal.swv,
            worker_id=worker_id,
            school_ids=school_id,
            since=since,
            until=until,
        )

    @router.get("/invitations")
    async def invitations(principal: CurrentPrincipal) -> dict[str, Any]:
        """C: the meetings the caller was invited to as an adviser, with their goals."""
        require(principal, *READERS, what="see invitations")
        found = await views.invitations_for(ctx.pool, principal.swv, principal.subject)
        await record_list_read(ctx.pool, principal, _case_ids(found), view="trajectory.invitations")
        return {"adviser_id": principal.subject, "invitations": found}

    return router
