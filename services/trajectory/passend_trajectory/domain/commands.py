"""What every command shares: its base, who gives it (``Issued``), and who and when (``Act``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from passend_backbone.working_days import local_day

C = TypeVar("C")


class Command(BaseModel):
    """A user's intent, validated at the edge; the actor comes with it (``Issued``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class Issued(Generic[C]):
    """A command and who gives it: what the trajectory's decider decides on.

    The actor is never part of a request body (a caller can't name someone else); the
    API takes it from the bearer token, a reactor or the scheduler names the service.
    """

    actor: str
    command: C


@dataclass(frozen=True)
class Act:
    """Who does something and when, as the rules see it (the clock is passed in, never read)."""

    actor: str
    at: datetime

    @property
    def today(self) -> date:
        """The Dutch calendar day of the act: a conversation held "today" just after
        midnight in the Netherlands is not in the future while UTC is still on yesterday."""
        return local_day(self.at)
