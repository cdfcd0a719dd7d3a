"""Why a command was refused: an invalid command (HTTP 422) or a conflicting state (409)."""

from __future__ import annotations


class RuleViolation(Exception):
    """A command breaks a rule; nothing is written. ``rule`` is the tag from domain.md."""

    def __init__(self, rule: str | None, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{rule}: {message}" if rule else message)
        self.rule = rule
        self.message = message
        self.field = field

    def detail(self) -> dict[str, str]:
        """The API's error ``detail``: rule tag, message and, when known, the field."""
        out = {"message": self.message}
        if self.rule:
            out["rule"] = self.rule
        if self.field:
            out["field"] = self.field
        return out


class InvalidCommand(RuleViolation):
    """The command itself is wrong, whatever the case's state (HTTP 422)."""


class StateConflict(RuleViolation):
    """The command does not fit the case's current state (HTTP 409)."""
