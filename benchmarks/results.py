"""Figures, their targets, the printed table and the JSON results file."""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Target:
    """A bound a figure must reach: ``op`` is ``>=`` or ``<=``."""

    op: str
    bound: float
    text: str = ""

    def met(self, value: float | None) -> bool | None:
        """True/False when measured; None when there is no value to judge."""
        if value is None:
            return None
        if self.op == ">=":
            return value >= self.bound
        if self.op == "<=":
            return value <= self.bound
        if self.op == "<":
            return value < self.bound
        raise ValueError(f"unknown comparison {self.op!r}: use >=, <= or <")

    def __str__(self) -> str:
        return self.text or f"{self.op} {self.bound:g}"


@dataclass(frozen=True)
class Figure:
    """One measured figure: the median of ``len(samples)`` runs."""

    name: str
    title: str
    value: float | None
    unit: str
    target: str  # "-" for figures shown for reference only
    met: bool | None
    samples: Sequence[float]
    settings: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    aggregate: str = "median"  # how ``value`` comes from ``samples`` ("median", "worst")

    @property
    def runs(self) -> int:
        return len(self.samples)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["samples"] = list(self.samples)
        data["runs"] = self.runs
        data["met"] = {True: "yes", False: "no", None: "n/a"}[self.met]
        return data


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (which must not be empty)."""
    if not values:
        raise ValueError("no values to take the median of: the stage measured nothing")
    return float(statistics.median(values))


def figure(
    name: str,
    title: str,
    samples: Sequence[float],
    unit: str,
    target: Target | None = None,
    *,
    settings: dict[str, Any] | None = None,
    note: str = "",
    met: bool | None = None,
    worst: bool = False,
) -> Figure:
    """The figure of ``samples`` (one per run), judged by ``target`` unless ``met`` is given.

    Its value is the samples' median, or with ``worst`` the one furthest on the wrong side
    of the target (the lowest for a lower bound, else the highest): "no minute worse than
    the target".
    """
    if not samples:
        value = None
    elif worst:
        lower_bound = target is not None and target.op == ">="
        value = float(min(samples) if lower_bound else max(samples))
    else:
        value = median(samples)
    judged = met if met is not None else (target.met(value) if target else None)
    return Figure(
        name=name,
        title=title,
        value=value,
        unit=unit,
        target=str(target) if target else "-",
        met=judged,
        samples=[round(s, 6) for s in samples],
        settings=dict(settings or {}),
        note=note,
        aggregate="worst" if worst else "median",
    )


def format_value(value: float | None, unit: str) -> str:
    """Thousands separators for rates, milliseconds with two decimals, ratios with two."""
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:,.2f}"
    if unit in ("x", "cores"):
        return f"{value:.2f}"
    return f"{value:,.0f}"


def table(figures: Sequence[Figure]) -> str:
    """A Markdown table of the figures (prints well in a terminal and pastes into a README)."""
    header = ("figure", "value", "unit", "target", "met", "runs")
    rows = [
        (
            f.title,
            format_value(f.value, f.unit),
            f.unit,
            f.target,
            {True: "yes", False: "**no**", None: "-"}[f.met],
            str(f.runs),
        )
        for f in figures
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


class OneLine:
    """A value the results file writes on one line (a row of a long list, such as a trace).

    Not a dataclass: ``asdict`` of a figure would turn it into a dict.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OneLine) and other.value == self.value

    def __hash__(self) -> int:
        return hash(json.dumps(self.value, default=str))

    def __repr__(self) -> str:
        return f"OneLine({self.value!r})"


_ONE_LINE = re.compile(r'"\\u0000(\d+)\\u0000"')


def dumps(document: Any) -> str:
    """``document`` as indented JSON, each :class:`OneLine` value compact on its own line."""
    lines: list[str] = []

    def default(value: Any) -> Any:
        if isinstance(value, OneLine):
            lines.append(json.dumps(value.value, separators=(",", ":"), default=str))
            return f"\x00{len(lines) - 1}\x00"  # replaced below by the compact text
        return str(value)

    text = json.dumps(document, indent=2, default=default)
    return _ONE_LINE.sub(lambda m: lines[int(m.group(1))], text)


def write_json(
    path: Path, figures: Sequence[Figure], machine: dict[str, Any], run: dict[str, Any]
) -> None:
    """Write the results file (replaced whole, so a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Each figure carries its machine, commit and date too, so one copied out stays complete.
    stamp = {"machine": machine, "commit": run.get("commit"), "date": run.get("date")}
    document = {**run, "machine": machine, "figures": [f.as_json() | stamp for f in figures]}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(dumps(document) + "\n", encoding="utf-8")
    tmp.replace(path)


def detail_table(
    title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]
) -> dict[str, Any]:
    """A table of details (per minute, per hop) to keep in a figure's settings under
    ``"tables"``: it goes into the JSON and :func:`details` prints it after the figures."""
    return {"title": title, "header": list(header), "rows": [list(r) for r in rows]}


def details(figures: Sequence[Figure]) -> str:
    """Every detail table the figures carry (each once), as Markdown."""
    seen: set[str] = set()
    out: list[str] = []
    for f in figures:
        for t in f.settings.get("tables", ()):
            if t["title"] in seen:
                continue
            seen.add(t["title"])
            out += ["", f"**{t['title']}**", "", _markdown(t["header"], t["rows"])]
    return "\n".join(out).lstrip("\n")


def _markdown(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in header], *([_cell(c) for c in r] for r in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
