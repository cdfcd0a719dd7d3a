"""Why a command was refused: one type for every service, with the rule it follows.

A refusal says which rule (a tag from the domain rules, such as ``W10``) the command
breaks and, in words a person can act on, what to do instead. Its ``kind`` decides the
HTTP answer, so the API layer never has to know the rule: ``not_found`` (404: unknown,
or out of the caller's reach), ``conflict`` (409: the case's state does not allow it
now), ``forbidden`` (403: this caller may never do this) and ``invalid`` (422: the
command contradicts itself, whatever the state). Nothing is written when a command is
refused.
"""

from __future__ import annotations

from enum import StrEnum


class RefusalKind(StrEnum):
    """How a refusal is answered."""

    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    FORBIDDEN = "forbidden"
    INVALID = "invalid"

    @property
    def status_code(self) -> int:
        """The HTTP status this kind of refusal is answered with."""
        return _STATUS[self]


_STATUS = {
    RefusalKind.NOT_FOUND: 404,
    RefusalKind.CONFLICT: 409,
    RefusalKind.FORBIDDEN: 403,
    RefusalKind.INVALID: 422,
}


class Refusal(Exception):
    """A command the rules refuse; ``rule`` is the tag of the rule it breaks."""

    def __init__(
        self, kind: RefusalKind, rule: str, message: str, *, field: str | None = None
    ) -> None:
        super().__init__(f"{rule}: {message}" if rule else message)
        self.kind = kind
        self.rule = rule
        self.message = message
        self.field = field

    @classmethod
    def not_found(cls, rule: str, message: str) -> Refusal:
        """Unknown, or out of the caller's reach (answered the same way, so nobody learns
        that a case they may not see exists)."""
        return cls(RefusalKind.NOT_FOUND, rule, message)

    @classmethod
    def conflict(cls, rule: str, message: str, *, field: str | None = None) -> Refusal:
        """The current state does not allow it now."""
        return cls(RefusalKind.CONFLICT, rule, message, field=field)

    @classmethod
    def forbidden(cls, rule: str, message: str) -> Refusal:
        """This caller may never do this."""
        return cls(RefusalKind.FORBIDDEN, rule, message)

    @classmethod
    def invalid(cls, rule: str, message: str, *, field: str | None = None) -> Refusal:
        """The command itself is wrong, whatever the state."""
        return cls(RefusalKind.INVALID, rule, message, field=field)

    @property
    def status_code(self) -> int:
        return self.kind.status_code

    def detail(self) -> dict[str, str]:
        """The API's error ``detail``: the rule, the message and, when known, the field."""
        out = {"rule": self.rule, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out

    def __repr__(self) -> str:
        return f"Refusal({self.kind.value}, {self.rule!r}, {self.message!r})"
