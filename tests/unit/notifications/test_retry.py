"""Retries back off exponentially with jitter; the last attempt or a permanent failure parks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passend_notifications.domain.retry import RetryPolicy

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=5, base=timedelta(seconds=10), cap=timedelta(seconds=60))


@given(st.integers(min_value=1, max_value=4), st.floats(min_value=0, max_value=1))
def test_wait_lies_between_half_and_all_of_the_exponential_step(attempt, r) -> None:
    step = min(timedelta(seconds=60), timedelta(seconds=10) * 2 ** (attempt - 1))
    delay = POLICY.delay(attempt, lambda: r)
    assert step / 2 <= delay <= step


def test_steps_double_until_the_cap() -> None:
    top = [POLICY.delay(n, lambda: 1.0).total_seconds() for n in range(1, 6)]
    assert top == [10, 20, 40, 60, 60]


def test_jitter_spreads_messages_that_failed_together() -> None:
    waits = {POLICY.delay(3, iter([r]).__next__) for r in (0.0, 0.25, 0.5, 0.75, 1.0)}
    assert len(waits) == 5


def test_parks_after_the_last_attempt() -> None:
    assert POLICY.next_attempt(4, NOW, lambda: 0.0, permanent=False) == NOW + timedelta(seconds=30)
    assert POLICY.next_attempt(5, NOW, lambda: 0.0, permanent=False) is None


def test_permanent_failure_parks_at_once() -> None:
    assert POLICY.next_attempt(1, NOW, lambda: 0.0, permanent=True) is None


def test_nonsense_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="base"):
        RetryPolicy(base=timedelta(seconds=10), cap=timedelta(seconds=5))
