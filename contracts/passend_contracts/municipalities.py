"""Municipalities are named by their CBS code (``GM0622``) everywhere; names are for display.

Events, the directory, Team NO regions and the integration topics (``region_key`` of the
code: ``passend.integration.gm0622``) all carry the code, which never changes when a
municipality is renamed and never needs spelling out. Only what a person reads (an e-mail,
a page) shows the name, from :data:`NAMES` when it is known there, else the code itself.
"""

from __future__ import annotations

import re
from typing import Final

CBS_CODE: Final = re.compile(r"GM\d{4}")

# The municipalities Passend has cases in (CBS, "Gemeentelijke indeling"). Extend as
# regions join; an unknown code is shown as the code.
NAMES: Final[dict[str, str]] = {
    "GM0556": "Maassluis",
    "GM0606": "Schiedam",
    "GM0622": "Vlaardingen",
}


def is_code(value: str) -> bool:
    """Whether ``value`` is a CBS municipality code such as ``GM0622``."""
    return CBS_CODE.fullmatch(value) is not None


def display_name(code: str) -> str:
    """``"GM0622"`` -> ``"Vlaardingen"``; a code (or anything else) not known as itself."""
    return NAMES.get(code.strip().upper(), code)
