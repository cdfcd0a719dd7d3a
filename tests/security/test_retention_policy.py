"""Retention periods: two years of school data by default, configurable per SWV and category."""

from __future__ import annotations

from datetime import timedelta

import pytest

from passend_intake.retention import RetentionPolicy


def test_school_data_is_kept_two_years_by_default() -> None:
    assert RetentionPolicy().period("swv-a", "school") == timedelta(days=730)
    assert RetentionPolicy.parse(None) == RetentionPolicy()


def test_an_swv_and_the_default_are_configured_per_category() -> None:
    policy = RetentionPolicy.parse(
        '{"default": {"school": 365, "youth_care": 1825}, "swv-b": {"school": 1095}}'
    )
    assert policy.period("swv-a", "school") == timedelta(days=365)
    assert policy.period("swv-b", "school") == timedelta(days=1095)
    assert policy.period("swv-b", "youth_care") == timedelta(days=1825)


@pytest.mark.parametrize(
    "text", ['["school"]', '{"swv-a": 30}', '{"swv-a": {"school": 0}}', '{"a": {"b": "2y"}}']
)
def test_a_wrong_setting_is_refused_naming_the_variable(text: str) -> None:
    with pytest.raises(ValueError, match="INTAKE_RETENTION"):
        RetentionPolicy.parse(text)
