"""Messages that did not reach their recipient, said in plain Dutch for the IB and coordinator.

The notifications service says what went wrong with a code (``reason_code``); these are
the words for it, and the rule that picks, from a case's messages, the ones the school
must act on: an e-mail to a parent that did not arrive means the parent has no link
until the school hands it over in person (W10).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from passend_portal import parents

REASONS_NL = {
    "no_address": "Er is geen e-mailadres van deze ouder bekend.",
    "refused": "De mailserver van de ontvanger weigerde het bericht.",
    "bounced": "Het bericht kwam terug: het e-mailadres werkt niet (meer).",
    "unreachable": "De mailserver was niet bereikbaar.",
    "no_recipient": "De ontvanger is (nog) niet bekend.",
    "template": "Het bericht kon niet worden opgesteld.",
}
UNKNOWN_REASON = "Het bericht kon niet worden bezorgd."
MESSAGES_NL = {
    "toestemming_gevraagd": "De vraag om toestemming, met de persoonlijke link",
    "toestemming_gegeven": "De bevestiging van de toestemming, met de link om in te trekken",
    "traject_gestart": "Het bericht dat de begeleiding start",
    "traject_geevalueerd": "Het bericht over de evaluatie",
    "traject_afgesloten": "Het bericht dat het traject is afgesloten",
    "zaak_geclaimd": "Het bericht dat de aanvraag is opgepakt",
    "eerste_contact_nadert": "De herinnering aan het eerste contact",
    "eerste_contact_herinnering": "De herinnering aan het eerste contact",
    "contacttermijn_verlopen": "Het bericht dat de termijn voor het eerste contact verliep",
    "complexe_casus": "Het bericht over een complexe casus",
    "evaluatie_herinnering": "De herinnering aan de evaluatie",
    "signaal_ib": "Een signaal voor de school",
    "signaal_leerkracht": "Een signaal voor de leerkracht",
    "escalatie_team_no": "De aanmelding bij Team NO",
    "routebegeleider_ingeschakeld": "Het bericht aan de routebegeleider",
}
RECIPIENTS_NL = {
    "parents": "Ouder",
    "ib": "Intern begeleider",
    "teacher": "Leerkracht",
    "support_worker": "Onderwijsondersteuner",
    "coordinator": "Coördinator",
    "education_specialist": "Onderwijsspecialist",
    "team_no": "Team NO",
    "route_coach": "Routebegeleider",
    "webhook": "Gekoppeld systeem",
}
# Stopped trying (the operator may replay it), or still trying after a failure.
STOPPED = frozenset({"parked", "failed"})
RETRYING = "retrying"


@dataclass(frozen=True)
class Undelivered:
    """One message that did not arrive (yet), as the page says it."""

    case_id: str
    recipient: str  # who, in Dutch; a parent by name, never by the school's reference
    message: str
    reason: str
    stopped: bool  # False: still being tried
    at: str | None  # when it went wrong last (ISO time), if known


def reason_nl(code: str | None) -> str:
    return REASONS_NL.get(code or "", UNKNOWN_REASON)


def message_nl(template: str | None) -> str:
    return MESSAGES_NL.get(template or "", "Een bericht over de casus")


def recipient_nl(role: str | None) -> str:
    return RECIPIENTS_NL.get(role or "", "Ontvanger")


def to_parents(
    case_id: str, messages: list[dict[str, Any]], names: Mapping[str, str] | None = None
) -> list[Undelivered]:
    """W10: the case's messages to parents that did not arrive, or not yet: the school hands
    the parent the link itself. Messages to others are the coordinator's list. Each parent
    by the name in ``names`` (reference -> name, intake's), else as "ouder/verzorger"."""
    found = []
    for m in messages:
        status = m.get("status")
        if m.get("recipient_role") != "parents" or (status not in STOPPED and status != RETRYING):
            continue
        found.append(
            Undelivered(
                case_id=case_id,
                recipient=parents.named(m.get("recipient_id"), names or {}),
                message=message_nl(m.get("template")),
                reason=reason_nl(m.get("reason_code")),
                stopped=status in STOPPED,
                at=m.get("status_at"),
            )
        )
    return found


def listed(rows: list[dict[str, Any]]) -> list[Undelivered]:
    """The coordinator's list (``GET /messages/undeliverable``): no addresses, only who
    (by role), which message and why."""
    return [
        Undelivered(
            case_id=str(r.get("case_id")),
            recipient=recipient_nl(r.get("recipient_role")),
            message=message_nl(r.get("template")),
            reason=reason_nl(r.get("reason_code")),
            stopped=True,
            at=r.get("parked_at"),
        )
        for r in rows
    ]
