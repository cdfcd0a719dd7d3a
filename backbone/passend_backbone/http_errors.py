"""How every service answers what the backbone raises: refusals and a read model not there yet."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from passend_backbone.commands.refusal import Refusal
from passend_backbone.consumer.schema import ProjectionNotSetUp


def install_backbone_error_handlers(app: FastAPI) -> None:
    """Answer a :class:`Refusal` with its status and detail, and a read model that is not
    set up yet (a service's first seconds) with 503 and ``Retry-After``."""

    async def refused(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refusal)
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status_code)

    async def starting(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": {"message": "the read model is being set up: try again shortly"}},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    app.add_exception_handler(Refusal, refused)
    app.add_exception_handler(ProjectionNotSetUp, starting)
