"""When a failed delivery is tried again: exponential backoff with jitter, then parking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries in all; the wait before try n+1 grows as base * 2**(n-1)."""

    max_attempts: int = 8
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=2)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError("backoff base must be positive and not above the cap")

    def delay(self, attempt: int, random: Callable[[], float]) -> timedelta:
        """The wait after failed attempt ``attempt`` (1-based).

        "Equal jitter": half of the exponential step is fixed, half random, so retries of
        many messages that failed together (an endpoint down) spread out instead of
        arriving at the endpoint as one wave, and no wait is shorter than half the step.
        """
        step = min(self.cap, self.base * (2 ** (attempt - 1)))
        jittered: timedelta = step / 2 + (step / 2) * random()
        return jittered

    def next_attempt(
        self, attempt: int, now: datetime, random: Callable[[], float], *, permanent: bool
    ) -> datetime | None:
        """When to try again after failed attempt ``attempt``; ``None`` parks the message.

        A permanent failure (address refused, template needs a fact it lacks) parks at
        once: trying again would fail the same way until someone fixes the cause.
        """
        if permanent or attempt >= self.max_attempts:
            return None
        return now + self.delay(attempt, random)
