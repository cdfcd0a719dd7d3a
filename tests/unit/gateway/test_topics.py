"""Region names map to integration topics that no other region's name can reach."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from passend_contracts import topics


def test_names_and_codes_become_lower_case_topic_names() -> None:
    assert topics.integration("GM0622") == "passend.integration.gm0622"
    assert topics.integration("'s-Hertogenbosch") == "passend.integration.s-hertogenbosch"
    assert topics.integration_thin("Súdwest-Fryslân") == "passend.integration.sudwest-fryslan.thin"


def test_a_name_without_letters_or_digits_names_no_topic() -> None:
    with pytest.raises(ValueError, match="no letters or digits"):
        topics.integration("  ... ")


def test_a_region_named_like_the_thin_marker_keeps_its_event_topic_apart() -> None:
    topic = topics.integration("THIN")
    assert not topics.is_thin(topic)
    assert topic != topics.integration_thin("THIN")
    assert topics.is_thin(topics.integration_thin("THIN"))
    assert topics.region_key("thin") != topics.region_key("thin-x")


def test_a_name_too_long_for_a_topic_is_refused_not_cut_short() -> None:
    with pytest.raises(ValueError, match="too long"):
        topics.integration("x" * (topics.MAX_REGION_KEY + 1))
    assert len(topics.integration_thin("x" * topics.MAX_REGION_KEY)) == 249


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
@example("THIN", "thin")
@example("thin", "THIN")
def test_no_region_topic_is_another_regions_thin_topic_or_an_event_topic(a: str, b: str) -> None:
    try:
        topic, thin = topics.integration(a), topics.integration_thin(b)
    except ValueError:
        return
    assert "." not in topic.removeprefix(topics.INTEGRATION_PREFIX)
    assert topic != thin
    assert not topics.is_thin(topic) and topics.is_thin(thin)
    assert topic not in topics.ALL and thin not in topics.ALL
    key = topics.region_key(a)
    assert topics.region_key(key) == key  # normalising twice changes nothing
