"""The HTTP API of the trajectory service: the app and who may do what.

Refusals (``passend_backbone.commands.Refusal``) are answered by the handlers the
lifecycle installs in every service: ``{"detail": {"rule", "message"}}`` with 404, 409,
403 or 422 by their kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from fastapi import FastAPI

from passend_backbone.audit.integrity import integrity_router
from passend_backbone.audit.router import audit_router
from passend_backbone.audit.state import fold_with
from passend_backbone.auth import Principal, Role
from passend_backbone.auth.policy import CASE_ROLES
from passend_backbone.commands import Refusal
from passend_backbone.service import ServiceContext
from passend_trajectory.domain.evolve import evolve
from passend_trajectory.domain.state import TrajectoryState

# Who works on a trajectory: the support worker and the SWV's education specialist.
WORKERS = (Role.SUPPORT_WORKER, Role.EDUCATION_SPECIALIST)
# The partners around the support (C, seed 004): the school's IB and teacher, the support
# worker and the SWV's education specialist, each within their reach of the case.
PARTNERS = (Role.IB, Role.TEACHER, Role.SUPPORT_WORKER, Role.EDUCATION_SPECIALIST)
# Who may read a case's trajectory: every role that sees case content, each within its
# reach (passend_backbone.auth.policy); the operator runs the system blind to it.
READERS = tuple(sorted(CASE_ROLES))
# W23: a session's findings are the support worker's own record ("voor eigen gebruik"): the
# support side doing the work reads them, and the auditor, who reads the whole log anyway.
# The school, the teacher, Team NO, the route coach and the coordinator learn that a session
# was held, when and how long, never what the worker noted.
FINDINGS_READERS = frozenset({Role.SUPPORT_WORKER, Role.EDUCATION_SPECIALIST, Role.AUDITOR})


def require(principal: Principal, *roles: Role, what: str) -> None:
    """403 unless the caller has one of ``roles`` (within their own SWV)."""
    if principal.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise Refusal.forbidden(
            "roles", f"role {principal.role.value} may not {what}; needs {allowed}"
        )


def create_app(ctx: ServiceContext) -> FastAPI:
    """The app on ``ctx``: command routes, read-model routes and the auditors' routes."""
    from passend_trajectory.api_commands import commands_router
    from passend_trajectory.api_outcomes import outcomes_router
    from passend_trajectory.api_partners import partners_router
    from passend_trajectory.api_queries import queries_router

    app = FastAPI(
        title="Passend trajectory",
        summary="Start conversation, plan, support, evaluation, care level, case director, "
        "Team NO and the partners' part of a claimed case.",
        version="1",
    )
    app.include_router(commands_router(ctx))
    app.include_router(outcomes_router(ctx))
    app.include_router(partners_router(ctx))
    app.include_router(queries_router(ctx))
    # Auditors replay the case from this service's own log (issue 7).
    app.include_router(audit_router(ctx, state_as_of=fold_with(evolve, TrajectoryState())))
    # Every reader of the case gets its stream's hash-chain head (issue 21).
    app.include_router(integrity_router(ctx, check=_reads_case(ctx)))
    return app


def _reads_case(ctx: ServiceContext) -> Callable[[Principal, UUID], Awaitable[None]]:
    """The check of reading a trajectory: a reader's role (403), the case in reach (404)."""
    from passend_trajectory import reach, views
    from passend_trajectory.api_runner import no_trajectory

    async def check(principal: Principal, case_id: UUID) -> None:
        require(principal, *READERS, what="read a trajectory")
        async with views.reading(ctx.pool, principal.swv, case_id) as read:
            if not (read.exists and reach.within_reach(principal, read.facts)):
                raise no_trajectory(case_id)

    return check
