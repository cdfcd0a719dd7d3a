"""Development personas: the people of the fictional dev SWV one can sign in as."""

from __future__ import annotations

from dataclasses import dataclass

ROLE_LABELS = {
    "ib": "Intern begeleider (IB)",
    "support_worker": "Onderwijsondersteuner",
    "education_specialist": "Onderwijsspecialist",
    "team_no_member": "Lid Team NO",
    "auditor": "Auditor",
    "coordinator": "Coördinator werkeenheid",
}


@dataclass(frozen=True)
class Persona:
    """Who one signs in as in development; in production the OIDC provider says this."""

    key: str
    name: str
    subject: str
    role: str
    swv: str = "swv-waterweg"
    school_id: str | None = None
    work_unit_id: str | None = None
    region: str | None = None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


# Ids match the dev directory of assignment (passend_assignment/dev_directory.yaml).
PERSONAS: tuple[Persona, ...] = (
    Persona("ib", "Marieke (IB, De Havenmeester)", "ib-marieke", "ib", school_id="brin-11aa"),
    Persona(
        "ow",
        "Anouk (onderwijsondersteuner)",
        "ow-anouk",
        "support_worker",
        work_unit_id="wu-vlaardingen",
    ),
    Persona(
        "os",
        "Marleen (onderwijsspecialist)",
        "os-marleen",
        "education_specialist",
    ),
    Persona(
        "tno",
        "Team NO Waterweg",
        "tno-waterweg",
        "team_no_member",
        region="waterweg",
    ),
    Persona("audit", "Auditor van het SWV", "auditor-1", "auditor"),
    Persona(
        "co",
        "Henk (coördinator Vlaardingen)",
        "co-henk",
        "coordinator",
        work_unit_id="wu-vlaardingen",
    ),
)


def persona(key: str) -> Persona | None:
    return next((p for p in PERSONAS if p.key == key), None)
