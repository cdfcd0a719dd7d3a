"""How a channel says an attempt failed: the reason, and whether trying again can help."""

from __future__ import annotations

import re

# Mail servers like to quote the address they refuse; the reason goes into events and
# logs, which hold no personal data.
_ADDRESS = re.compile(r"[^\s<>\"'@]+@[^\s<>\"'@]+")


def redact(text: str) -> str:
    """``text`` with e-mail addresses replaced by ``<address>``."""
    return _ADDRESS.sub("<address>", text)


# What went wrong, as a code a screen explains in plain words (the reason is for people
# who run the service, in English).
NO_ADDRESS = "no_address"  # the recipient has no e-mail address
REFUSED = "refused"  # the mail server (or endpoint) refused the message
BOUNCED = "bounced"  # accepted, then reported undeliverable
UNREACHABLE = "unreachable"  # the mail server, endpoint or intake did not answer
NO_RECIPIENT = "no_recipient"  # nobody known for this recipient (yet)
TEMPLATE = "template"  # the text can't be made


class DeliveryFailed(Exception):
    """One attempt did not reach the recipient, as far as we know.

    ``permanent``: retrying fails the same way. ``uncertain``: the connection broke or
    timed out after the message may have been handed over, so the recipient may have it;
    the next successful attempt is then recorded as a possible duplicate. ``code`` says
    what went wrong for the screens (:data:`NO_ADDRESS`, ...).
    """

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        uncertain: bool = False,
        code: str = UNREACHABLE,
    ) -> None:
        reason = redact(reason)[:500]
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.uncertain = uncertain
        self.code = code
