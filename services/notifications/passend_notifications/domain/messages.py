"""Deterministic message ids and the minimum facts a message carries about its event."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from passend_contracts.municipalities import display_name
from passend_notifications.domain.templates import DEFAULTS

_MESSAGE_NAMESPACE = UUID("0b8f4c0e-52a4-4d51-9d8e-7a3c1f6e2b90")
_AMSTERDAM = ZoneInfo("Europe/Amsterdam")

_MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)

# The field that says when the event's fact happened, per event kind, most specific first.
_WHEN = (
    "claimed_at",
    "raised_at",
    "missed_at",
    "required_at",
    "requested_at",
    "started_at",
    "evaluated_at",
    "closed_at",
    "reminded_at",
    "escalated_at",
    "called_at",
    "submitted_at",
)

_OUTCOMES = {
    "close": "doelen bereikt, ondersteuning afgerond",
    "continue": "de ondersteuning gaat door",
    "revise_plan": "het plan wordt bijgesteld",
    "change_care_level": "het zorgniveau verandert",
    "escalate": "de casus wordt opgeschaald",
}

# What a signal is about (W18, W19), as the sentence "een signaal over ..." ends.
_SIGNAL_TOPICS = {
    "teaching_practice": "de aanpak in de klas",
    "school_offer": "het ondersteuningsaanbod van de school",
}

_REASONS = {
    "no_agreement": "geen overeenstemming over de best passende ondersteuning",
    "waiting_list": "wachtlijst",
    "no_bridging_care": "geen overbruggingszorg",
    "budget_dispute": "discussie over financiering",
    "extremely_complex": "zeer complexe situatie",
}


def message_id(event_id: UUID, recipient_role: str, recipient_id: str) -> UUID:
    """The one id of the message telling this recipient about this event.

    Derived, never random: however often the event arrives (redelivery, restart, replay),
    it names the same message, and the delivery table holds each id once.
    """
    return uuid5(_MESSAGE_NAMESPACE, f"{event_id}/{recipient_role}:{recipient_id}")


def email_message_id(message: UUID, domain: str) -> str:
    """RFC 5322 Message-ID header; the same on every attempt, so a receiver can dedupe."""
    return f"<{message}@{domain}>"


def case_ref(case_id: UUID | str) -> str:
    """Short reference naming a case in a message without naming the pupil."""
    return str(case_id).replace("-", "")[:8].upper()


def dutch_date(moment: datetime) -> str:
    """``27 november 2026`` in Dutch local time."""
    local = moment.astimezone(_AMSTERDAM)
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}"


def dutch_datetime(moment: datetime) -> str:
    """``27 november 2026, 09:30`` in Dutch local time."""
    local = moment.astimezone(_AMSTERDAM)
    return f"{dutch_date(moment)}, {local:%H:%M}"


def event_facts(
    template: str, case_id: UUID, occurred_at: datetime, data: Mapping[str, Any]
) -> dict[str, str]:
    """The facts from the event this template may show, and nothing else.

    What is returned is stored with the message until it is sent, so leaving a fact out
    here keeps it out of the delivery table as well as out of the text.
    """
    moment = _first_moment(data, _WHEN) or occurred_at
    deadline = _first_moment(data, ("due_at", "due_on"))
    candidates = {
        "zaak": case_ref(case_id),
        "datum": dutch_date(moment),
        "termijn": dutch_date(deadline) if deadline else "",
        # Events carry the CBS code; a person reads the municipality's name.
        "gemeente": display_name(str(data.get("municipality", ""))),
        "redenen": "; ".join(_REASONS.get(str(r), str(r)) for r in data.get("reasons", ())),
        "uitkomst": _OUTCOMES.get(str(data.get("outcome")), str(data.get("outcome", ""))),
        "onderwerp": _SIGNAL_TOPICS.get(str(data.get("about")), str(data.get("about", ""))),
    }
    allowed = DEFAULTS[template].allowed
    return {k: v for k, v in candidates.items() if k in allowed}


def _first_moment(data: Mapping[str, Any], keys: tuple[str, ...]) -> datetime | None:
    for key in keys:
        raw = data.get(key)
        if isinstance(raw, datetime):
            return raw
        if isinstance(raw, str) and raw:
            parsed = datetime.fromisoformat(raw)
            # A bare date (due_on) is a day in Dutch local time.
            return parsed if parsed.tzinfo else parsed.replace(hour=12, tzinfo=_AMSTERDAM)
    return None


def salutation(display_name: str | None) -> str:
    """How a message opens: by name when the contact entry has one."""
    return f"Beste {display_name}," if display_name else "Beste heer, mevrouw,"
