"""The werkwijzer's agreements in one sentence each, and the "waarom?" links to them.

Screens explain themselves in words; a rule's tag is never the explanation. Where a rule
helps, a "waarom?" link leads to the agreement behind it on ``/afspraken``.
"""

from __future__ import annotations

import re

import markupsafe

# Tag -> what the agreement says, as a school would read it (tags from domain.md).
AGREEMENTS: dict[str, str] = {
    "W2": "Een aanvraag beschrijft wat de leerling nodig heeft om te leren: de "
    "onderwijsbehoefte, niet wat er mis is.",
    "W4": "De school vraagt hulp als zij vastloopt: zij heeft gedaan wat zij binnen de "
    "basisondersteuning kan, en weet niet meer hoe verder.",
    "W5": "Een aanvraag begint bij de leerling. Na het startgesprek kan de vraag ook de "
    "leerkracht of de groep betreffen; begeleiding van de school als organisatie hoort er "
    "niet bij.",
    "W6": "Het startgesprek met de intern begeleider en de leerkracht zoekt de vraag achter "
    "de vraag; daarna volgt het plan.",
    "W7": "De onderwijsondersteuner denkt mee of de hulpvraag van de school past bij de "
    "situatie. Blijkt in het startgesprek dat de vraag anders is, dan herschrijven school en "
    "onderwijsondersteuner de hulpvraag samen; de vorige tekst blijft bewaard.",
    "W10": "Voordat een onderwijsondersteuner met een leerling zelf werkt, geven de ouders "
    "toestemming. De school vraagt die; ouders kunnen haar altijd intrekken, en dan stopt "
    "de begeleiding.",
    "W14": "Spelen er meerdere problemen tegelijk, dan legt de onderwijsspecialist met de "
    "school eerst een analyse vast voordat de begeleiding start.",
    "W15": "De begeleiding volgt een plan dat samen met de school is gemaakt, met meetbare "
    "doelen en een datum waarop ze bereikt zijn.",
    "W16": "De leerkracht blijft betrokken bij de begeleiding en legt vast wat hij of zij "
    "in de klas doet.",
    "W17": "Wie begeleiding krijgt (leerling, leerkracht, groep of team) spreken school en "
    "onderwijsondersteuner samen af.",
    "W18": "Past de aanpak in de klas of het aanbod van de school niet bij wat de leerling "
    "nodig heeft, dan meldt de onderwijsondersteuner dat aan leerkracht en intern "
    "begeleider.",
    "W19": "Wat de school met zo'n signaal doet, beslist de school zelf.",
    "W22": "De school zorgt voor de eigen documenten rond de leerling, zoals "
    "handelingsplannen, het ontwikkelingsperspectief (OPP), het groeidocument en "
    "gespreksverslagen.",
    "W21": "Elke begeleiding wordt geëvalueerd, altijd, aan de hand van de doelen van het plan.",
    "W24": "De intern begeleider vraagt één onderwijsondersteuner. Die pakt de aanvraag op "
    "of biedt haar aan collega's aan; voorstellen kijken eerst naar expertise, dan naar "
    "wie de school kent, dan naar ruimte in de caseload.",
    "W25": "Wie een aanvraag ontving, blijft verantwoordelijk tot een collega haar heeft "
    "opgepakt. Een casus is altijd van iemand.",
    "W26": "Wie een aanvraag oppakt, neemt binnen een werkweek (vijf werkdagen) contact op "
    "met de school.",
    "W29": "Komen school en onderwijsondersteuner er samen niet uit, dan wordt de "
    "routebegeleider ingeschakeld.",
    # Not numbered agreements of the werkwijzer: the school's support profile (S) and the
    # support route with Team NO (R), each said in a sentence too.
    "S": "De school werkt met vier zorgniveaus; vanaf zorgniveau 3 stellen leerkracht en "
    "intern begeleider een ontwikkelingsperspectief (OPP) op, dat twee keer per jaar wordt "
    "geëvalueerd, en een verwijzing (zorgniveau 4) kan alleen met een OPP.",
    "R": "Eén persoon voert de regie over de casus: de intern begeleider binnen de "
    "basisondersteuning, de onderwijsspecialist als het samenwerkingsverband ondersteuning "
    "inzet, en een medewerker van het wijkteam als er jeugdhulp nodig is; loopt de route "
    "vast, dan beslist Team NO.",
}
# How the agreements page names the ones that carry no number.
TITLES = {"S": "Zorgniveaus en OPP", "R": "De ondersteuningsroute en de regie"}

TAGS = re.compile(r"\s*\((W\d+(?:,\s*W\d+)*)\)")


def anchor(tag: str) -> str:
    return tag.lower()


def why(*tags: str) -> markupsafe.Markup:
    """A "waarom?" link to the agreements behind ``tags`` (the first one known)."""
    known = [t for t in tags if t in AGREEMENTS]
    if not known:
        return markupsafe.Markup("")
    link = markupsafe.Markup(' <a class="waarom" href="/afspraken#{}">waarom?</a>')
    return link.format(anchor(known[0]))


def explained(text: object) -> markupsafe.Markup:
    """``text`` with every "(W26)" in it replaced by a "waarom?" link (escaped otherwise)."""
    whole = str(text)
    parts: list[markupsafe.Markup | str] = []
    taken = 0
    for match in TAGS.finditer(whole):
        parts.append(whole[taken : match.start()])
        parts.append(why(*(t.strip() for t in match.group(1).split(","))))
        taken = match.end()
    parts.append(whole[taken:])
    # Markup.join escapes the plain parts and keeps the links.
    return markupsafe.Markup("").join(parts)


def untagged(text: object) -> str:
    """``text`` without its "(W26)" tags, where a link cannot go (inside another link)."""
    return TAGS.sub("", str(text))


def title(tag: str) -> str:
    """``W26`` -> ``Afspraak 26``; a rule without a number by its subject."""
    return TITLES.get(tag) or f"Afspraak {tag[1:]}"


def listed() -> list[tuple[str, str, str]]:
    """(anchor, title, sentence) for the agreements page: the werkwijzer's numbered
    agreements in order, then the school's profile and the route."""
    numbered = sorted((t for t in AGREEMENTS if t[1:].isdigit()), key=lambda t: int(t[1:]))
    others = [t for t in AGREEMENTS if not t[1:].isdigit()]
    return [(anchor(tag), title(tag), AGREEMENTS[tag]) for tag in [*numbered, *others]]
