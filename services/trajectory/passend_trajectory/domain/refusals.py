"""Why a command is refused: the rule it breaks and what is missing."""

from __future__ import annotations


class Refusal(Exception):
    """A command the domain does not accept; ``rule`` is the tag from domain.md."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule
        self.message = message


class RuleViolation(Refusal):
    """The case's state doesn't allow it now (answered as a conflict)."""


class NotFound(Refusal):
    """Something the command names doesn't exist in this case (answered as not found)."""


class InvalidCommand(Refusal):
    """The command contradicts itself or the plan (answered as unprocessable)."""
