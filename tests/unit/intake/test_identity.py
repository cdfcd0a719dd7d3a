"""The pupil's identity is checked before it is sealed: plausible age, reachable parents (W10)."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from passend_intake.domain.identity import ParentContact, age_on, check_identity
from tests.unit.intake.builders import NOW, PARENT, identity, invalid


def test_a_plausible_identity_passes() -> None:
    check_identity(identity(), NOW.date())


@pytest.mark.parametrize(
    ("born", "today", "age"),
    [
        (date(2014, 9, 14), date(2026, 9, 14), 12),
        (date(2014, 9, 15), date(2026, 9, 14), 11),
        (date(2012, 2, 29), date(2026, 2, 28), 13),
    ],
)
def test_age_counts_completed_years(born: date, today: date, age: int) -> None:
    assert age_on(born, today) == age


@pytest.mark.parametrize("born", [date(2026, 9, 14), date(2030, 1, 1)])
def test_date_of_birth_must_lie_in_the_past(born: date) -> None:
    with invalid() as refused:
        check_identity(identity(born=born), NOW.date())
    assert refused.value.field == "pupil.date_of_birth"


@pytest.mark.parametrize("born", [date(2025, 1, 1), date(1990, 1, 1)])
def test_a_pupil_is_of_school_age(born: date) -> None:
    with invalid() as refused:
        check_identity(identity(born=born), NOW.date())
    assert refused.value.field == "pupil.date_of_birth"


def test_w10_a_parent_must_be_reachable() -> None:
    unreachable = [ParentContact(parent_ref=PARENT, name="J. Jansen")]
    with invalid() as refused:
        check_identity(identity(parents=unreachable), NOW.date())
    assert (refused.value.rule, refused.value.field) == ("W10", "pupil.parents.0")


def test_parent_refs_are_distinct() -> None:
    twice = [
        ParentContact(parent_ref=PARENT, name="A", phone="0612345678"),
        ParentContact(parent_ref=PARENT, name="B", phone="0612345679"),
    ]
    with invalid() as refused:
        check_identity(identity(parents=twice), NOW.date())
    assert refused.value.field == "pupil.parents"


@pytest.mark.parametrize(
    "changes",
    [
        {"email": "not-an-address"},
        {"phone": "call me"},
        {"parent_ref": "has spaces"},
        {"name": ""},
    ],
)
def test_contact_details_are_validated(changes: dict[str, str]) -> None:
    data = {"parent_ref": PARENT, "name": "J. Jansen", "email": "j@example.nl", **changes}
    with pytest.raises(ValidationError):
        ParentContact(**data)
