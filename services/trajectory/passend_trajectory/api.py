"""The HTTP API of the trajectory service: the app, who may do what, and refusals as answers."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse

from passend_backbone.audit.router import audit_router
from passend_backbone.audit.state import fold_with
from passend_backbone.auth import Principal, Role
from passend_backbone.auth.policy import CASE_ROLES
from passend_backbone.eventstore import ConcurrencyError
from passend_backbone.service import ServiceContext
from passend_trajectory.domain.evolve import evolve
from passend_trajectory.domain.refusals import InvalidCommand, NotFound, Refusal, RuleViolation
from passend_trajectory.domain.state import TrajectoryState
from passend_trajectory.idempotency import KeyReused

# Who works on a trajectory: the support worker and the SWV's education specialist.
WORKERS = (Role.SUPPORT_WORKER, Role.EDUCATION_SPECIALIST)
# Who may read a case's trajectory: every role that sees case content, each within its
# reach (passend_backbone.auth.policy); the operator runs the system blind to it.
READERS = tuple(sorted(CASE_ROLES))

_STATUS: dict[type[Refusal], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    RuleViolation: status.HTTP_409_CONFLICT,
    InvalidCommand: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


def require(principal: Principal, *roles: Role, what: str) -> None:
    """403 unless the caller has one of ``roles`` (within their own SWV)."""
    if principal.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail={
                "rule": "roles",
                "message": f"role {principal.role.value} may not {what}; needs {allowed}",
            },
        )


def create_app(ctx: ServiceContext) -> FastAPI:
    """The app on ``ctx``: command routes, read-model routes, and refusal handlers."""
    from passend_trajectory.api_commands import commands_router
    from passend_trajectory.api_outcomes import outcomes_router
    from passend_trajectory.api_queries import queries_router

    app = FastAPI(
        title="Passend trajectory",
        summary="Start conversation, plan, support, evaluation, care level, case director and "
        "Team NO of a claimed case.",
        version="1",
    )
    app.include_router(commands_router(ctx))
    app.include_router(outcomes_router(ctx))
    app.include_router(queries_router(ctx))
    # Auditors replay the case from this service's own log (issue 7).
    app.include_router(audit_router(ctx, state_as_of=fold_with(evolve, TrajectoryState())))

    @app.exception_handler(Refusal)
    async def refused(_: Request, exc: Refusal) -> JSONResponse:
        code = next((c for t, c in _STATUS.items() if isinstance(exc, t)), 409)
        return JSONResponse({"detail": {"rule": exc.rule, "message": exc.message}}, code)

    @app.exception_handler(ConcurrencyError)
    async def conflict(_: Request, exc: ConcurrencyError) -> JSONResponse:
        message = "the case changed while this was decided: reload and try again"
        return JSONResponse({"detail": {"rule": "concurrency", "message": message}}, 409)

    @app.exception_handler(KeyReused)
    async def key_reused(_: Request, exc: KeyReused) -> JSONResponse:
        detail = {"rule": "idempotency", "message": f"{exc}: use a new key"}
        return JSONResponse({"detail": detail}, 422)

    return app
