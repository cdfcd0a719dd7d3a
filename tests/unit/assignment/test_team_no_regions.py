"""TNO: Team NO regions are configuration of the SWV in its directory: the municipalities each
covers (CBS codes that exist) and its members; only changes become events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from passend_assignment.directory_file import DEV_FILE, load_directory_file
from passend_assignment.domain.directory import DirectoryState, fold
from passend_assignment.domain.directory_commands import DIRECTORY_DECIDER, ConfigureDirectory
from passend_assignment.domain.directory_doc import SwvDoc
from passend_backbone.commands import Refusal, RefusalKind
from passend_contracts.events.assignment import TeamNoRegionConfigured
from passend_contracts.events.base import EventPayload

from .factories import NOW

WENDY = {
    "person_id": "tno-w",
    "display_name": "Wendy",
    "roles": ["team_no_member"],
    "region": "waterweg",
}
WATERWEG = {
    "region": "waterweg",
    "name": "Nieuwe Waterweg",
    "municipalities": ["GM0622", "GM0606", "GM0556"],
    "members": ["tno-w"],
}


def doc(*regions: dict[str, Any], people: list[dict[str, Any]] | None = None) -> SwvDoc:
    return SwvDoc.model_validate(
        {
            "swv_id": "swv-test",
            "name": "Test",
            "schools": [{"school_id": "sch-1", "name": "School 1", "municipality": "GM0622"}],
            "people": [WENDY] if people is None else people,
            "team_no_regions": list(regions),
        }
    )


def decided(state: DirectoryState, document: SwvDoc) -> list[EventPayload]:
    out = DIRECTORY_DECIDER.decide(state, ConfigureDirectory(document), NOW)
    assert not isinstance(out, Refusal)
    return list(out)


def refusal(state: DirectoryState, document: SwvDoc) -> Refusal:
    with pytest.raises(Refusal) as refused:
        DIRECTORY_DECIDER.decide(state, ConfigureDirectory(document), NOW)
    return refused.value


def regions_of(events: list[EventPayload]) -> list[TeamNoRegionConfigured]:
    return [e for e in events if isinstance(e, TeamNoRegionConfigured)]


def test_tno_a_region_becomes_an_event_once_and_again_when_it_changes() -> None:
    first = decided(DirectoryState(), doc(WATERWEG))
    [region] = regions_of(first)
    assert region.municipalities == ["GM0556", "GM0606", "GM0622"]
    assert (region.name, region.members) == ("Nieuwe Waterweg", ["tno-w"])
    state = fold(first)
    assert decided(state, doc(WATERWEG)) == []  # the same document appends nothing
    wider = {**WATERWEG, "municipalities": [*WATERWEG["municipalities"], "GM0599"]}
    [changed] = regions_of(decided(state, doc(wider)))
    assert "GM0599" in changed.municipalities


@pytest.mark.parametrize("code", ["Vlaardingen", "GM9999", "GM0614"])
def test_tno_a_region_covers_only_municipalities_that_exist_by_cbs_code(code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        doc({**WATERWEG, "municipalities": [code]})
    assert "CBS Gemeentelijke indeling" in str(refused.value)


def test_tno_a_school_is_in_a_municipality_that_exists_by_cbs_code() -> None:
    with pytest.raises(ValidationError) as refused:
        SwvDoc.model_validate(
            {
                "swv_id": "swv-test",
                "name": "Test",
                "schools": [{"school_id": "s", "name": "S", "municipality": "Schiedam"}],
            }
        )
    assert "CBS Gemeentelijke indeling" in str(refused.value)


def test_tno_a_municipality_is_in_one_region_of_the_swv() -> None:
    other = {"region": "rijnmond", "name": "Rijnmond", "municipalities": ["GM0622"]}
    with pytest.raises(
        (ValidationError, Refusal), match="GM0622 is in region waterweg and in region"
    ):
        doc(WATERWEG, other)
    # Also against a region configured before and left out of this document.
    state = fold(decided(DirectoryState(), doc(WATERWEG)))
    refused = refusal(state, doc(other))
    assert (refused.kind, refused.rule, refused.field) == (
        RefusalKind.INVALID,
        "TNO",
        "team_no_regions",
    )
    assert "a municipality has one Team NO" in refused.message


def test_tno_members_are_team_no_members_of_that_region() -> None:
    stranger = {**WATERWEG, "members": ["tno-w", "ib-1"]}
    ib = {"person_id": "ib-1", "display_name": "Ilse", "roles": ["ib"], "school_id": "sch-1"}
    refused = refusal(DirectoryState(), doc(stranger, people=[WENDY, ib]))
    assert (refused.rule, refused.field) == ("TNO", "team_no_regions")
    assert "ib-1 is not an active person with the team_no_member role" in refused.message
    elsewhere = {**WENDY, "region": "rijnmond"}
    refused = refusal(DirectoryState(), doc(WATERWEG, people=[elsewhere]))
    assert "member tno-w is in region rijnmond" in refused.message


def test_tno_once_the_swv_has_regions_every_team_no_member_belongs_to_one() -> None:
    lost = {**WENDY, "person_id": "tno-x", "region": "nergens"}
    refused = refusal(DirectoryState(), doc(WATERWEG, people=[WENDY, lost]))
    assert (refused.rule, refused.field) == ("TNO", "people")
    assert "tno-x: region nergens is not a Team NO region" in refused.message


def test_tno_the_dev_directory_configures_region_waterweg_with_its_members() -> None:
    [dev] = load_directory_file(DEV_FILE)
    events = DIRECTORY_DECIDER.decide(DirectoryState(), ConfigureDirectory(dev), NOW)
    assert not isinstance(events, Refusal)
    [waterweg] = regions_of(list(events))
    assert waterweg.municipalities == ["GM0556", "GM0606", "GM0622"]
    assert waterweg.members == ["tno-ruud", "tno-waterweg"]
    later = NOW + timedelta(days=1)
    assert DIRECTORY_DECIDER.decide(fold(events), ConfigureDirectory(dev), later) == []
