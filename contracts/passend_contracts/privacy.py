"""What an erasure on request (AVG art. 17) erases and what it keeps, and on what ground.

One list for the intake API (which answers with the codes and the legal basis), the
privacy officer's command line and the portal (which show the Dutch texts).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    code: str
    dutch: str
    legal_basis: str = ""  # for what is kept: the ground (AVG = GDPR)


ERASED: tuple[Item, ...] = (
    Item("pupil_identity", "naam en geboortedatum van de leerling (de sleutel wordt vernietigd)"),
    Item("parent_contacts", "namen, e-mailadressen en telefoonnummers van de ouders"),
    Item("personal_links", "de persoonlijke toestemmingslinks van de ouders"),
    Item(
        "documents",
        "de bijgevoegde documenten, hun bestandsnamen en omschrijvingen (ze zijn met de "
        "sleutel versleuteld en kunnen niet meer worden geopend)",
    ),
)
KEPT: tuple[Item, ...] = (
    Item(
        "case_history",
        "de gebeurtenissen van de casus, zonder dat de leerling nog te herleiden is",
        "AVG art. 5 lid 2 en art. 17 lid 3 sub b: het samenwerkingsverband moet zijn "
        "besluiten kunnen verantwoorden; de keten van gebeurtenissen blijft controleerbaar",
    ),
    Item(
        "read_log",
        "wie de casus wanneer heeft ingezien",
        "AVG art. 5 lid 2 en art. 32: bewijs van rechtmatige verwerking",
    ),
    Item(
        "erasure_record",
        "de vastlegging van deze wissing (wie vroeg, wie besloot, wanneer)",
        "AVG art. 5 lid 2 en art. 17: de wissing moet aantoonbaar zijn en na het terugzetten "
        "van een back-up opnieuw worden uitgevoerd",
    ),
)


# Why an open request of an erased pupil was withdrawn: shown to the school, the support
# worker and the auditor as the withdrawal's reason, so in Dutch. Intake seals it like any
# withdrawal's reason; trajectory, which can't open it, says the same from here.
WITHDRAWN_BY_ERASURE = "De gegevens van de leerling zijn op verzoek gewist (AVG art. 17)."


def dutch(code: str) -> str:
    """The Dutch text of an erased or kept item's code (the code itself if unknown)."""
    for item in (*ERASED, *KEPT):
        if item.code == code:
            return item.dutch
    return code
