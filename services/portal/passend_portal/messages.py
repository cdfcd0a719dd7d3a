"""Service refusals as plain Dutch: one message per form field, or one for the action."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from passend_portal.clients import ServiceDown, ServiceError

# What each rule means for the person in front of the screen (tags from domain.md).
RULES_NL = {
    "W3": "Deze casus hoort niet bij uw school.",
    "W4": "Beschrijf waarom de school vastloopt.",
    "W5": "Een aanvraag gaat over de leerling. Begeleiding van de schoolorganisatie als "
    "geheel hoort niet bij de taak van de onderwijsondersteuner (W5).",
    "W6": "Leg eerst het startgesprek vast; het plan volgt op het startgesprek (W6).",
    "W10": "Er is nu geen geldige toestemming van de ouders voor individuele begeleiding. "
    "Leg eerst (opnieuw) toestemming vast (W10).",
    "W14": "Dit is een complexe casus: de onderwijsspecialist legt eerst de analyse vast "
    "voordat de begeleiding start (W14).",
    "W15": "De begeleiding start vanuit een afgesproken plan met meetbare doelen (W15).",
    "W19": "Dit signaal is al beantwoord (W19).",
    "W21": "Geef bij de evaluatie voor elk doel van het plan een resultaat (W21).",
    "W23": "Sessies legt de onderwijsondersteuner die de begeleiding geeft zelf vast (W23).",
    "W24": "Deze aanvraag kan niet naar deze onderwijsondersteuner (W24).",
    "W25": "Deze casus is al opgepakt, of nog niet bij u binnengekomen (W25).",
    "W26": "Het eerste contact kan nu niet worden vastgelegd (W26).",
    "W29": "De routebegeleider kan nu niet worden ingeschakeld (W29).",
    "R": "Dit kan nu niet in de route van deze casus.",
    "S": "Dit kan nu niet voor het zorgniveau of het OPP van deze casus.",
    "TNO": "De casus kan nu niet bij Team NO worden aangemeld.",
    "concurrency": "De casus is intussen gewijzigd. Laad de pagina opnieuw en probeer het "
    "nog eens.",
    "idempotency": "Dit formulier is al eens met andere gegevens verstuurd. Open het "
    "formulier opnieuw.",
    "roles": "U mag dit niet doen in uw rol.",
    "read-model": "De gegevens worden nog bijgewerkt. Probeer het over een paar seconden opnieuw.",
}
# Specific refusals, recognised by the service's words, said more precisely than the rule.
MESSAGES_NL = (
    (
        "needs an email address or a phone number",
        "Vul bij deze ouder een e-mailadres of telefoonnummer in: de school moet de ouders "
        "om toestemming kunnen vragen (W10).",
    ),
    (
        "already reached at this contact",
        "Dit zijn de contactgegevens die al bekend zijn: er is niets te corrigeren.",
    ),
    (
        "nobody is asked or told anything",
        "De aanvraag is ingetrokken: de ouders worden hierover niets meer gevraagd of gestuurd.",
    ),
    ("lies in the future", "Dit moment ligt in de toekomst. Leg het vast als het gebeurd is."),
    ("before the request was submitted", "Dit moment ligt vóór de aanvraag."),
    ("target date lies in the past", "De datum van een doel ligt in het verleden (W15)."),
    ("consent was already confirmed", "De ouders hebben al toestemming gegeven (W10)."),
    ("must have been heard", "Een leerling van 12 jaar of ouder wordt eerst zelf gehoord."),
    ("already claimed", "Deze casus is al opgepakt door een collega (W25)."),
    (
        "only the case's own school can call in the coach",
        "Alleen de eigen school van de leerling kan namens de school de routebegeleider "
        "inschakelen (W29).",
    ),
    (
        "the support side is represented by",
        "Namens de ondersteuning schakelt de onderwijsondersteuner die verantwoordelijk is "
        "voor deze casus de routebegeleider in (W29).",
    ),
    (
        "an OPP is recorded once it is drawn up",
        "Leg het OPP vast als het is opgesteld: de datum ligt in de toekomst.",
    ),
    ("no OPP on record to evaluate", "Er is nog geen OPP vastgelegd om te evalueren."),
    (
        "the OPP evaluation date lies outside",
        "De datum van de evaluatie ligt vóór de datum van het OPP, of in de toekomst.",
    ),
    ("already directs the case", "Deze casusregisseur voert de regie al."),
    (
        "nobody has claimed this one yet",
        "De hulpvraag wordt samen herschreven na het startgesprek. Deze aanvraag is nog niet "
        "opgepakt door een onderwijsondersteuner, dus dat kan nu nog niet.",
    ),
    (
        "a reformulation is agreed jointly",
        "De school en de onderwijsondersteuner herschrijven de hulpvraag samen: kies de "
        "intern begeleider of de leerkracht, én de onderwijsondersteuner.",
    ),
    (
        "the new text is the same as the current one",
        "De nieuwe tekst is gelijk aan de huidige hulpvraag. Pas de tekst aan, of laat de "
        "hulpvraag zoals hij is.",
    ),
    ("the request was withdrawn on", "Deze aanvraag is ingetrokken."),
    ("awaits the Team NO decision", "De casus wacht al op een besluit van Team NO."),
    (
        "no Team NO region of this SWV covers",
        "Voor deze gemeente is nog geen Team NO ingesteld. De beheerder van het "
        "samenwerkingsverband voegt de gemeente toe aan een regio.",
    ),
    (
        "escalation carries the support team's draft plan",
        "Beschrijf het conceptplan van het ondersteuningsteam.",
    ),
)
# What the page says after a step succeeded (``?gedaan=<step>``).
DONE_NL = {
    "oppakken": "U heeft de casus opgepakt. Neem binnen vijf werkdagen contact op met de "
    "school (W26).",
    "aanbieden": "De casus staat in de wachtrij van uw werkeenheid. U blijft verantwoordelijk "
    "tot een collega hem oppakt (W25).",
    "eerste-contact": "Het eerste contact met de school is vastgelegd.",
    "startgesprek": "Het startgesprek is vastgelegd.",
    "analyse": "De analyse van de onderwijsspecialist is vastgelegd.",
    "plan": "Het plan is vastgelegd.",
    "begeleiding-starten": "De begeleiding is gestart.",
    "sessies": "De sessie is vastgelegd.",
    "signalen": "Het signaal is afgegeven aan de school.",
    "evaluaties": "De evaluatie is vastgelegd.",
    "afsluiten": "Het traject is afgesloten.",
    "routebegeleider": "De routebegeleider is ingeschakeld. De school en de "
    "onderwijsondersteuner horen van hem of haar (W29).",
    "opp": "Het OPP is vastgelegd. Het wordt twee keer per schooljaar geëvalueerd.",
    "opp-evaluatie": "De evaluatie van het OPP is vastgelegd.",
    "regiehouder": "De casusregisseur is vastgelegd.",
    "jeugdhulp": "Vastgelegd dat er jeugdhulp nodig is. Een medewerker van het wijkteam voert "
    "nu de regie over de casus.",
    "team-no": "De casus is aangemeld bij Team NO. Team NO neemt een besluit.",
    "hulpvraag": "De hulpvraag is herschreven. De vorige tekst blijft bewaard in het verloop.",
    "contact": "De contactgegevens van de ouder zijn gecorrigeerd. Elk volgend bericht aan deze "
    "ouder gaat naar het nieuwe adres; vraag de toestemming opnieuw als de link nog niet "
    "aankwam (W10).",
}
STATUS_NL = {
    400: "Het verzoek klopt niet. Controleer de gegevens.",
    401: "U bent niet (meer) aangemeld. Meld u opnieuw aan.",
    403: "U mag dit niet doen in uw rol.",
    404: "Deze casus is niet gevonden, of u heeft er geen toegang toe.",
    409: "Dit kan nu niet in de huidige stand van de casus.",
    410: "Deze link werkt niet meer: hij is al gebruikt, verlopen of vervangen door een "
    "nieuwere. Vraag de school om een nieuwe link.",
    422: "Niet alle gegevens zijn goed ingevuld.",
    503: "De gegevens worden nog bijgewerkt. Probeer het over een paar seconden opnieuw.",
}
FIELD_TYPES_NL = {
    "missing": "Vul dit veld in.",
    "string_too_short": "Vul dit veld in.",
    "string_too_long": "Deze tekst is te lang.",
    "string_pattern_mismatch": "Gebruik alleen letters, cijfers, punten en streepjes, "
    "zonder spaties.",
    "too_short": "Kies of vul er minstens één in.",
    "too_long": "Dit zijn er te veel.",
    "enum": "Kies een van de mogelijkheden.",
    "literal_error": "Kies een van de mogelijkheden.",
    "date_from_datetime_parsing": "Vul een geldige datum in.",
    "date_parsing": "Vul een geldige datum in.",
    "date_type": "Vul een geldige datum in.",
    "datetime_parsing": "Vul een geldige datum en tijd in.",
    "datetime_from_date_parsing": "Vul een geldige datum en tijd in.",
    "timezone_aware": "Vul een geldige datum en tijd in.",
    "int_parsing": "Vul een heel getal in.",
    "float_parsing": "Vul een getal in.",
    "greater_than": "Dit getal is te klein.",
    "greater_than_equal": "Dit getal is te klein.",
    "less_than": "Dit getal is te groot.",
    "less_than_equal": "Dit getal is te groot.",
    "uuid_parsing": "Deze code is ongeldig.",
    "bool_parsing": "Kies ja of nee.",
}


@dataclass
class Problem:
    """What went wrong, said next to the fields it concerns or above the action."""

    general: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    technical: str | None = None  # the service's own words, for the helpdesk

    def __bool__(self) -> bool:
        return self.general is not None or bool(self.fields)


def field_name(loc: list[Any]) -> str:
    """``["body", "pupil", "parents", 0, "email"]`` -> ``pupil.parents.0.email``."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts)


