"""Parents as the pages name them: by the name the school gave intake, never by the school's
pseudonymous reference (``ouder-1``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.session import Session
from passend_portal.web import Portal

# A parent whose name the reader can't see (the pupil erased, intake away): the role.
UNNAMED = "ouder/verzorger"


def names_of(detail: Mapping[str, Any] | None) -> dict[str, str]:
    """The parents' names by their reference, from intake's request (``GET /requests/{id}``);
    none when the pupil was erased or the request is not at hand."""
    pupil = (detail or {}).get("pupil") or {}
    if pupil.get("erased"):
        return {}
    return {
        str(p["parent_ref"]): str(p["name"])
        for p in pupil.get("parents") or []
        if p.get("parent_ref") and p.get("name")
    }


def named(parent_ref: object, names: Mapping[str, str]) -> str:
    """Mid-sentence: ``ouder/verzorger M. Visser``, or ``ouder/verzorger`` when the name is
    not known."""
    name = names.get(str(parent_ref)) if parent_ref else None
    return f"{UNNAMED} {name}" if name else UNNAMED


async def read_names(
    portal: Portal, session: Session, case_id: str, purpose: str | None = None
) -> dict[str, str]:
    """The parents' names of a case, read from intake's request (a read intake logs, with
    ``purpose`` when the reader must give one); none when intake is away or refuses."""
    params = {"purpose": purpose} if purpose else None
    try:
        detail = await portal.services.get(
            "intake", f"/requests/{case_id}", token=session.token, params=params
        )
    except (ServiceError, ServiceDown):
        return {}
    return names_of(detail)
