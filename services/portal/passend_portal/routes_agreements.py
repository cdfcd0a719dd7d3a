"""The page the "waarom?" links lead to: the werkwijzer's agreements, one sentence each."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from passend_portal import agreements
from passend_portal.web import Portal


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()

    @routes.get("/afspraken")
    async def agreements_page(request: Request) -> HTMLResponse:
        # Open to everyone: the agreements are the SWV's public way of working. Someone
        # signed in who follows a "waarom?" link keeps the menu and the way back.
        return portal.render(request, "agreements.html", {"agreements": agreements.listed()})

    return routes
