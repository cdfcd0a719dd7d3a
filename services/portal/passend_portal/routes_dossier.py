"""The "Dossier (PDF)" and "OPP (PDF)" downloads of a case page (issue 21)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from passend_portal import dossier, finding
from passend_portal.session import Session
from passend_portal.web import Portal


def _pdf(content: bytes, name: str) -> Response:
    # A dossier is personal data: not kept by the browser's or a proxy's cache.
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _refused(
    portal: Portal, request: Request, session: Session, exc: dossier.DossierRefused
) -> Response:
    context = {"message": exc.message, "back": f"/zaken/{request.path_params['case_id']}"}
    return portal.render(request, "error.html", context, status=exc.status, session=session)


def router(portal: Portal) -> APIRouter:
    routes = APIRouter()

    @routes.get("/zaken/{case_id}/dossier.pdf")
    async def case_dossier(request: Request, case_id: str, doel: str = "") -> Response:
        """The case as a person files it; a logged read in every service it reads. After
        the pupil is erased: a page that says why there is no dossier (410)."""
        session = portal.session_of_role(request, *dossier.ROLES)
        if not finding.is_case_id(case_id):
            exc = dossier.DossierRefused(dossier.NOT_FOUND, 404)
            return _refused(portal, request, session, exc)
        try:
            made, content = await dossier.make(
                portal.services, portal.names, session, case_id.lower(), dossier.purpose_of(doel)
            )
        except dossier.DossierRefused as exc:
            return _refused(portal, request, session, exc)
        return _pdf(content, dossier.file_name(made))

    @routes.get("/zaken/{case_id}/opp.pdf")
    async def opp(request: Request, case_id: str, doel: str = "") -> Response:
        """S: the case's OPP as a document of its own."""
        session = portal.session_of_role(request, *dossier.ROLES)
        if not finding.is_case_id(case_id):
            exc = dossier.DossierRefused(dossier.NOT_FOUND, 404)
            return _refused(portal, request, session, exc)
        try:
            content = await dossier.make_opp(
                portal.services, portal.names, session, case_id.lower(), dossier.purpose_of(doel)
            )
        except dossier.DossierRefused as exc:
            return _refused(portal, request, session, exc)
        return _pdf(content, dossier.file_name(case_id.lower(), "opp"))

    return routes
