"""Who hears what: the table of rules from a consumed event to the people who are told.

Each rule names an event type, a template, the recipient's role and how to find the
recipients' ids, in the event or in what this service remembers of the case
(:class:`CaseFacts`: the IB, the teacher and the parents, learnt from earlier events).
Recipient ids are the directory's person ids, functional mailboxes
(``education_specialist``, ``team_no:<region>``, ``route_coach``), case placeholders
(``ib:<case>``, ``teacher:<case>``) or, for parents, the school's reference of the parent
within the message's case. No address is in an event: see
:mod:`passend_notifications.recipients` for where each kind is reached.

Adding a rule for a new event is one line in :data:`RULES`, e.g.::

    Rule(SignalAcknowledged.event_type, "signaal_ontvangen", RecipientRole.SUPPORT_WORKER,
         field("raised_by"), tag="W19"),
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from passend_contracts.events.assignment import (
    CaseClaimed,
    ContactDeadlineApproaching,
    ContactDeadlineMissed,
    RouteCoachCalledIn,
    SpecialistRequired,
)
from passend_contracts.events.intake import ConsentConfirmed, ConsentMethod, ConsentRequested
from passend_contracts.events.trajectory import (
    EscalatedToTeamNO,
    EvaluationRecorded,
    EvaluationReminded,
    SignalRaised,
    SupportStarted,
    TrajectoryClosed,
)

Data = Mapping[str, Any]


class RecipientRole(StrEnum):
    """Who a message is for; values match the API roles where the person has one."""

    IB = "ib"
    TEACHER = "teacher"
    SUPPORT_WORKER = "support_worker"
    COORDINATOR = "coordinator"
    EDUCATION_SPECIALIST = "education_specialist"
    PARENTS = "parents"
    TEAM_NO = "team_no"
    ROUTE_COACH = "route_coach"
    WEBHOOK = "webhook"  # an outside system; the recipient id is the subscription id


@dataclass(frozen=True)
class CaseFacts:
    """What this service learnt about a case's people from earlier events (ids only)."""

    ib_id: str | None = None
    parent_refs: tuple[str, ...] = ()
    teacher_id: str | None = None


NOTHING_KNOWN = CaseFacts()

RecipientsOf = Callable[[Data, CaseFacts], Sequence[str]]


def field(name: str) -> RecipientsOf:
    """The person (or people, for a list) whose id the event carries in ``name``."""

    def pick(data: Data, _case: CaseFacts) -> Sequence[str]:
        value = data.get(name)
        if isinstance(value, list):
            return [str(v) for v in value if v]
        return [str(value)] if value else []

    return pick


def prefixed(prefix: str, name: str) -> RecipientsOf:
    """A functional mailbox per value of ``name``, e.g. ``team_no:waterweg``."""

    def pick(data: Data, _case: CaseFacts) -> Sequence[str]:
        value = data.get(name)
        return [f"{prefix}:{value}"] if value else []

    return pick


def mailbox(name: str) -> RecipientsOf:
    """The SWV's functional mailbox ``name`` (the contact table resolves it per SWV)."""
    return lambda _data, _case: [name]


def first_of(*choices: RecipientsOf) -> RecipientsOf:
    """The first choice that names anyone: a person if the event has one, else a mailbox."""

    def pick(data: Data, case: CaseFacts) -> Sequence[str]:
        for choice in choices:
            found = choice(data, case)
            if found:
                return found
        return []

    return pick


def case_ib(_data: Data, case: CaseFacts) -> Sequence[str]:
    """W3: the school's IB, as learnt from the request, the routing or the claim."""
    return [case.ib_id] if case.ib_id else []


def case_parents(data: Data, case: CaseFacts) -> Sequence[str]:
    """The parents named by the event, else those learnt from the request or consent (W10).

    A parent's recipient id is the school's reference of the parent; the message also
    names its case, and a parent is only ever reached as that pair (through intake, see
    ``passend_notifications.parents``), never by the reference alone. When none is known
    yet (the intake events were not consumed yet, which a bus without order across topics
    allows), the case's parents placeholder is told: the message waits visibly rather
    than being lost.
    """
    named = field("parent_refs")(data, case)
    if named:
        return named
    if case.parent_refs:
        return list(case.parent_refs)
    return [f"parents:{data.get('case_id')}"]


def case_mailbox(prefix: str) -> RecipientsOf:
    """A placeholder for the case's person the event doesn't name, e.g. ``teacher:<case_id>``.

    It is resolved when the message is delivered, from what is known of the case by then
    (the request's IB or teacher), and reaches that person's directory address; until
    someone is known the message waits visibly.
    """
    return lambda data, _case: [f"{prefix}:{data.get('case_id')}"]


def case_teacher(data: Data, case: CaseFacts) -> Sequence[str]:
    """W18: the teacher the request named (a person of the directory), else the case's
    teacher placeholder."""
    return [case.teacher_id] if case.teacher_id else case_mailbox("teacher")(data, case)


def by_personal_link(data: Data) -> bool:
    """W10: only a request by personal link is mailed; one given in person is not."""
    return data.get("method") == ConsentMethod.PERSONAL_LINK.value


def addressed_to(recipient: str) -> Callable[[Data], bool]:
    """Only when the event's ``addressed_to`` list names ``recipient`` (W18, W19)."""
    return lambda data: recipient in (data.get("addressed_to") or ())


