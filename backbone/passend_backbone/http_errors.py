"""How every service answers a refused command: the refusal's status and its rule."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from passend_backbone.commands.refusal import Refusal


def install_refusal_handler(app: FastAPI) -> None:
    """Answer a :class:`Refusal` raised anywhere in ``app`` with its status and detail."""

    async def refused(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refusal)
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status_code)

    app.add_exception_handler(Refusal, refused)
