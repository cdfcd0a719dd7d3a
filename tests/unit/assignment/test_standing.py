"""W24: only an active support worker of the directory, in their own work unit, acts on cases."""

from __future__ import annotations

import pytest

from passend_assignment.domain.directory import evolve
from passend_assignment.domain.standing import require_standing
from passend_backbone.commands import Refusal, RefusalKind
from passend_contracts.events.assignment import PersonDeactivated, PersonRegistered

from .factories import NOW, SWV, directory, worker

DIRECTORY = directory(worker("w-anna"), worker("w-gone", active=False), worker("w-bram"))
DIRECTORY = evolve(
    evolve(
        DIRECTORY,
        PersonRegistered(
            swv_id=SWV,
            person_id="w-bram",
            display_name="Bram Dijkstra",
            roles=["support_worker"],
            work_unit_id="wu-1",
            registered_at=NOW,
        ),
    ),
    PersonDeactivated(swv_id=SWV, person_id="w-bram", reason="vertrokken", deactivated_at=NOW),
)


def test_w24_an_active_worker_in_their_own_unit_has_standing() -> None:
    require_standing(DIRECTORY, "w-anna", "wu-1")


@pytest.mark.parametrize(
    ("worker_id", "unit", "said"),
    [
        ("w-nobody", "wu-1", "no active support worker"),  # not in the directory
        ("w-gone", "wu-1", "no active support worker"),  # profile made inactive
        ("w-bram", "wu-1", "no active support worker"),  # left the directory as a person
        ("w-anna", "wu-2", "you signed in for work unit wu-2"),  # the token's unit isn't theirs
        ("w-anna", None, "you signed in for work unit (none)"),
    ],
)
def test_w24_others_are_refused_with_the_rule_and_no_word_about_a_case(
    worker_id: str, unit: str | None, said: str
) -> None:
    with pytest.raises(Refusal) as refused:
        require_standing(DIRECTORY, worker_id, unit)
    assert (refused.value.kind, refused.value.rule) == (RefusalKind.FORBIDDEN, "W24")
    assert refused.value.status_code == 403
    assert said in refused.value.message and "case" not in refused.value.message
