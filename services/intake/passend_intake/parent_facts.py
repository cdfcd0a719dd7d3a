"""What a parent is shown and sent about their case: the school, the child's first name, a link.

Intake owns the parents' contact details (they come with the request, sealed with the
pupil's key). Nothing else keeps them: the notifications service asks for one parent of one
case when it delivers a message (:func:`delivery`), the parent's page asks with the link's
token (:func:`link_view`), the IB with the case (:func:`open_links`). Every answer is made
from the sealed identity at that moment, so once the pupil is erased there is nothing to
answer with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from passend_backbone.consumer.readmodel import tenant_read_model
from passend_contracts.events.intake import (
    EncryptedIdentity,
    ParentContactCorrected,
    RequestSubmitted,
)
from passend_intake import consent_links, link_tokens, pupil_keys
from passend_intake.consent_links import ConsentLink, LinkState
from passend_intake.domain.identity import PupilIdentity
from passend_intake.link_tokens import Purpose
from passend_intake.projections import RequestsProjection
from passend_intake.schemas import DeliveryLink, LinkView, OpenLink, OpenLinks, ParentDelivery

# Which kind of support the parent is asked to consent to (W10), as the parent reads it.
SUPPORT = (
    "individuele begeleiding van uw kind door een onderwijsondersteuner van het "
    "samenwerkingsverband, samen met de school"
)
QUESTIONS = {
    Purpose.CONSENT: (
        "Geeft u toestemming dat de onderwijsondersteuner van het samenwerkingsverband uw kind "
        "individueel begeleidt? U kunt deze toestemming later altijd weer intrekken."
    ),
    Purpose.WITHDRAWAL: (
        "Wilt u uw toestemming voor de individuele begeleiding van uw kind intrekken? De "
        "begeleiding stopt dan tot er opnieuw toestemming is."
    ),
}


class PupilErased(Exception):
    """The pupil's key is gone: nothing about the parents can be told any more."""


@dataclass(frozen=True)
class _Case:
    swv: str
    case_id: UUID
    school_name: str | None
    identity: PupilIdentity | None  # None once erased
    key: pupil_keys.PupilKey | None


def first_name(identity: PupilIdentity) -> str:
    """What the parent needs to recognise their child: the first name, nothing more."""
    return identity.name.split()[0]


# The case's submission from the event store itself (a case's first event), so a link
# works the moment it exists, before the read models caught up; the school's name from
# the directory's read model.
# The identity is the latest sealed one: a parent's contact corrected since (W10) wins.
_SUBMISSION = """
SELECT e.data->>'pupil_ref' AS pupil_ref,
       COALESCE((
           SELECT c.data->'encrypted_identity' FROM public.events c
           WHERE c.swv = e.swv AND c.stream_id = e.stream_id AND c.event_type = $4
           ORDER BY c.stream_version DESC LIMIT 1
       ), e.data->'encrypted_identity') AS encrypted_identity,
       s.name AS school_name
FROM public.events e
LEFT JOIN schools s ON s.swv = e.swv AND s.school_id = e.data->>'school_id'
WHERE e.swv = $1 AND e.stream_id = $2 AND e.stream_version = 1 AND e.event_type = $3
"""


async def _case(conn: asyncpg.Connection, swv: str, case_id: UUID) -> _Case | None:
    row = await conn.fetchrow(
        _SUBMISSION,
        swv,
        str(case_id),
        RequestSubmitted.event_type,
        ParentContactCorrected.event_type,
    )
    if row is None:
        return None
    raw: Any = row["encrypted_identity"]
    raw = json.loads(raw) if isinstance(raw, str) else raw
    sealed = EncryptedIdentity.model_validate(raw) if raw else None
    key = await pupil_keys.key_by_id(conn, sealed.key_id) if sealed else None
    identity = (
        pupil_keys.decrypt(sealed, key, swv, row["pupil_ref"])
        if sealed is not None and key is not None
        else None
    )
    return _Case(swv, case_id, row["school_name"], identity, key)


def _token(case: _Case, link: ConsentLink) -> str | None:
    if case.key is None or link.cause_id is None:
        return None
    return link_tokens.derive(
        case.key, link.purpose, case.swv, case.case_id, link.parent_ref, link.cause_id
    )


async def link_view(pool: asyncpg.Pool, link: ConsentLink) -> LinkView:
    """The parent's page behind ``link``: what is asked, by which school, about which child."""
    async with tenant_read_model(pool, RequestsProjection.name, link.swv) as conn:
        case = await _case(conn, link.swv, link.case_id)
    identity = case.identity if case else None
    return LinkView(
        state=link.state.value,
        purpose=link.purpose.value,
        expires_at=link.expires_at,
        question=QUESTIONS[link.purpose],
        school_name=case.school_name if case else None,
        child_first_name=first_name(identity) if identity else None,
        support=SUPPORT,
    )


async def open_links(pool: asyncpg.Pool, swv: str, case_id: UUID, now: datetime) -> OpenLinks:
    """The case's links that still work, tokens derived again (the IB hands them over)."""
    async with tenant_read_model(pool, RequestsProjection.name, swv) as conn:
        case = await _case(conn, swv, case_id)
        links = [
            *await consent_links.open_links(conn, case_id, Purpose.CONSENT, now),
            *await consent_links.open_links(conn, case_id, Purpose.WITHDRAWAL, now),
        ]
    shown = []
    for link in links:
        token = _token(case, link) if case else None
        if token is not None:
            shown.append(
                OpenLink(
                    parent_ref=link.parent_ref,
                    purpose=link.purpose.value,
                    token=token,
                    url=f"/consent/{token}",
                    expires_at=link.expires_at,
                )
            )
    return OpenLinks(case_id=case_id, links=shown)


async def delivery(
    pool: asyncpg.Pool,
    swv: str,
    case_id: UUID,
    parent_ref: str,
    cause: UUID | None,
    now: datetime,
) -> ParentDelivery | None:
    """One parent of one case as a message to them needs it; None when unknown in ``swv``.

    Raises :class:`PupilErased` once the pupil's key is gone. With ``cause`` (the event the
    message is about), the link that event made for this parent, if any: its token only
    while the link can still be used, else just its state.
    """
    async with tenant_read_model(pool, RequestsProjection.name, swv) as conn:
        case = await _case(conn, swv, case_id)
        if case is None:
            return None
        if case.identity is None:
            raise PupilErased()
        parent = next((p for p in case.identity.parents if p.parent_ref == parent_ref), None)
        if parent is None:
            return None
        link = (
            await consent_links.of_cause(conn, case_id, parent_ref, cause, now)
            if cause is not None
            else None
        )
    shown = None
    if link is not None:
        shown = DeliveryLink(
            purpose=link.purpose.value,
            token=_token(case, link) if link.state is LinkState.OPEN else None,
            expires_at=link.expires_at,
            state=link.state.value,
        )
    return ParentDelivery(
        case_id=case_id,
        parent_ref=parent_ref,
        name=parent.name,
        email=parent.email,
        school_name=case.school_name,
        child_first_name=first_name(case.identity),
        link=shown,
    )
