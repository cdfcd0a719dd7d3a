"""Dutch message templates, the placeholders each may use, and rendering.

Templates use ``string.Template`` (``$naam`` / ``${naam}``): an SWV can adjust the text
but cannot run code in it. Each template declares the placeholders it may use, and an
SWV's override is refused when it asks for anything else; that is how a message carries
no more personal data than its recipient needs. Staff messages have no pupil data: the
case is named by a short reference, and the dossier sits behind the link, where access is
checked. A parent's consent messages name the child by first name only, so the parent
knows which child it is about.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

# Placeholders every template may use: filled from the event (zaak, datum), the recipient's
# name (aanhef) and the deployment (link). A parent's messages may also carry the school's
# name, the child's first name and the parent's personal link (with its validity): intake
# gives them at delivery, and they are never stored here.
COMMON = frozenset({"zaak", "datum", "aanhef", "link"})


@dataclass(frozen=True)
class MessageTemplate:
    """A subject and a plain-text body in Dutch."""

    name: str
    subject: str
    body: str
    extra: frozenset[str] = frozenset()  # placeholders beyond COMMON this message needs

    @property
    def allowed(self) -> frozenset[str]:
        return COMMON | self.extra


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


_SIGNATURE = "\n\nMet vriendelijke groet,\nSamenwerkingsverband passend onderwijs\n"


def _t(name: str, subject: str, body: str, *extra: str) -> MessageTemplate:
    return MessageTemplate(name, subject, body + _SIGNATURE, frozenset(extra))


DEFAULTS: dict[str, MessageTemplate] = {
    t.name: t
    for t in (
        _t(
            "zaak_geclaimd",
            "Hulpvraag $zaak is opgepakt",
            "$aanhef\n\nUw hulpvraag $zaak is op $datum opgepakt door een "
            "onderwijsondersteuner. Binnen één werkweek neemt de onderwijsondersteuner "
            "contact met u op.\n\nBekijk de hulpvraag: $link",
        ),
        _t(
            "eerste_contact_nadert",
            "Eerste contact over hulpvraag $zaak",
            "$aanhef\n\nDe onderwijsondersteuner neemt uiterlijk $termijn contact met u op "
            "over hulpvraag $zaak.\n\nBekijk de hulpvraag: $link",
            "termijn",
        ),
        _t(
            "eerste_contact_herinnering",
            "Herinnering: eerste contact hulpvraag $zaak uiterlijk $termijn",
            "$aanhef\n\nDe termijn van één werkweek voor het eerste contact met de intern "
            "begeleider over hulpvraag $zaak loopt af op $termijn. Neem vandaag contact op.\n\n"
            "Bekijk de hulpvraag: $link",
            "termijn",
        ),
        _t(
            "contacttermijn_verlopen",
            "Termijn eerste contact verlopen: hulpvraag $zaak",
            "$aanhef\n\nDe termijn van één werkweek voor het eerste contact met de school "
            "over hulpvraag $zaak is op $datum verlopen. Zorg dat er vandaag contact is.\n\n"
            "Bekijk de hulpvraag: $link",
        ),
        _t(
            "complexe_casus",
            "Complexe hulpvraag $zaak: onderwijsspecialist nodig",
            "$aanhef\n\nHulpvraag $zaak (ingediend op $datum) betreft meerdere problemen "
            "tegelijk. Bij zo'n casus is een onderwijsspecialist betrokken, die samen met de "
            "school een analyse maakt voordat de ondersteuning start.\n\n"
            "Bekijk de hulpvraag: $link",
        ),
        _t(
            "toestemming_gevraagd",
            "Uw toestemming gevraagd: begeleiding van $kind",
            "$aanhef\n\n$school vraagt uw toestemming voor individuele begeleiding van "
            "$kind door een onderwijsondersteuner van het samenwerkingsverband. De "
            "onderwijsondersteuner begeleidt $kind samen met de school.\n\n"
            "U kunt toestemming geven of weigeren via uw persoonlijke link:\n\n"
            "$persoonlijke_link\n\n"
            "De link is alleen voor u, werkt één keer en is geldig tot $geldig_tot. "
            "U kunt uw toestemming later altijd weer intrekken.\n\n"
            "Heeft u vragen? Neem contact op met de intern begeleider van $school.",
            "persoonlijke_link",
            "school",
            "kind",
            "geldig_tot",
        ),
        _t(
            "toestemming_gegeven",
            "Bevestiging: u gaf toestemming voor begeleiding van $kind",
            "$aanhef\n\nU heeft toestemming gegeven voor individuele begeleiding van $kind "
            "door een onderwijsondersteuner van het samenwerkingsverband. $school en de "
            "onderwijsondersteuner gaan ermee aan de slag.\n\n"
            "U kunt uw toestemming altijd weer intrekken. Dat kan via deze persoonlijke "
            "link:\n\n$persoonlijke_link\n\n"
            "De begeleiding stopt dan tot er opnieuw toestemming is. Bewaar deze e-mail; de "
            "link is alleen voor u en werkt één keer.",
            "persoonlijke_link",
            "school",
            "kind",
        ),
        _t(
            "traject_gestart",
            "De ondersteuning voor uw kind is gestart",
            "$aanhef\n\nOp $datum is de ondersteuning van de onderwijsondersteuner gestart. "
            "De school houdt u op de hoogte van de afspraken en van de evaluatie.",
        ),
        _t(
            "traject_geevalueerd",
            "De ondersteuning voor uw kind is geëvalueerd",
            "$aanhef\n\nOp $datum is de ondersteuning geëvalueerd. Uitkomst: $uitkomst. "
            "De school bespreekt de evaluatie graag met u.",
            "uitkomst",
        ),
        _t(
            "traject_afgesloten",
            "De ondersteuning voor uw kind is afgerond",
            "$aanhef\n\nOp $datum is de ondersteuning na evaluatie afgerond: de doelen zijn "
            "bereikt. De school zorgt dat de resultaten geborgd blijven.",
        ),
        _t(
            "escalatie_team_no",
            "Nieuwe casus voor Team NO $gemeente: $zaak",
            "$aanhef\n\nOp $datum is casus $zaak aangemeld bij Team NO $gemeente, omdat de "
            "route stagneert: $redenen.\n\nBekijk de casus en het conceptplan: $link",
            "gemeente",
            "redenen",
        ),
        _t(
            "evaluatie_herinnering",
            "Herinnering: evaluatie hulpvraag $zaak uiterlijk $termijn",
            "$aanhef\n\nDe evaluatie bij hulpvraag $zaak staat gepland voor uiterlijk "
            "$termijn. Elk traject wordt geëvalueerd; plan de evaluatie met de school.\n\n"
            "Bekijk de hulpvraag: $link",
            "termijn",
        ),
        _t(
            "signaal_ib",
            "Signaal over $onderwerp bij hulpvraag $zaak",
            "$aanhef\n\nDe onderwijsondersteuner heeft op $datum een signaal afgegeven bij "
            "hulpvraag $zaak over $onderwerp. Wat de school ermee doet, bepaalt de school; "
            "bespreek het signaal met de leerkracht en de onderwijsondersteuner.\n\n"
            "Bekijk het signaal: $link",
            "onderwerp",
        ),
        _t(
            "signaal_leerkracht",
            "Signaal over $onderwerp bij hulpvraag $zaak",
            "$aanhef\n\nDe onderwijsondersteuner heeft op $datum een signaal voor u "
            "afgegeven bij hulpvraag $zaak over $onderwerp. Bespreek het met de intern "
            "begeleider.\n\nBekijk het signaal: $link",
            "onderwerp",
        ),
        _t(
            "routebegeleider_ingeschakeld",
            "Routebegeleider gevraagd bij hulpvraag $zaak",
            "$aanhef\n\nU bent op $datum ingeschakeld als routebegeleider bij hulpvraag "
            "$zaak.\n\nBekijk de hulpvraag: $link",
        ),
    )
}


class TemplateError(ValueError):
    """A template text can't be used; the message says which placeholder and why."""


