"""A tiny service for the runtime and dev-stack tests: one table, one route, one background task."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request

from passend_backbone.service import ServiceContext, ServiceSpec
from passend_contracts import topics


def create_app(ctx: ServiceContext) -> FastAPI:
    app = FastAPI(title="fake")

    @app.get("/greetings")
    async def greetings(request: Request) -> dict[str, object]:
        count = await ctx.pool.fetchval("SELECT count(*) FROM greetings")
        return {"count": count, "correlation_id": request.state.correlation_id}

    return app


async def heartbeat(ctx: ServiceContext, stop: asyncio.Event) -> None:
    """Background work that returns when asked to (as a scheduler does)."""
    await ctx.pool.execute("INSERT INTO greetings (word) VALUES ('started')")
    await stop.wait()
    await ctx.pool.execute("INSERT INTO greetings (word) VALUES ('stopped')")


SPEC = ServiceSpec(
    name="fake",
    topic=f"{topics.INTAKE}.fake",
    migrations="tests.integration.fake_service.migrations",
    create_app=create_app,
    background=(heartbeat,),
)