def _field_message(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind == "value_error" and "email" in str(error.get("msg", "")).lower():
        return "Vul een geldig e-mailadres in."
    return FIELD_TYPES_NL.get(kind, "Controleer dit veld.")


def explain(exc: ServiceError | ServiceDown, known_fields: frozenset[str] = frozenset()) -> Problem:
    """A service's refusal as a :class:`Problem`.

    Schema errors (422, a list with ``loc``) and rule errors naming a ``field`` land on that
    form field when the form has it; anything else becomes the general message.
    """
    if isinstance(exc, ServiceDown):
        return Problem(general=exc.message)
    detail = exc.detail
    problem = Problem(technical=_technical(detail))
    if isinstance(detail, list):
        for error in detail:
            if not isinstance(error, dict):
                continue
            name = field_name(list(error.get("loc", [])))
            if name in known_fields:
                problem.fields.setdefault(name, _field_message(error))
            else:
                problem.general = STATUS_NL[422]
        if not problem.fields and problem.general is None:
            problem.general = STATUS_NL[422]
        elif problem.fields and problem.general is None:
            problem.general = "Niet alle gegevens zijn goed ingevuld; zie de velden hieronder."
        return problem
    rule = detail.get("rule") if isinstance(detail, dict) else None
    said = str(detail.get("message", "")) if isinstance(detail, dict) else ""
    specific = next((nl for words, nl in MESSAGES_NL if words in said), None)
    text = specific or (RULES_NL.get(str(rule)) if rule else None)
    if exc.status == 404:
        text = STATUS_NL[404]
    elif exc.status in (401, 410):
        text = STATUS_NL[exc.status]
    elif exc.status == 403 and rule not in RULES_NL:
        text = STATUS_NL[403]
    message = text or STATUS_NL.get(exc.status, "Dit lukte niet. Probeer het opnieuw.")
    wanted = _known(detail.get("field") if isinstance(detail, dict) else None, known_fields)
    if wanted is not None:
        problem.fields[wanted] = message
        problem.general = "Niet alle gegevens zijn goed ingevuld; zie de velden hieronder."
    else:
        problem.general = message
    return problem


def _known(field: object, known_fields: frozenset[str]) -> str | None:
    """The form field for a rule's ``field``: itself, or the first field inside it
    (``pupil.parents.0`` -> ``pupil.parents.0.email``)."""
    if not isinstance(field, str):
        return None
    if field in known_fields:
        return field
    inside = sorted(k for k in known_fields if k.startswith(field + "."))
    return inside[0] if inside else None


def _technical(detail: Any) -> str | None:
    if isinstance(detail, dict):
        parts = [str(detail.get(k)) for k in ("rule", "message") if detail.get(k)]
        return ": ".join(parts) or None
    if isinstance(detail, str):
        return detail
    return None
