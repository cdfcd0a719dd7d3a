"""Which of the SWV's expertise areas a request's words signal (W24).

Intake finds them when the request is submitted, because it alone reads the request's
texts (they leave intake sealed, ``passend_backbone.texts``); only the area ids go on to
routing, in ``RequestSubmitted.need_areas``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from passend_contracts.events.assignment import ExpertiseArea


def need_areas(text: str, areas: Sequence[ExpertiseArea]) -> list[str]:
    """W24: the expertise areas whose keywords occur in ``text`` (whole words, any case)."""
    words = set(re.findall(r"\w+", text.lower()))
    found = []
    for area in areas:
        keys = {k.lower() for k in area.keywords} | {area.area_id.lower()}
        if any((" " in k and k in text.lower()) or k in words for k in keys):
            found.append(area.area_id)
    return found
