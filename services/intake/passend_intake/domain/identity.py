"""The pupil's direct identifiers and the checks on them; only ever stored encrypted."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from passend_backbone.commands import Refusal

# Primary and secondary education: a pupil is older than 2 and younger than 22.
MIN_PUPIL_AGE = 2
MAX_PUPIL_AGE = 21
# R: from this age the pupil is a party and is heard.
HEARING_AGE = 12

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE = r"^\+?[0-9 ()-]{6,20}$"


class ParentContact(BaseModel):
    """A parent or guardian: a pseudonymous reference plus the contact details."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    parent_ref: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="The school's pseudonymous reference for this parent (no name)",
        examples=["guardian-1f4e"],
    )
    name: str = Field(min_length=1, max_length=200, examples=["J. de Vries"])
    email: str | None = Field(
        default=None, max_length=254, pattern=EMAIL, examples=["j.devries@example.nl"]
    )
    phone: str | None = Field(default=None, max_length=20, pattern=PHONE, examples=["0612345678"])


class PupilIdentity(BaseModel):
    """Who the pupil is: what the school must share, and no more."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, examples=["Sam Jansen"])
    date_of_birth: date = Field(examples=["2016-04-12"])
    parents: list[ParentContact] = Field(
        min_length=1, max_length=4, description="Parents or guardians with parental authority"
    )


def age_on(date_of_birth: date, today: date) -> int:
    """Completed years on ``today``."""
    before_birthday = (today.month, today.day) < (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - int(before_birthday)


def check_identity(identity: PupilIdentity, today: date) -> None:
    """A plausible pupil: born in the past, of school age, parents reachable and distinct."""
    if identity.date_of_birth >= today:
        raise Refusal.invalid(
            "input", "date of birth must lie in the past", field="pupil.date_of_birth"
        )
    age = age_on(identity.date_of_birth, today)
    if not MIN_PUPIL_AGE <= age <= MAX_PUPIL_AGE:
        raise Refusal.invalid(
            "input",
            f"a pupil aged {age} is outside school age ({MIN_PUPIL_AGE}-{MAX_PUPIL_AGE}): "
            "check the date of birth",
            field="pupil.date_of_birth",
        )
    refs = [p.parent_ref for p in identity.parents]
    if len(set(refs)) != len(refs):
        raise Refusal.invalid(
            "input", "each parent needs its own parent_ref", field="pupil.parents"
        )
    for i, parent in enumerate(identity.parents):
        if not parent.email and not parent.phone:
            raise Refusal.invalid(
                "W10",
                "a parent needs an email address or a phone number: the school must be able "
                "to ask for consent",
                field=f"pupil.parents.{i}",
            )