def validate(template: str, subject: str, body: str) -> None:
    """Refuse an override that uses placeholders its message may not carry."""
    base = DEFAULTS.get(template)
    if base is None:
        raise TemplateError(f"unknown template {template!r}; known: {', '.join(sorted(DEFAULTS))}")
    for part, text in (("subject", subject), ("body", body)):
        parsed = string.Template(text)
        if not parsed.is_valid():
            raise TemplateError(f"{part} has a malformed placeholder; write $naam or ${{naam}}")
        unknown = set(parsed.get_identifiers()) - base.allowed
        if unknown:
            raise TemplateError(
                f"{part} uses {', '.join(sorted(unknown))}, which template {template!r} may "
                f"not carry (minimum personal data); allowed: {', '.join(sorted(base.allowed))}"
            )
    if "\n" in subject or "\r" in subject:
        raise TemplateError("subject must be one line")


def render(template: MessageTemplate, values: Mapping[str, str]) -> Rendered:
    """Fill in ``template``; only its allowed placeholders are offered to it."""
    offered = {k: v for k, v in values.items() if k in template.allowed}
    try:
        return Rendered(
            string.Template(template.subject).substitute(offered),
            string.Template(template.body).substitute(offered),
        )
    except KeyError as exc:
        raise TemplateError(
            f"template {template.name!r} needs {exc.args[0]!r}, not known"
        ) from None
