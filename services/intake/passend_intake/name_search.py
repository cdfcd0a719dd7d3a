"""Finding requests by the pupil's name: the identities within the caller's reach, opened
for one search and matched in memory; nothing of the searched name is kept.

The name is stored only sealed with the pupil's own key (``pupil_keys``), so no index can
find it. A search reads the scoping facts of the SWV's requests (cheap, no decryption),
keeps those the caller sees (the one rule, ``sees_case``), opens only their identities and
compares the names. The work is bounded by the caller's reach: an IB opens the own
school's pupils, a support worker those of the work unit and her own cases. An erased
pupil's key is gone: the identity does not open and never matches.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from passend_backbone.auth import CaseFacts, Principal, Role
from passend_backbone.consumer.readmodel import tenant_read_model
from passend_contracts.events.intake import EncryptedIdentity
from passend_intake import pupil_keys
from passend_intake.access import facts_of
from passend_intake.projections import RequestsProjection

log = logging.getLogger("passend_intake.name_search")

# Who may find a case by the pupil's name: the roles that work with the pupil and are
# shown the name on their case page. Team NO decides on the situation (age and group,
# never the name); an auditor reads a case for a stated purpose, found by its number; a
# service has no use for it. For them a name finds nothing (a number still does).
NAME_SEARCHERS: frozenset[Role] = frozenset(
    {
        Role.IB,
        Role.TEACHER,
        Role.SUPPORT_WORKER,
        Role.COORDINATOR,
        Role.EDUCATION_SPECIALIST,
        Role.ROUTE_COACH,
    }
)
# A name is looked for from this many letters on (one letter would match nearly everyone).
MIN_LETTERS = 2
# Letters that carry no accent in Unicode's decomposition but are read as one.
_PLAIN = str.maketrans({"ı": "i", "ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "ß": "ss"})
_NOT_LETTERS = re.compile(r"[^a-z]+")
# A name holds letters, spaces, hyphens, apostrophes and dots; a digit makes the text a
# number or a pupil reference, never a name.
_NAME_LIKE = re.compile(r"^[^\W\d_]+(?:[ \-'’.]+[^\W\d_]+)*[.]?$")

_REACH = """
SELECT r.case_id, r.swv, r.school_id, r.pupil_ref, r.addressed_worker_id, r.encrypted_identity,
       p.routed_to, p.routed_work_unit, p.claimed_by, p.route_coaches, p.escalated_region
FROM requests r LEFT JOIN case_progress p USING (case_id)
WHERE r.swv = $1 AND r.encrypted_identity IS NOT NULL
  AND ($2::text IS NULL OR r.school_id = $2)
ORDER BY r.submitted_at DESC, r.case_id
"""


def plain(text: str) -> str:
    """``"Yılmaz-Özdemir"`` -> ``"yilmaz ozdemir"``: lower case, no accents, words only."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_PLAIN))
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_LETTERS.sub(" ", letters).strip()


@dataclass(frozen=True)
class NameQuery:
    """What was typed, as words to compare with a pupil's name."""

    words: tuple[str, ...]

    @classmethod
    def of(cls, text: str | None) -> NameQuery | None:
        """The words of ``text`` when it can be (part of) a name; None for a number, a
        reference or too little to look for."""
        typed = (text or "").strip()
        if not typed or _NAME_LIKE.fullmatch(typed) is None:
            return None
        words = tuple(plain(typed).split())
        if sum(len(w) for w in words) < MIN_LETTERS:
            return None
        return cls(words)

    def matches(self, name: str) -> bool:
        """Whether the pupil's ``name`` holds what was typed: every typed word starts a
        word of the name (given name, family name, in any order, ``"de vr"``), or the typed
        letters occur in the name's run of letters (``"devries"``, ``"anse"``)."""
        named = plain(name).split()
        if all(any(n.startswith(w) for n in named) for w in self.words):
            return True
        return "".join(self.words) in "".join(named)


def may_search_names(principal: Principal) -> bool:
    """Whether the caller's role may find cases by the pupil's name (:data:`NAME_SEARCHERS`)."""
    return principal.role in NAME_SEARCHERS


@dataclass(frozen=True)
class NamedCase:
    case_id: UUID
    name: str


async def cases_named(
    pool: asyncpg.Pool,
    principal: Principal,
    query: NameQuery,
    *,
    visible: Callable[[CaseFacts], bool],
    limit: int,
) -> list[NamedCase]:
    """The caller's cases (``visible``) whose pupil's name matches ``query``, newest first,
    at most ``limit``. The keys of the cases in reach are read in one query; then one
    identity per case is opened (two AES-GCM opens) until ``limit`` matched; an erased
    pupil's does not open and is passed over."""
    swv = principal.swv
    # An IB or teacher sees the own school only: narrowed in SQL, decided by ``visible``.
    school = principal.school_id if principal.role in (Role.IB, Role.TEACHER) else None
    found: list[NamedCase] = []
    async with tenant_read_model(pool, RequestsProjection.name, swv) as conn:
        rows = [r for r in await conn.fetch(_REACH, swv, school) if visible(facts_of(r))]
        identities = [_identity_json(row) for row in rows]
        keys = await pupil_keys.keys_by_ids(conn, (_key_id_of(i) for i in identities))
    for row, raw in zip(rows, identities, strict=True):
        name = _name_of(row, raw, keys)
        if name is not None and query.matches(name):
            found.append(NamedCase(row["case_id"], name))
            if len(found) >= limit:
                break
    return found


def _identity_json(row: asyncpg.Record) -> object:
    raw = row["encrypted_identity"]
    return json.loads(raw) if isinstance(raw, str) else raw


def _key_id_of(raw: object) -> str:
    # Read leniently: a malformed identity is refused where it is opened, as before.
    return str(raw.get("key_id", "")) if isinstance(raw, dict) else ""


def _name_of(
    row: asyncpg.Record, raw: object, keys: Mapping[str, pupil_keys.StoredKey]
) -> str | None:
    sealed = EncryptedIdentity.model_validate(raw)
    stored = keys.get(sealed.key_id)
    if stored is None:
        return None  # the pupil was erased: the key is gone
    try:
        identity = pupil_keys.decrypt(sealed, stored.opened(), row["swv"], row["pupil_ref"])
    except pupil_keys.IdentityUnreadable:
        # One damaged identity must not stop everyone's search; the case id says which.
        log.warning("identity_unreadable case_id=%s", row["case_id"])
        return None
    return identity.name
