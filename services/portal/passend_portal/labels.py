"""Dutch words for the services' codes: statuses, outcomes, reasons, levels."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from passend_contracts import municipalities

REQUEST_STATUS = {
    "submitted": "Ingediend, wacht op een onderwijsondersteuner",
    "claimed": "Opgepakt door een onderwijsondersteuner",
    "in_trajectory": "Traject loopt",
    "withdrawn": "Ingetrokken",
}
CONSENT_STATUS = {
    "not_requested": "Nog niet gevraagd",
    "requested": "Gevraagd, wacht op antwoord",
    "confirmed": "Gegeven",
    "refused": "Geweigerd",
    "withdrawn": "Ingetrokken",
}
TRAJECTORY_STATUS = {
    "not_opened": "Nog niet geopend",
    "exploring": "Verkenning en plan",
    "escalated": "Aangemeld bij Team NO",
    "in_support": "Begeleiding loopt",
    "paused": "Gepauzeerd (toestemming ontbreekt)",
    "closed": "Afgesloten",
    "withdrawn": "Aanvraag ingetrokken",
}
LEVELS = {"pupil": "Leerling", "teacher": "Leerkracht", "group": "Groep", "team": "Team"}
OUTCOMES = {
    "continue": "Doorgaan met het plan",
    "revise_plan": "Plan bijstellen",
    "change_care_level": "Zorgniveau wijzigen",
    "escalate": "Aanmelden bij Team NO (de route loopt vast)",
    "close": "Afsluiten (doelen bereikt)",
}
STAGNATION_REASONS = {
    "no_agreement": "Geen overeenstemming",
    "waiting_list": "Wachtlijst",
    "no_bridging_care": "Geen overbruggingszorg",
    "budget_dispute": "Discussie over financiering",
    "extremely_complex": "Uitzonderlijk complex",
}
# Every municipality of the CBS list (passend_contracts.municipalities), by name: the
# choices on a form are today's; a label shows an ended one by its name too.
MUNICIPALITIES = dict(sorted(municipalities.NAMES.items(), key=lambda item: item[1]))
MUNICIPALITY_NAMES = {code: m.name for code, m in municipalities.BY_CODE.items()}
SIGNAL_TOPICS = {
    "teaching_practice": "De aanpak in de klas",
    "school_offer": "Het aanbod van de school",
}
DUE_STATUS = {"due": "Binnenkort", "overdue": "Te laat", "upcoming": "Gepland"}
# Trajectory's phases after the first contact (its /lead-times), in the route's order.
PHASES = {
    "to_start_conversation": "Van eerste contact tot startgesprek",
    "to_plan": "Van startgesprek tot plan",
    "to_support": "Van plan tot start begeleiding",
    "to_first_evaluation": "Van start begeleiding tot eerste evaluatie",
    "opened_to_closed": "Hele traject, tot afsluiten",
    "team_no_decision": "Van aanmelding bij Team NO tot besluit",
}
EVALUATION_KINDS = {"plan": "Evaluatie van het plan", "opp": "Evaluatie van het OPP"}
CASE_DIRECTOR_ROLES = {
    "ib": "de IB van de school",
    "education_specialist": "de onderwijsspecialist",
    "wijkteam_worker": "een medewerker van het wijkteam",
}
# R: why the route itself gave the case its director (a change nobody chose by hand).
DIRECTOR_BASIS = {
    "ib": "de begeleiding binnen de basisondersteuning blijft",
    "education_specialist": "het samenwerkingsverband ondersteuning inzet",
    "wijkteam_worker": "er jeugdhulp nodig is",
}
# Why a link of a service's hash chain broke, by the words of the check.
CHAIN_BREAKS = {
    "an event is missing": "er ontbreekt een gebeurtenis",
    "prev_hash differs": "de verwijzing naar de vorige gebeurtenis klopt niet",
    "the event was changed": "een gebeurtenis is achteraf gewijzigd",
}
PROCESSING_BASES = {
    "public_task": "publieke taak",
    "legal_obligation": "wettelijke verplichting",
    "consent": "toestemming",
}
SIGNAL_RECIPIENTS = {"ib": "de IB", "teacher": "de leerkracht"}
# Notifications' words in its descriptions: to whom, by which channel.
MESSAGE_WORDS = {"parents": "ouders", "email": "e-mail", "webhook": "koppeling"}
# The dev directory's expertise areas: an SWV names its own in the directory, which the
# pages use first (names.py); these stand in when the directory gives no label.
EXPERTISE = {
    "reading": "Lezen en spelling",
    "maths": "Rekenen",
    "behaviour": "Gedrag",
    "social_emotional": "Sociaal-emotionele ontwikkeling",
    "language": "Taal en spraak, NT2",
    "giftedness": "Meer- en hoogbegaafdheid",
    "executive": "Executieve functies, concentratie",
    "autism": "Autisme",
}
PUPIL_VIEWS = {"agrees": "Eens", "disagrees": "Oneens", "no_view": "Geen mening"}
CONSENT_METHODS = {
    "personal_link": "Persoonlijke link",
    "start_conversation": "In het startgesprek",
    "support_team_meeting": "In het ondersteuningsteamoverleg",
}
DOCUMENT_KINDS = {
    "groeidocument": "Groeidocument",
    "opp": "Ontwikkelingsperspectief (OPP)",
    "test_result": "Toetsuitslag of testresultaat",
    "report": "Verslag of rapport van een deskundige",
    "consent_form": "Getekende toestemming",
    "minutes": "Gespreksverslag",
    "other": "Ander document",
}
# When in the case a document was attached (issue 21), and the trajectory's step it is of.
DOCUMENT_STAGES = {"request": "Bij de aanvraag", "trajectory": "Tijdens het traject"}
DOCUMENT_STEPS = {
    "start_conversation": "Startgesprek",
    "session": "Sessie",
    "evaluation": "Evaluatie",
    "escalation": "Aanmelding bij Team NO",
}
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
EVENTS = {
    "RequestSubmitted": "Aanvraag ingediend",
    "RequestReformulated": "Hulpvraag herschreven",
    "RequestWithdrawn": "Aanvraag ingetrokken",
    "ConsentRequested": "Toestemming gevraagd",
    "ConsentConfirmed": "Toestemming gegeven",
    "ConsentRefused": "Toestemming geweigerd",
    "ConsentWithdrawn": "Toestemming ingetrokken",
    "PupilHeard": "Leerling gehoord",
    "ParentContactCorrected": "Contactgegevens van een ouder gecorrigeerd",
    "RequestRouted": "Doorgestuurd naar de onderwijsondersteuner",
    "CaseOfferedToWorkUnit": "Aangeboden aan de werkeenheid",
    "CaseClaimed": "Opgepakt",
    "FirstContactRecorded": "Eerste contact",
    "ContactDeadlineApproaching": "Termijn eerste contact nadert",
    "ContactDeadlineMissed": "Termijn eerste contact verlopen",
    "SpecialistRequired": "Onderwijsspecialist nodig",
    "RouteCoachCalledIn": "Routebegeleider ingeschakeld",
    "TrajectoryOpened": "Traject geopend",
    "StartConversationRecorded": "Startgesprek gevoerd",
    "PlanRecorded": "Plan vastgelegd",
    "SupportStarted": "Begeleiding gestart",
    "SessionRecorded": "Sessie gehouden",
    "SignalRaised": "Signaal afgegeven",
    "EvaluationRecorded": "Evaluatie",
    "EscalatedToTeamNO": "Aangemeld bij Team NO",
    "TeamNODecisionRecorded": "Besluit Team NO",
    "TrajectoryClosed": "Traject afgesloten",
    "TrajectoryPaused": "Traject gepauzeerd",
    "TrajectoryResumed": "Traject hervat",
    "ConsentNoted": "Toestemming genoteerd",
    "NotificationScheduled": "Bericht ingepland",
    "NotificationSent": "Bericht verstuurd",
    "NotificationFailed": "Bericht niet verstuurd",
    "NotificationParked": "Bericht geparkeerd",
    "NotificationReplayed": "Bericht opnieuw aangeboden",
    "SpecialistAnalysisRecorded": "Analyse onderwijsspecialist",
    "CaseDirectorChanged": "Casusregisseur gewijzigd",
    "ComplexityNoted": "Complexiteit genoteerd",
    "EvaluationReminded": "Herinnering evaluatie",
    "SignalAcknowledged": "Signaal gelezen",
    "CareLevelChanged": "Zorgniveau gewijzigd",
    "OppRecorded": "Ontwikkelingsperspectief (OPP) opgesteld",
    "OppEvaluated": "Ontwikkelingsperspectief (OPP) geëvalueerd",
    "YouthCareNoted": "Jeugdhulp betrokken",
    "TrajectoryWithdrawn": "Traject gestopt: aanvraag ingetrokken",
    "CaseWithdrawn": "Aanvraag ingetrokken",
    "DocumentAttached": "Document toegevoegd",
    "DocumentRemoved": "Document verwijderd",
    "MeasureTried": "Maatregel in de klas uitgeprobeerd",
    "ReflectionRecorded": "Reflectie vastgelegd",
    "AdviserInvited": "Adviseur uitgenodigd",
    "PupilGroupNoted": "Groep van de leerling vastgelegd",
    "NotificationCancelled": "Bericht vervallen (niet meer nodig)",
    "ErasureRequested": "Verzoek tot wissing toegekend",
    "ErasureConfirmed": "Wissing bevestigd",
    "ErasureRejected": "Wissing niet bevestigd",
    "CaseErased": "Leerlinggegevens gewist",
    "PupilErased": "Leerling gewist",
    "SwvConfigured": "Samenwerkingsverband ingericht",
    "WorkUnitDefined": "Werkeenheid vastgelegd",
    "SupportWorkerProfiled": "Profiel van de ondersteuner vastgelegd",
    "PersonRegistered": "Medewerker in de lijst opgenomen",
    "PersonDeactivated": "Medewerker uit de lijst gehaald",
    "SchoolRegistered": "School ingeschreven",
    "SchoolHolidaysConfigured": "Schoolvakanties ingesteld",
    "TeamNoRegionConfigured": "Team NO-regio ingesteld",
}
# S: the school's four care levels (SOP), in the words of the school support profile.
CARE_LEVELS = {
    "1": "zorgniveau 1: algemene zorg in de groep (basisondersteuning)",
    "2": "zorgniveau 2: extra zorg in de groep (basisondersteuning)",
    "3": "zorgniveau 3: speciale zorg met interne en externe deskundigen (extra ondersteuning)",
    "4": "zorgniveau 4: verwijzing naar speciaal (basis)onderwijs (speciale ondersteuning)",
}
# W10: what happens next when the parents' consent is missing, for the school.
CONSENT_NEXT_STEPS = {
    "refused": (
        "Wat nu? Zonder toestemming van de ouders begeleidt de onderwijsondersteuner de "
        "leerling niet individueel. Zij kan wel de leerkracht of de groep ondersteunen. De "
        "school kan de ouders later opnieuw om toestemming vragen, bijvoorbeeld na een "
        "gesprek; zolang het traject nog niet begon, kan de school de aanvraag ook intrekken."
    ),
    "withdrawn": (
        "Wat nu? De individuele begeleiding van de leerling staat stil tot de ouders opnieuw "
        "toestemming geven. De school kan de ouders opnieuw om toestemming vragen."
    ),
}
_MONTHS = [
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
]


def label(table: dict[str, str], code: object) -> str:
    """The Dutch word for ``code``; a code without one is shown as readable words
    (``some_new_value`` -> ``some new value``), never as a code."""
    if code is None or code == "":
        return "–"
    return table.get(str(code)) or str(code).replace("_", " ")


def care_level(level: object) -> str:
    """S: a care level in words (``2`` -> ``zorgniveau 2: extra zorg in de groep …``)."""
    if level is None or level == "":
        return "nog niet vastgesteld"
    return CARE_LEVELS.get(str(level), f"zorgniveau {level}")


def chain_break(reason: object) -> str:
    """Why a hash chain broke, in Dutch (the check's English words stay out of sight)."""
    said = str(reason or "")
    return next(
        (nl for words, nl in CHAIN_BREAKS.items() if words in said),
        "de gebeurtenissen kloppen niet meer met hun controlecodes",
    )


def all_codes() -> dict[str, str]:
    """Every code of the services this module has a word for (for codes inside free text)."""
    words: dict[str, str] = {}
    for table in (
        OUTCOMES,
        STAGNATION_REASONS,
        SIGNAL_TOPICS,
        PUPIL_VIEWS,
        CONSENT_METHODS,
        PROCESSING_BASES,
        CASE_DIRECTOR_ROLES,
        EXPERTISE,
        TRAJECTORY_STATUS,
        REQUEST_STATUS,
        CONSENT_STATUS,
        MESSAGE_WORDS,
    ):
        words.update({code: text[:1].lower() + text[1:] for code, text in table.items()})
    return words


def number(value: object, decimals: int = 2) -> str:
    """A number in Dutch: ``1234.5`` -> ``1.234,5``, ``0.0166`` -> ``0,02``, ``3.0`` -> ``3``."""
    try:
        amount = round(float(str(value)), decimals)
    except ValueError:
        return str(value)
    text = f"{amount:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    # Python writes 1,234.5; Dutch writes 1.234,5.
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def hours(value: object) -> str:
    """``1.0`` -> ``1``, ``1.5`` -> ``1,5``, ``0.0166`` -> ``0,02`` (Dutch decimal comma)."""
    return number(value)


def counted(n: object, one: str, many: str) -> str:
    """``1 casus``, ``2 casussen``: the noun agrees with the number."""
    try:
        amount = float(str(n))
    except ValueError:
        return f"{n} {many}"
    return f"{number(amount)} {one if amount == 1 else many}"


def event_name(event_type: str) -> str:
    """``nl.passend.intake.RequestSubmitted.v1`` -> ``Aanvraag ingediend``."""
    parts = event_type.split(".")
    short = parts[3] if len(parts) > 3 else event_type
    return EVENTS.get(short, short)


def _parse(value: object) -> object:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _local(moment: datetime) -> datetime:
    return moment.astimezone(AMSTERDAM) if moment.tzinfo else moment


def nl_date(value: object) -> str:
    """``2026-09-14`` or a timestamp -> ``14 september 2026`` (Dutch time)."""
    if value is None or value == "":
        return "–"
    parsed = _parse(value)
    if isinstance(parsed, datetime):
        parsed = _local(parsed)
    if isinstance(parsed, date):
        return f"{parsed.day} {_MONTHS[parsed.month - 1]} {parsed.year}"
    return str(parsed)


def short_datetime(value: object) -> str:
    """A timestamp as ``27-11-2026 11:29:05`` in Dutch time, for dense tables."""
    parsed = _parse(value)
    if isinstance(parsed, datetime):
        return f"{_local(parsed):%d-%m-%Y %H:%M:%S}"
    return nl_date(value)


def nl_datetime(value: object) -> str:
    """A timestamp as ``14 september 2026, 10:30`` in Dutch time."""
    parsed = _parse(value)
    if isinstance(parsed, datetime):
        return f"{nl_date(parsed)}, {_local(parsed):%H:%M}"
    return nl_date(value)


# W24, in a sentence for the "waarom?" under the suggestions: the order they come in.
RANKING_EXPLAINED = (
    "De werkwijzer van het samenwerkingsverband (afspraak 24) noemt drie dingen die "
    "meetellen bij de vraag wie een hulpvraag oppakt: de expertise, de ruimte in de "
    "caseload en of iemand de school al kent. De voorstellen staan daarom eerst op "
    "expertise: wie meer van de gevraagde expertises heeft, staat altijd hoger. Bij "
    "gelijke expertise gaat wie de school al kent voor, en daarna wie de meeste uren per "
    "week vrij heeft. Zijn ook die gelijk, dan staan ze op alfabet."
)


def _in_sentence(name: str) -> str:
    """``Gedrag`` -> ``gedrag`` inside a sentence; ``NT2`` and ``ADHD`` stay as they are."""
    if len(name) > 1 and name[0].isupper() and name[1].islower():
        return name[0].lower() + name[1:]
    return name


def suggestion_reason(
    suggestion: Mapping[str, Any], area: Callable[[str], str] | None = None
) -> str:
    """W24: why a colleague is suggested, in one Dutch sentence from the answer's facts:
    ``heeft 2 van 3 gevraagde expertises: gedrag, taal; kent de school; 6 uur per week
    vrij``. ``area`` names an expertise area (the SWV's own label, names.py)."""
    named = area or (lambda code: label(EXPERTISE, code))
    requested = list(suggestion.get("requested_areas") or [])
    has = list(suggestion.get("has_areas") or [])
    lacks = list(suggestion.get("lacks_areas") or [])

    def names_of(codes: list[str]) -> str:
        return ", ".join(_in_sentence(named(c)) for c in codes)

    parts = []
    if len(requested) == 1:
        parts.append(
            f"heeft de gevraagde expertise ({names_of(has)})"
            if has
            else f"heeft de gevraagde expertise niet ({names_of(lacks)})"
        )
    elif requested:
        if has:
            text = f"heeft {len(has)} van {len(requested)} gevraagde expertises: {names_of(has)}"
            if lacks:
                text += f" (niet: {names_of(lacks)})"
        else:
            text = f"heeft geen van de {len(requested)} gevraagde expertises"
        parts.append(text)
    parts.append("kent de school" if suggestion.get("knows_school") else "kent de school nog niet")
    weekly = float(suggestion.get("weekly_case_hours") or 0)
    free = float(suggestion.get("hours_free") or 0)
    if weekly <= 0:
        parts.append("geen uren voor casuswerk")
    elif free <= 0:
        parts.append(f"geen uur vrij (alle {number(weekly)} uur per week bezet)")
    else:
        parts.append(f"{number(free)} uur per week vrij")
    return "; ".join(parts)


# The operator's screens (issue 19): the SWV's functional mailboxes, and the placeholders a
# message's wording may use, in words.
MAILBOXES = {
    "education_specialist": "Onderwijsspecialisten",
    "route_coach": "Routebegeleiding",
    "team_no": "Team NO van een regio",
}
PLACEHOLDERS = {
    "aanhef": "de aanhef met de naam van de ontvanger",
    "datum": "de datum van wat er gebeurde",
    "zaak": "het korte nummer van de casus",
    "link": "de link naar de casus in het portaal",
    "termijn": "de uiterste datum",
    "school": "de naam van de school",
    "kind": "de voornaam van het kind",
    "persoonlijke_link": "de persoonlijke link van de ouder",
    "geldig_tot": "tot wanneer de persoonlijke link werkt",
    "uitkomst": "de uitkomst van de evaluatie",
    "gemeente": "de gemeente van Team NO",
    "redenen": "waarom de casus naar Team NO gaat",
    "onderwerp": "waarover het signaal gaat",
}
WEBHOOK_STATUS = {True: "Actief", False: "Gestopt"}


def mailbox_name(recipient_id: str) -> str:
    """``team_no:waterweg`` -> ``Team NO, regio waterweg``; ``route_coach`` -> its word."""
    kind, _, region = recipient_id.partition(":")
    if kind == "team_no" and region:
        return f"Team NO, regio {region}"
    return MAILBOXES.get(recipient_id, "Mailbox")


def pupil_reference(item: Any) -> str:
    """How a school knows the pupil of a request (a dict of intake's answer, or an object
    with the same names): the school's own reference while intake still knows it, else
    intake's pseudonym (issue 20: an erased pupil's reference names nobody any more)."""
    get = item.get if isinstance(item, Mapping) else functools.partial(getattr, item)
    value = get("school_pupil_ref", None) or get("pupil_ref", None)
    return str(value) if value else "–"
