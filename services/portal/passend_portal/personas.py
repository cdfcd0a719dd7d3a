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
    "teacher": "Leerkracht",
    "swv_admin": "Beheerder van het SWV",
    "route_coach": "Routebegeleider",
    "operator": "Beheerder van Passend",
    "privacy_officer": "Functionaris gegevensbescherming",
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
    # A teacher's pupils, as the school's identity provider would name them in the token.
    pupil_refs: tuple[str, ...] = ()

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
    Persona(
        "lk",
        "Sanne (leerkracht groep 5, De Havenmeester)",
        "lk-sanne",
        "teacher",
        school_id="brin-11aa",
        pupil_refs=("leerling-042", "leerling-043", "leerling-044"),
    ),
    Persona("beheer", "Linda (beheerder van het SWV)", "beheer-linda", "swv_admin"),
    # Called in where school and support worker are stuck (W29); invited to meetings.
    Persona("rb", "Jeroen (routebegeleider)", "rb-jeroen", "route_coach"),
    # Runs Passend (dead letters and other operations); sees no case content otherwise.
    Persona("beheerder", "Kees (beheerder van Passend)", "op-kees", "operator"),
    # Functionaris gegevensbescherming: erasure on request; a colleague confirms.
    Persona("fg", "Yvonne (functionaris gegevensbescherming)", "fg-yvonne", "privacy_officer"),
)


def persona(key: str) -> Persona | None:
    return next((p for p in PERSONAS if p.key == key), None)
