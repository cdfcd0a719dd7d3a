"""The stand of a case in "Mijn casussen", in the words a worker needs (W25, W26)."""

from __future__ import annotations

from passend_portal.worklist import status_of


def test_w25_w26_a_claimed_case_waits_for_first_contact_though_its_trajectory_opened() -> None:
    # The claim opens the trajectory at once: intake says "in_trajectory" from then on.
    row = {"claimed_by": "ow-anouk"}
    waiting = "Opgepakt, wacht op het eerste contact met de school"
    assert status_of(row, {"status": "in_trajectory"}, contact_open=True) == waiting
    assert status_of(row, {"status": "claimed"}, contact_open=True) == waiting
    assert status_of(row, None, contact_open=True) == waiting


def test_w26_after_the_first_contact_the_trajectory_runs() -> None:
    row = {"claimed_by": "ow-anouk"}
    assert status_of(row, {"status": "in_trajectory"}, contact_open=False) == "Traject loopt"
    assert status_of({}, {"status": "submitted"}, contact_open=False) == (
        "Ingediend, wacht op een onderwijsondersteuner"
    )
