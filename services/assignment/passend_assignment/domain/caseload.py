"""A worker's caseload against her weekly case hours (W24): hours taken, free, and over."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caseload:
    """W24: open claimed cases, each taking the SWV's hours per case, against the week."""

    open_cases: int
    weekly_case_hours: float | None  # None: the directory does not know the worker's hours
    hours_per_case: float

    @property
    def hours_taken(self) -> float:
        return self.open_cases * self.hours_per_case

    @property
    def hours_free(self) -> float | None:
        if self.weekly_case_hours is None:
            return None
        return max(0.0, self.weekly_case_hours - self.hours_taken)

    @property
    def hours_over(self) -> float | None:
        """Hours a week more than the worker has for casework; 0 when within."""
        if self.weekly_case_hours is None:
            return None
        return max(0.0, self.hours_taken - self.weekly_case_hours)

    @property
    def over_capacity(self) -> bool:
        """W24: the open cases take more hours than the worker has a week for casework."""
        return bool(self.hours_over)
