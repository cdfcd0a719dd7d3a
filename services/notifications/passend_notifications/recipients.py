"""Where a message goes, decided when it is delivered: one address, and what it may say.

A recipient is one of four kinds, and each kind has exactly one source; no source serves
two kinds, so an id of one kind can never pick up another kind's address:

* a **parent** (role ``parents``): the pair (the message's case, the school's reference of
  the parent), asked of intake (:mod:`passend_notifications.parents`). The reference
  alone selects nothing: ``ouder-1`` of one case and ``ouder-1`` of another are two
  people, and only intake, which holds each case's own parents, answers for a pair;
* a **functional mailbox** of the SWV (``education_specialist``, ``route_coach``,
  ``team_no:<region>``): the address an operator set (``contacts``);
* a **case placeholder** (``ib:<case>``, ``teacher:<case>``): the case's IB or the teacher
  its request named, known by then, reached as a person;
* a **person** (any other id): the work address in the SWV's directory (``people``,
  from assignment's ``PersonRegistered``).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from passend_notifications import directory
from passend_notifications.channels.outcome import NO_ADDRESS, NO_RECIPIENT, DeliveryFailed
from passend_notifications.domain.messages import dutch_datetime, salutation
from passend_notifications.domain.rules import RecipientRole
from passend_notifications.domain.templates import MessageTemplate
from passend_notifications.parents import ParentDirectory, PupilErased
from passend_notifications.queue import Claimed

# The SWV's functional mailboxes: the only ids an operator gives an address.
MAILBOXES = frozenset({"education_specialist", "route_coach"})
MAILBOX_PREFIXES = ("team_no:",)
# Placeholders for a case's person the event didn't name, resolved at delivery.
CASE_PLACEHOLDERS = ("ib:", "teacher:", "parents:")

# Why a message to a parent is not sent at all: nothing to tell any more.
LINK_GONE = {"used": "link_used", "voided": "link_replaced", "expired": "link_expired"}
ERASED = "erased"

NO_SCHOOL_NAME = "De school van uw kind"


def is_mailbox(recipient_id: str) -> bool:
    """Whether ``recipient_id`` is one of the SWV's functional mailboxes."""
    return recipient_id in MAILBOXES or (
        recipient_id.startswith(MAILBOX_PREFIXES) and recipient_id.partition(":")[2] != ""
    )


class Cancelled(Exception):
    """Nothing is to be sent: ``code`` says why (the link was used, the pupil erased)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Target:
    """Where the message goes and the values it is rendered with; never stored or logged."""

    email: str
    values: dict[str, str]

    def __repr__(self) -> str:
        return "Target(<redacted>)"


async def resolve(
    pool: asyncpg.Pool,
    parents: ParentDirectory,
    message: Claimed,
    wording: MessageTemplate,
    parent_link_base: str,
) -> Target:
    """The address and values of ``message``; :class:`DeliveryFailed` when nobody can be
    reached (now), :class:`Cancelled` when nothing is to be sent any more."""
    if message.recipient_role == RecipientRole.PARENTS:
        if message.recipient_id.startswith("parents:"):
            raise await _parents_now(pool, message)
        return await _parent(parents, message, wording, parent_link_base)
    recipient = message.recipient_id
    if recipient.startswith(CASE_PLACEHOLDERS):
        recipient = await _placeholder(pool, message)
        contact = await directory.person(pool, message.swv, recipient)
    elif is_mailbox(recipient):
        contact = await directory.mailbox(pool, message.swv, recipient)
    else:
        contact = await directory.person(pool, message.swv, recipient)
    if contact is None:
        raise DeliveryFailed(
            f"no e-mail address for {message.recipient_role} {recipient}: "
            + (
                "an operator sets it with PUT /contacts/" + recipient
                if is_mailbox(recipient)
                else "the SWV's directory has none"
            ),
            # Not permanent: a directory entry often follows shortly after the event; the
            # backoff gives that time before the message parks.
            code=NO_ADDRESS,
        )
    return Target(contact.email, {"aanhef": salutation(contact.display_name)})


class ForParents(Exception):
    """The case's parents placeholder is known now: the message is for each of these
    parents (``refs``), as it would have been had the scheduler known them."""

    def __init__(self, refs: tuple[str, ...]) -> None:
        super().__init__(f"{len(refs)} parent(s)")
        self.refs = refs


async def _parents_now(pool: asyncpg.Pool, message: Claimed) -> ForParents:
    """W10, R: a message to ``parents:<case>`` (scheduled before the request's parents were
    consumed; no order across topics) waits until they are known, then goes to each of
    them. The placeholder itself is never asked of intake: it names no parent."""
    case = await directory.case_facts(pool, message.swv, message.case_id)
    if not case.parent_refs:
        raise DeliveryFailed("the case's parents are not known (yet)", code=NO_RECIPIENT)
    return ForParents(case.parent_refs)


async def _placeholder(pool: asyncpg.Pool, message: Claimed) -> str:
    kind = message.recipient_id.partition(":")[0]
    case = await directory.case_facts(pool, message.swv, message.case_id)
    person = {"ib": case.ib_id, "teacher": case.teacher_id}.get(kind)
    if not person:
        who = {"ib": "IB", "teacher": "teacher", "parents": "parents"}[kind]
        raise DeliveryFailed(f"the case's {who} is not known (yet)", code=NO_RECIPIENT)
    return person


async def _parent(
    parents: ParentDirectory, message: Claimed, wording: MessageTemplate, link_base: str
) -> Target:
    try:
        parent = await parents.parent(
            message.swv, message.case_id, message.recipient_id, message.caused_by_event
        )
    except PupilErased:
        raise Cancelled(ERASED) from None
    values = {
        "aanhef": salutation(parent.name),
        "school": parent.school_name or NO_SCHOOL_NAME,
        "kind": parent.child_first_name,
    }
    if "persoonlijke_link" in wording.allowed:
        link = parent.link
        if link is None:
            raise DeliveryFailed(
                "intake holds no personal link for this message", permanent=True, code=NO_RECIPIENT
            )
        if link.token is None:
            raise Cancelled(LINK_GONE.get(link.state, "link_replaced"))
        values["persoonlijke_link"] = f"{link_base.rstrip('/')}/{link.token}"
        values["geldig_tot"] = dutch_datetime(link.expires_at)
    if not parent.email:
        # The request gave no e-mail address for this parent, and it won't get one: the
        # school hands the link over in person.
        raise DeliveryFailed("the request gives no e-mail address", permanent=True, code=NO_ADDRESS)
    return Target(parent.email, values)
