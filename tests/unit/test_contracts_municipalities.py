"""Municipalities are CBS codes from one complete list, with the days each existed; an API
takes only one that exists today, and its refusal names the list."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import BaseModel, ValidationError

from passend_contracts import municipalities, topics
from passend_contracts.municipalities import MunicipalityCode


class Body(BaseModel):
    municipality: MunicipalityCode


def test_codes_are_recognised_and_names_are_not() -> None:
    assert municipalities.is_code("GM0622")
    assert not municipalities.is_code("Vlaardingen")
    assert not municipalities.is_code("GM622")
    assert not municipalities.is_code("gm0622")


def test_the_list_is_complete_year_by_year() -> None:
    """The number of municipalities CBS published for each year, from the list's dates."""
    assert len(municipalities.existing_on(date(2019, 1, 1))) == 355
    assert len(municipalities.existing_on(date(2021, 1, 1))) == 352
    assert len(municipalities.existing_on(date(2022, 1, 1))) == 345
    assert len(municipalities.existing_on(date(2022, 3, 24))) == 344  # Weesp joined Amsterdam
    assert len(municipalities.existing_on(date(2023, 1, 1))) == 342  # Voorne aan Zee
    assert len(municipalities.NAMES) == 342


def test_merged_municipalities_are_known_as_ended() -> None:
    westvoorne = municipalities.BY_CODE["GM0614"]
    assert (westvoorne.name, westvoorne.valid_to) == ("Westvoorne", date(2023, 1, 1))
    assert not municipalities.is_current("GM0614")
    assert municipalities.BY_CODE["GM1992"].valid_from == date(2023, 1, 1)
    assert municipalities.NAMES["GM1992"] == "Voorne aan Zee"


def test_a_known_code_displays_its_name_an_ended_one_too_and_anything_else_itself() -> None:
    assert municipalities.display_name("GM0556") == "Maassluis"
    assert municipalities.display_name("GM0363") == "Amsterdam"
    assert municipalities.display_name("GM0457") == "Weesp"  # ended, still in old records
    assert municipalities.display_name("GM9999") == "GM9999"
    assert municipalities.display_name("") == ""


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("Vlaardingen", "is not a municipality code such as GM0622"),
        ("GM9999", "GM9999 is not a municipality in"),
        ("GM0614", "GM0614 (Westvoorne) ended on 2023-01-01"),
    ],
)
def test_an_api_takes_only_a_current_code_and_names_the_list(given: str, says: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Body(municipality=given)
    assert says in str(refused.value)
    assert municipalities.SOURCE in str(refused.value)
    assert Body(municipality="GM0622").municipality == "GM0622"


def test_every_current_code_is_a_code_and_names_its_own_integration_topic() -> None:
    keys = {topics.region_key(code) for code in municipalities.NAMES}
    assert all(municipalities.is_code(code) for code in municipalities.NAMES)
    assert len(keys) == len(municipalities.NAMES)
    assert {"gm0556", "gm0606", "gm0622"} <= keys
