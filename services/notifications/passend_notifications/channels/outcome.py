"""How a channel says an attempt failed: the reason, and whether trying again can help."""

from __future__ import annotations

import re

# Mail servers like to quote the address they refuse; the reason goes into events and
# logs, which hold no personal data.
_ADDRESS = re.compile(r"[^\s<>\"'@]+@[^\s<>\"'@]+")


def redact(text: str) -> str:
    """``text`` with e-mail addresses replaced by ``<address>``."""
    return _ADDRESS.sub("<address>", text)


class DeliveryFailed(Exception):
    """One attempt did not reach the recipient, as far as we know.

    ``permanent``: retrying fails the same way. ``uncertain``: the connection broke or
    timed out after the message may have been handed over, so the recipient may have it;
    the next successful attempt is then recorded as a possible duplicate.
    """

    def __init__(self, reason: str, *, permanent: bool = False, uncertain: bool = False) -> None:
        reason = redact(reason)[:500]
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.uncertain = uncertain
