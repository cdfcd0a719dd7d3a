"""Errors nobody refused on purpose still answer as problem details: a lost connection is a
503 to retry, anything else a 500 that names no internals."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI
from fastapi.testclient import TestClient

from passend_backbone.http_errors import (
    BodySizeLimit,
    LargeBody,
    install_backbone_error_handlers,
)


def _app() -> FastAPI:
    app = FastAPI()
    install_backbone_error_handlers(app)

    @app.post("/lost")
    async def lost() -> None:
        raise OSError(113, "No route to host")

    @app.post("/deadlock")
    async def deadlock() -> None:
        raise asyncpg.DeadlockDetectedError("deadlock detected")

    @app.post("/bug")
    async def bug() -> None:
        raise KeyError("nl.passend.intake.RequestSubmitted.v1")

    return app


def test_a_lost_connection_is_a_503_to_retry() -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    for path in ("/lost", "/deadlock"):
        answer = client.post(path)
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["type"] == "urn:passend:problem:unavailable"


def test_anything_else_is_a_500_that_names_no_internals() -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    answer = client.post("/bug")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert "RequestSubmitted" not in answer.text
    assert answer.json()["detail"] == "an unexpected error: it has been logged"


def test_an_upload_path_takes_its_own_larger_limit_and_says_so() -> None:
    app = FastAPI()

    @app.post("/small")
    @app.post("/uploads/{name}")
    async def take() -> dict[str, str]:
        return {"taken": "yes"}

    upload = LargeBody(path=r"/uploads/[^/]+", max_bytes=4096, detail="Te groot: hoogstens 4 kB.")
    limited = BodySizeLimit(app, max_bytes=1024, larger=[upload])
    client = TestClient(limited)
    body = bytes(2048)
    assert client.post("/small", content=body).status_code == 413
    assert client.post("/uploads/a", content=body).status_code == 200
    refused = client.post("/uploads/a", content=bytes(4097))
    assert refused.status_code == 413
    assert refused.json()["detail"] == "Te groot: hoogstens 4 kB."
    assert client.post("/uploads/a/b", content=body).status_code == 413  # the whole path