def _always(_data: Data) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    """When an event of ``event_type`` satisfies ``when``, tell ``recipients`` via ``template``."""

    event_type: str
    template: str
    role: RecipientRole
    recipients: RecipientsOf
    when: Callable[[Data], bool] = _always
    tag: str = ""


_R = RecipientRole
_TEAM_NO = first_of(prefixed("team_no", "region"), prefixed("team_no", "municipality"))

RULES: tuple[Rule, ...] = (
    # W3, W26: the IB hears that the case was claimed and that first contact is due.
    Rule(CaseClaimed.event_type, "zaak_geclaimd", _R.IB, field("ib_id"), tag="W26"),
    Rule(ContactDeadlineApproaching.event_type, "eerste_contact_nadert", _R.IB, case_ib, tag="W26"),
    Rule(
        ContactDeadlineApproaching.event_type,
        "eerste_contact_herinnering",
        _R.SUPPORT_WORKER,
        field("responsible_worker_id"),
        tag="W25",
    ),
    # W25, W26: a lapsed contact deadline goes to the receiving worker and the coordinator.
    Rule(
        ContactDeadlineMissed.event_type,
        "contacttermijn_verlopen",
        _R.SUPPORT_WORKER,
        field("receiving_worker_id"),
        tag="W25",
    ),
    Rule(
        ContactDeadlineMissed.event_type,
        "contacttermijn_verlopen",
        _R.COORDINATOR,
        field("coordinator_id"),
        tag="W26",
    ),
    # W14: an education specialist must be involved in complex cases.
    Rule(
        SpecialistRequired.event_type,
        "complexe_casus",
        _R.EDUCATION_SPECIALIST,
        first_of(field("specialist_id"), mailbox("education_specialist")),
        tag="W14",
    ),
    # W10, R: parents are asked for consent with their personal link; the parent who
    # consented gets a link to withdraw it; parents hear when support starts, is
    # evaluated, ends.
    Rule(
        ConsentRequested.event_type,
        "toestemming_gevraagd",
        _R.PARENTS,
        case_parents,
        when=by_personal_link,
        tag="W10",
    ),
    Rule(
        ConsentConfirmed.event_type,
        "toestemming_gegeven",
        _R.PARENTS,
        field("confirmed_by"),
        tag="W10",
    ),
    Rule(SupportStarted.event_type, "traject_gestart", _R.PARENTS, case_parents, tag="R"),
    Rule(EvaluationRecorded.event_type, "traject_geevalueerd", _R.PARENTS, case_parents, tag="W21"),
    Rule(TrajectoryClosed.event_type, "traject_afgesloten", _R.PARENTS, case_parents, tag="W21"),
    # W21, S: the worker is reminded of a due evaluation (the deadline is trajectory's).
    Rule(
        EvaluationReminded.event_type,
        "evaluatie_herinnering",
        _R.SUPPORT_WORKER,
        field("worker_id"),
        tag="W21",
    ),
    # W18, W19: a signal about the teaching practice or the school's offer reaches the
    # teacher and/or the IB it is addressed to; what the IB does with it is the school's call.
    Rule(
        SignalRaised.event_type,
        "signaal_ib",
        _R.IB,
        first_of(case_ib, case_mailbox("ib")),
        when=addressed_to("ib"),
        tag="W19",
    ),
    Rule(
        SignalRaised.event_type,
        "signaal_leerkracht",
        _R.TEACHER,
        case_teacher,
        when=addressed_to("teacher"),
        tag="W18",
    ),
    # R: a stagnated route goes to the Team NO of the pupil's region.
    Rule(EscalatedToTeamNO.event_type, "escalatie_team_no", _R.TEAM_NO, _TEAM_NO, tag="R"),
    # W29: the route coach is told when called in.
    Rule(
        RouteCoachCalledIn.event_type,
        "routebegeleider_ingeschakeld",
        _R.ROUTE_COACH,
        first_of(field("route_coach_id"), mailbox("route_coach")),
        tag="W29",
    ),
)


@dataclass(frozen=True)
class Addressee:
    """One recipient of one event, and the template that tells them."""

    role: RecipientRole
    recipient_id: str
    template: str
    tag: str


def recipients(
    event_type: str, data: Data, case: CaseFacts = NOTHING_KNOWN, rules: tuple[Rule, ...] = RULES
) -> list[Addressee]:
    """Everyone the rules say must hear about this event, each recipient once.

    When two rules name the same recipient for one event, the first wins: a person gets
    one message per event (the message id is derived from event and recipient).
    """
    found: dict[tuple[RecipientRole, str], Addressee] = {}
    for rule in rules:
        if rule.event_type != event_type or not rule.when(data):
            continue
        for recipient_id in rule.recipients(data, case):
            found.setdefault(
                (rule.role, recipient_id),
                Addressee(rule.role, recipient_id, rule.template, rule.tag),
            )
    return list(found.values())


def learn(case: CaseFacts, data: Data) -> CaseFacts:
    """``case`` plus the IB, teacher and parents ``data`` names; the same in any event order."""
    ib = data.get("ib_id")
    teacher = data.get("teacher_id")
    parents = field("parent_refs")(data, case)
    return CaseFacts(
        ib_id=case.ib_id or (str(ib) if ib else None),
        parent_refs=tuple(sorted({*case.parent_refs, *parents})),
        teacher_id=case.teacher_id or (str(teacher) if teacher else None),
    )
