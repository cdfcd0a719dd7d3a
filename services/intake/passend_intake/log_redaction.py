"""Keeps consent-link tokens out of the HTTP access log: the token is the parent's credential."""

from __future__ import annotations

import logging
import re

_TOKEN_IN_PATH = re.compile(r"^(/consent/)[^/?#]+")
REDACTED = "[token]"


class RedactConsentTokens(logging.Filter):
    """Rewrites ``/consent/<token>...`` in uvicorn's access records to ``/consent/[token]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access record: (client, method, path, http version, status code)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path = _TOKEN_IN_PATH.sub(rf"\g<1>{REDACTED}", args[2])
            if path != args[2]:
                record.args = (args[0], args[1], path, args[3], args[4])
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger once, whatever configured logging before."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactConsentTokens) for f in access.filters):
        access.addFilter(RedactConsentTokens())
