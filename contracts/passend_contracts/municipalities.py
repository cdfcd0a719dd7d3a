"""Municipalities are named by their CBS code (``GM0622``) everywhere; names are for display.

Events, the directory, Team NO regions and the integration topics (``region_key`` of the
code: ``passend.integration.gm0622``) all carry the code, which never changes when a
municipality is renamed and never needs spelling out. Only what a person reads (an e-mail,
a page) shows the name.

The codes come from one list, ``data/municipalities.csv``: every municipality CBS has known
since 1970 (its "Gemeentelijke indeling"), with the day each began and ended under its code,
since municipalities merge. An API takes only a code that exists today
(:data:`MunicipalityCode`); an ended one is refused, and its name stays known for the
records that carry it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Final

from pydantic import AfterValidator, Field

CBS_CODE: Final = re.compile(r"GM\d{4}")
DATA_FILE: Final = Path(__file__).with_name("data") / "municipalities.csv"
# How every refusal of a code names where the list comes from.
SOURCE: Final = "CBS Gemeentelijke indeling (passend_contracts/data/municipalities.csv)"


@dataclass(frozen=True)
class Municipality:
    """One municipality under one code, and the days it existed under it."""

    code: str
    name: str
    province: str
    valid_from: date
    valid_to: date | None  # the first day it no longer existed; None: it exists

    def exists_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


def _read(path: Path) -> tuple[Municipality, ...]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return tuple(
            Municipality(
                code=row["code"],
                name=row["name"],
                province=row["province"],
                valid_from=date.fromisoformat(row["valid_from"]),
                valid_to=date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
            )
            for row in rows
        )


# Every row of the list, by code and first day (a code that changed province has two).
HISTORY: Final[tuple[Municipality, ...]] = _read(DATA_FILE)
# Each code as it was last: the municipality today, or as it ended.
BY_CODE: Final[dict[str, Municipality]] = {
    m.code: m for m in sorted(HISTORY, key=lambda m: (m.code, m.valid_from))
}
# The municipalities that exist today, code -> name.
NAMES: Final[dict[str, str]] = {
    code: m.name for code, m in sorted(BY_CODE.items()) if m.valid_to is None
}


def is_code(value: str) -> bool:
    """Whether ``value`` has the form of a CBS municipality code such as ``GM0622``."""
    return CBS_CODE.fullmatch(value) is not None


def is_current(code: str) -> bool:
    """Whether ``code`` is a municipality that exists today."""
    return code in NAMES


def existing_on(day: date) -> dict[str, str]:
    """The municipalities that existed on ``day``, code -> name."""
    return {m.code: m.name for m in HISTORY if m.exists_on(day)}


def display_name(code: str) -> str:
    """``"GM0622"`` -> ``"Vlaardingen"`` (an ended one too); anything else as itself."""
    known = BY_CODE.get(code.strip().upper())
    return known.name if known is not None else code


def problem_with(code: str) -> str | None:
    """Why ``code`` is not a municipality an API takes, naming the list (``None``: it is)."""
    if code in NAMES:
        return None
    ended = BY_CODE.get(code)
    if ended is not None and ended.valid_to is not None:
        return f"{code} ({ended.name}) ended on {ended.valid_to.isoformat()} per {SOURCE}"
    if not is_code(code):
        return f"{code[:20]!r} is not a municipality code such as GM0622 of {SOURCE}"
    return f"{code} is not a municipality in {SOURCE}"


def require_current(code: str) -> str:
    """``code`` when it is a municipality that exists today; ``ValueError`` naming the list."""
    problem = problem_with(code)
    if problem is not None:
        raise ValueError(problem)
    return code


# A request's municipality: a CBS code that exists today, never free text (422 otherwise).
MunicipalityCode = Annotated[
    str,
    Field(
        description="CBS code of a municipality that exists today, such as GM0622",
        # For clients' schemas: today's codes, so what the document allows the API takes
        # (the list decides at validation; a client's schema names every choice).
        json_schema_extra={"enum": sorted(NAMES), "examples": ["GM0622"]},
    ),
    AfterValidator(require_current),
]
