"""Municipalities are identified by CBS code; a known code is shown by name, others as code."""

from __future__ import annotations

from passend_contracts import municipalities, topics


def test_codes_are_recognised_and_names_are_not() -> None:
    assert municipalities.is_code("GM0622")
    assert not municipalities.is_code("Vlaardingen")
    assert not municipalities.is_code("GM622")
    assert not municipalities.is_code("gm0622")


def test_a_known_code_displays_its_name_and_an_unknown_one_itself() -> None:
    assert municipalities.display_name("GM0556") == "Maassluis"
    assert municipalities.display_name("GM0363") == "GM0363"
    assert municipalities.display_name("") == ""


def test_every_known_code_is_a_code_and_names_its_own_integration_topic() -> None:
    keys = {topics.region_key(code) for code in municipalities.NAMES}
    assert all(municipalities.is_code(code) for code in municipalities.NAMES)
    assert keys == {"gm0556", "gm0606", "gm0622"}
