"""The coordinator's overview as a steering tool: filters, over-capacity warnings, CSV.

A case's municipality is its school's, as the directory registers it (``SchoolRegistered``:
every school has one); the pupil's own municipality is known only once a case goes to
Team NO, so it cannot steer the rest of the route.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from passend_contracts.municipalities import display_name, is_code
from passend_portal import labels


@dataclass(frozen=True)
class Filters:
    """What the coordinator narrowed the overview to; empty means everything."""

    worker: str = ""
    school: str = ""
    work_unit: str = ""
    municipality: str = ""  # CBS code; the cases of the schools in it
    since: date | None = None  # deadlines and evaluations due on or after
    until: date | None = None  # ... and on or before

    @classmethod
    def of(cls, query: Mapping[str, str]) -> tuple[Filters, list[str]]:
        """The filters in ``query`` (the form's Dutch names) and what could not be read."""
        problems: list[str] = []

        def day(name: str, label: str) -> date | None:
            text = query.get(name, "").strip()
            if not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                problems.append(f"{label}: geen geldige datum ({text!r}), gebruik jjjj-mm-dd.")
                return None

        since, until = day("van", "Vanaf"), day("tot", "Tot en met")
        municipality = query.get("gemeente", "").strip().upper()
        if municipality and not is_code(municipality):
            problems.append(
                f"Gemeente: onbekende gemeente ({municipality[:20]!r}); kies er een uit de lijst."
            )
            municipality = ""
        if since and until and since > until:
            problems.append("De periode eindigt vóór ze begint: de datums zijn omgedraaid.")
            since, until = until, since
        found = cls(
            worker=query.get("medewerker", "").strip(),
            school=query.get("school", "").strip(),
            work_unit=query.get("werkeenheid", "").strip(),
            municipality=municipality,
            since=since,
            until=until,
        )
        return found, problems

    @property
    def active(self) -> bool:
        return any(
            (self.worker, self.school, self.work_unit, self.municipality, self.since, self.until)
        )

    @property
    def municipality_name(self) -> str:
        """The chosen municipality by its name (``Vlaardingen``), for what the page says."""
        return display_name(self.municipality) if self.municipality else ""

    def query(self) -> str:
        """The filters as a query string, for the CSV links (the same rows as on screen)."""
        parts = {
            "medewerker": self.worker,
            "school": self.school,
            "werkeenheid": self.work_unit,
            "gemeente": self.municipality,
            "van": self.since.isoformat() if self.since else "",
            "tot": self.until.isoformat() if self.until else "",
        }
        return urlencode({k: v for k, v in parts.items() if v})

    def in_period(self, day: object) -> bool:
        if not (self.since or self.until):
            return True
        text = str(day or "")[:10]
        try:
            when = date.fromisoformat(text)
        except ValueError:
            return False
        return (self.since is None or when >= self.since) and (
            self.until is None or when <= self.until
        )

    def caseloads(self, loads: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            w
            for w in loads
            if (not self.worker or w.get("worker_id") == self.worker)
            and (not self.work_unit or w.get("work_unit_id") == self.work_unit)
        ]

    def at_school(self, school_id: object, places: Mapping[str, str]) -> bool:
        """Whether a case of ``school_id`` passes the school and municipality filters
        (``places``: each school's municipality, from the directory)."""
        school = str(school_id or "")
        return (not self.school or school == self.school) and (
            not self.municipality or places.get(school) == self.municipality
        )

    def schools(self, places: Mapping[str, str]) -> list[str] | None:
        """The schools the figures per phase narrow to: ``None`` for every school, an
        empty list when no school passes (a municipality without schools of the SWV)."""
        if not self.municipality:
            return [self.school] if self.school else None
        return sorted(s for s in places if self.at_school(s, places))

    def deadlines(
        self, rows: Iterable[dict[str, Any]], places: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        return [
            d
            for d in rows
            if (not self.worker or d.get("responsible_worker_id") == self.worker)
            and self.at_school(d.get("school_id"), places or {})
            and (not self.work_unit or d.get("work_unit_id") == self.work_unit)
            and self.in_period(d.get("contact_due_on"))
        ]

    def evaluations(
        self,
        rows: Iterable[dict[str, Any]],
        unit_of: Mapping[str, str | None],
        places: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        return [
            e
            for e in rows
            if (not self.worker or e.get("worker_id") == self.worker)
            and (not self.work_unit or unit_of.get(str(e.get("worker_id"))) == self.work_unit)
            and self.at_school(e.get("school_id"), places or {})
            and self.in_period(e.get("due_on"))
        ]


def municipality_choices(places: Mapping[str, str], chosen: str = "") -> list[tuple[str, str]]:
    """``[(name, code)]`` of the municipalities of the SWV's schools, by name (and the one
    ``chosen``, also when no school of the SWV is in it, so the form shows what filters)."""
    codes = set(places.values()) | ({chosen} if chosen else set())
    return sorted((display_name(code), code) for code in codes)


def over_capacity(loads: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """W24: the workers whose open cases take more hours than they have, most over first."""
    over = [w for w in loads if w.get("over_capacity")]
    return sorted(over, key=lambda w: -float(w.get("hours_over") or 0))


def is_missed(deadline: Mapping[str, Any]) -> bool:
    """W26: the first-contact deadline has passed without contact."""
    return bool(deadline.get("deadline_missed") or (deadline.get("time_left") or {}).get("lapsed"))


def hours_or_dash(value: object) -> str:
    """A number of hours or days in Dutch, or a dash when there is none."""
    return "–" if value is None else labels.hours(value)


Name = Callable[[object], str]


def caseload_rows(loads: Iterable[dict[str, Any]], person: Name, unit: Name) -> list[list[str]]:
    rows = [
        [
            "Onderwijsondersteuner",
            "Werkeenheid",
            "Open casussen",
            "Uren nodig per week",
            "Uren per week",
            "Uren vrij",
            "Overbelast",
        ]
    ]
    for w in loads:
        rows.append(
            [
                person(w.get("worker_id")),
                unit(w.get("work_unit_id")),
                labels.number(w.get("open_cases", 0)),
                hours_or_dash(w.get("hours_taken")),
                hours_or_dash(w.get("weekly_case_hours")),
                hours_or_dash(w.get("hours_free")),
                "ja" if w.get("over_capacity") else "nee",
            ]
        )
    return rows


def deadline_rows(
    deadlines: Iterable[dict[str, Any]], person: Name, school: Name
) -> list[list[str]]:
    rows = [["Casus", "School", "Onderwijsondersteuner", "Eerste contact uiterlijk", "Stand"]]
    for d in deadlines:
        rows.append(
            [
                str(d.get("case_id", ""))[:8],
                school(d.get("school_id")),
                person(d.get("responsible_worker_id")),
                labels.nl_date(d.get("contact_due_on")),
                "verlopen" if is_missed(d) else "loopt",
            ]
        )
    return rows


def evaluation_rows(evaluations: Iterable[dict[str, Any]], person: Name) -> list[list[str]]:
    rows = [["Casus", "Onderwijsondersteuner", "Soort", "Datum", "Stand"]]
    for e in evaluations:
        rows.append(
            [
                str(e.get("case_id", ""))[:8],
                person(e.get("worker_id")),
                labels.label(labels.EVALUATION_KINDS, e.get("kind")),
                labels.nl_date(e.get("due_on")),
                labels.label(labels.DUE_STATUS, e.get("status")),
            ]
        )
    return rows


def phase_rows(phases: Mapping[str, Any] | None) -> list[list[str]]:
    rows = [["Fase", "Trajecten", "Gemiddeld (dagen)", "Mediaan (dagen)"]]
    for p in (phases or {}).get("phases", []):
        rows.append(
            [
                labels.label(labels.PHASES, p.get("phase")),
                labels.number(p.get("cases", 0)),
                hours_or_dash(p.get("avg_days")),
                hours_or_dash(p.get("median_days")),
            ]
        )
    return rows


def as_csv(rows: Iterable[list[str]]) -> str:
    """Rows as the CSV a Dutch spreadsheet opens as it is: ``;`` between fields (the
    comma is the decimal sign), a byte-order mark so the accents survive."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows(rows)
    return "\ufeff" + out.getvalue()
