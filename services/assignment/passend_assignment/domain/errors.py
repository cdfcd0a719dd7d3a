"""Why a command was refused, in words a user can act on, with the rule it follows."""

from __future__ import annotations

from enum import StrEnum


class Refusal(StrEnum):
    """How the API answers a refusal."""

    NOT_FOUND = "not_found"  # 404: unknown, or another SWV's case
    CONFLICT = "conflict"  # 409: the case's state does not allow it now
    FORBIDDEN = "forbidden"  # 403: this caller may never do this


class Refused(Exception):
    """A command the rules refuse; nothing is appended."""

    def __init__(self, kind: Refusal, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.kind = kind
        self.rule = rule
        self.message = message


def not_found(what: str) -> Refused:
    return Refused(Refusal.NOT_FOUND, "tenant", f"{what} not found")


def conflict(rule: str, message: str) -> Refused:
    return Refused(Refusal.CONFLICT, rule, message)


def forbidden(rule: str, message: str) -> Refused:
    return Refused(Refusal.FORBIDDEN, rule, message)
