"""Finding a case by its short number, its whole id, the pupil's reference or the pupil's
name (intake knows, and decides who may search by name)."""

from __future__ import annotations

import re
from typing import Any

from passend_portal.casedata import optional
from passend_portal.clients import ServiceError
from passend_portal.session import Session
from passend_portal.web import SEARCHERS, Portal

__all__ = ["SEARCHERS", "case_page_of", "cleaned", "find_cases", "is_case_id", "requests_of"]

CASE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# What a person may type at most (intake takes up to 100 characters).
MAX_TEXT = 100


def is_case_id(text: str) -> bool:
    """Whether ``text`` is a whole case id (a UUID, lower case as the services write it)."""
    return CASE_ID.fullmatch(text.strip().lower()) is not None


def cleaned(text: str) -> str:
    """What was typed, without surrounding spaces, a leading ``#`` or ``Casus``."""
    words = text.strip()
    words = re.sub(r"^(?:casus(?:nummer)?\s*)", "", words, flags=re.IGNORECASE)
    return words.lstrip("#").strip()[:MAX_TEXT]


async def find_cases(portal: Portal, session: Session, text: str) -> list[dict[str, Any]]:
    """The requests within the person's reach whose number starts with ``text`` (the short
    number or the whole id), whose pupil reference is ``text`` or (intake's
    ``name_search``) whose pupil's name holds it; none for a text intake refuses. A
    service that is down raises :class:`ServiceDown` (the page says so)."""
    wanted = cleaned(text)
    if not wanted:
        return []
    try:
        found = await portal.services.get(
            "intake", "/requests", token=session.token, params={"find": wanted}
        )
    except ServiceError:
        return []
    return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []


async def requests_of(
    portal: Portal, session: Session, case_ids: list[str]
) -> dict[str, dict[str, Any]]:
    """Intake's summary (pupil reference, school, status) of each case, by case id; a case
    intake does not show (or intake away) is left out: the page shows what it has."""
    ids = sorted({c for c in case_ids if c})
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 100):
        batch = ids[start : start + 100]
        answer = await optional(
            portal.services.get(
                "intake", "/requests", token=session.token, params={"case_ids": ",".join(batch)}
            )
        )
        for row in answer or []:
            found[str(row.get("case_id"))] = row
    return found


def case_page_of(role: str, case_id: str) -> str:
    """Where the role reads a case: the auditor first says why (NEN 7513), on a form that
    shows the case's short number."""
    if role == "auditor":
        return f"/audit?casus={case_id[:8]}"
    return f"/zaken/{case_id}"
