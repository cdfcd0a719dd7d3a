"""Keeps consent-link tokens, searched texts and the school's references of pupils out of the
HTTP access log: the token is the parent's credential, a search may be by the pupil's name,
and a school's reference would link the log to the school's records after the pupil's
erasure (issue 20: only the key's row may know it)."""

from __future__ import annotations

import logging
import re

_TOKEN_IN_PATH = re.compile(r"^(/consent/)[^/?#]+")
REDACTED = "[token]"
# ``GET /requests?find=...``: the text may be a pupil's name (name_search).
_FIND_IN_QUERY = re.compile(r"([?&]find=)[^&#]*")
REDACTED_TEXT = "[redacted]"
# ``/privacy/pupils/<ref>...``: the privacy officer names a pupil by the school's reference.
_PUPIL_IN_PATH = re.compile(r"^(/privacy/pupils/)[^/?#]+")
# ``/internal/schools/<school>/pupils?ref=...``: the portal signing a teacher in.
_REF_IN_QUERY = re.compile(r"([?&]ref=)[^&#]*")


class RedactConsentTokens(logging.Filter):
    """Rewrites ``/consent/<token>...`` in uvicorn's access records to ``/consent/[token]``,
    a search's ``find=<text>`` to ``find=[redacted]``, and a pupil's reference in
    ``/privacy/pupils/<ref>`` and ``ref=<ref>`` to ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access record: (client, method, path, http version, status code)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path = _TOKEN_IN_PATH.sub(rf"\g<1>{REDACTED}", args[2])
            path = _FIND_IN_QUERY.sub(rf"\g<1>{REDACTED_TEXT}", path)
            path = _PUPIL_IN_PATH.sub(rf"\g<1>{REDACTED_TEXT}", path)
            path = _REF_IN_QUERY.sub(rf"\g<1>{REDACTED_TEXT}", path)
            if path != args[2]:
                record.args = (args[0], args[1], path, args[3], args[4])
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger once, whatever configured logging before."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactConsentTokens) for f in access.filters):
        access.addFilter(RedactConsentTokens())
