"""W24 on the dev directory: requests as an IB writes them, routed to the colleagues of the
work unit, expertise first, then knowing the school, then hours free.

Werkwijzer, afspraak 24: the IB puts the request with one support worker, who takes it up
or puts it before the colleagues of the work unit; "beschikbare expertise, ruimte in de
caseload en bekendheid met de school kunnen daarbij een rol spelen". The requested areas
come from the request's words (the directory's keywords; intake finds them,
passend_intake/domain/need_areas.py); the
colleagues, their expertise, hours and schools from dev_directory.yaml.
"""

from __future__ import annotations

from pathlib import Path

from passend_assignment.directory_file import load_directory_file
from passend_assignment.domain.directory import DirectoryState, configure, fold
from passend_assignment.domain.ranking import Suggestion, rank
from passend_intake.domain.need_areas import need_areas

from .factories import NOW

DEV_FILE = Path(__file__).parents[3] / "services/assignment/passend_assignment/dev_directory.yaml"
# The dev directory's schools by name.
HAVENMEESTER, TREKVOGEL, STADSERF = "brin-11aa", "brin-13cc", "brin-22ee"


def dev_directory() -> DirectoryState:
    return fold(configure(DirectoryState(), load_directory_file(DEV_FILE)[0], NOW))


def route(text: str, unit: str, school: str, open_cases: dict[str, int]) -> list[Suggestion]:
    """The suggestions the endpoint gives for a request at ``school`` in ``unit``."""
    directory = dev_directory()
    assert directory.settings is not None
    areas = need_areas(text, directory.settings.expertise_areas)
    hours = directory.settings.case_hours_per_week
    return rank(directory.members_of(unit), areas, school, open_cases, hours)


def reasons(ranked: list[Suggestion]) -> list[tuple[str, tuple[str, ...], bool, float]]:
    return [(s.worker_id, s.has_areas, s.knows_school, s.hours_free) for s in ranked]


def test_w24_one_area_the_worker_with_it_comes_first_though_a_stranger_to_the_school() -> None:
    ranked = route("Leest erg langzaam, de spelling blijft achter", "wu-vlaardingen", TREKVOGEL, {})
    assert ranked[0].requested_areas == ("reading",)
    assert reasons(ranked) == [
        ("ow-anouk", ("reading",), False, 20.0),  # the only one with reading
        ("ow-bart", (), True, 16.0),  # knows De Trekvogel
        ("ow-chantal", (), False, 12.0),
    ]


def test_w24_zero_of_three_never_above_one_of_three_in_the_dev_directory() -> None:
    """Issue 19's case: Chantal has none of the three areas, knows De Havenmeester and has
    the most hours free; under the old weighted sum she came first (0.50 against 0.46
    and 0.24). Anouk and Bart each have one; Anouk knows the school."""
    ranked = route(
        "Leest langzaam, rekenen gaat moeizaam en hij is vaak boos in de klas",
        "wu-vlaardingen",
        HAVENMEESTER,
        {"ow-anouk": 7, "ow-bart": 6},
    )
    first = ranked[0]
    assert first.requested_areas == ("reading", "maths", "behaviour")
    assert reasons(ranked) == [
        ("ow-anouk", ("reading",), True, 6.0),
        ("ow-bart", ("behaviour",), False, 4.0),
        ("ow-chantal", (), True, 12.0),
    ]
    assert first.lacks_areas == ("maths", "behaviour")
    assert [round(s.total, 2) for s in ranked] == [0.33, 0.33, 0.0]
    assert [s.position for s in ranked] == [1, 2, 3]


def test_w24_equal_expertise_knowing_the_school_decides_before_room() -> None:
    """Bart and Chantal each have one of the two areas; Chantal knows De Havenmeester.
    Anouk has neither and comes last, whatever her free hours (the old weights put her
    above Bart)."""
    ranked = route(
        "Hij is vaak boos en heeft veel faalangst bij toetsen",
        "wu-vlaardingen",
        HAVENMEESTER,
        {"ow-bart": 4, "ow-chantal": 3},
    )
    assert ranked[0].requested_areas == ("behaviour", "social_emotional")
    assert reasons(ranked) == [
        ("ow-chantal", ("social_emotional",), True, 6.0),
        ("ow-bart", ("behaviour",), False, 8.0),
        ("ow-anouk", (), True, 20.0),
    ]


def test_w24_equal_expertise_and_school_the_one_with_more_hours_free_comes_first() -> None:
    """Schiedam-Maassluis: Daan and Esra both know Het Stadserf and have one area each;
    Esra has twelve hours free, Daan six. Floris has neither area."""
    ranked = route(
        "Rekenen en begrijpend lezen blijven achter",
        "wu-schiedam-maassluis",
        STADSERF,
        {"ow-daan": 9, "ow-esra": 2},
    )
    assert ranked[0].requested_areas == ("reading", "maths")
    assert reasons(ranked) == [
        ("ow-esra", ("reading",), True, 12.0),
        ("ow-daan", ("maths",), True, 6.0),
        ("ow-floris", (), False, 8.0),
    ]
    why = {f.factor: f.why for f in ranked[1].factors}
    assert why == {
        "expertise": "has 1 of 2 requested areas: maths; lacks reading",
        "school_familiarity": "knows the school",
        "caseload_room": "9 open cases take 18 of 24 hours a week, 6 hours free",
    }


def test_w24_only_the_colleagues_of_the_work_unit_are_suggested() -> None:
    ranked = route("Leest langzaam", "wu-vlaardingen", HAVENMEESTER, {})
    assert {s.worker_id for s in ranked} == {"ow-anouk", "ow-bart", "ow-chantal"}
