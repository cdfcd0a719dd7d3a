"""What every command shares: who gives it and when (``Act``), and the base of their bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class Command(BaseModel):
    """A user's intent, validated at the edge; the actor and time come separately (``Act``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class Act:
    """Who does something and when (the clock is passed in, never read here)."""

    actor: str
    at: datetime
