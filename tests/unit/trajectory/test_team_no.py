"""Team NO (TNO): reasons and draft plan to the region the SWV configured for the pupil's
municipality (a CBS code that exists), one at a time; the decision continues; only a member
of the region's Team NO decides."""

from __future__ import annotations

from uuid import uuid4

import pytest
from pydantic import ValidationError

from passend_backbone.commands import RefusalKind
from passend_contracts.events.trajectory import StagnationReason, TeamNODecisionRecorded
from passend_trajectory.domain.team_no import (
    Escalate,
    RecordTeamNODecision,
    decides_in_region,
    escalate,
    record_decision,
)
from tests.unit.trajectory.builders import (
    Trajectory,
    act,
    conflict,
    invalid,
    not_found,
    running,
)

DECISION = RecordTeamNODecision(
    decision="Bridging care at school until a place is free",
    assignment="Wijkteam arranges bridging care within two weeks",
    provider="Provider X",
)


def escalate_cmd(municipality: str = "GM0606", region: str | None = "waterweg") -> Escalate:
    """An escalation as the service routes it: the region is the one the SWV's directory
    configured for the municipality (``passend_trajectory.team_no_regions``)."""
    return Escalate(
        escalation_id=uuid4(),
        municipality=municipality,
        reasons=[StagnationReason.BUDGET_DISPUTE, StagnationReason.NO_AGREEMENT],
        draft_plan="Draft plan of the support team",
        region=region,
    )


@pytest.mark.parametrize("municipality", ["Vlaardingen", "GM9999", "GM0614", "gm0622", ""])
def test_tno_an_escalation_names_a_municipality_that_exists_by_its_cbs_code(
    municipality: str,
) -> None:
    """Free text, an unknown code and one that ended (Westvoorne, 2023) are refused, and the
    refusal names the list the codes come from."""
    with pytest.raises(ValidationError) as refused:
        escalate_cmd(municipality)
    assert "CBS Gemeentelijke indeling" in str(refused.value)


def test_tno_an_escalation_no_region_covers_is_refused_not_sent_to_nobody() -> None:
    t = running()
    with invalid(r"no Team NO region of this SWV covers GM0363 \(Amsterdam\)") as refused:
        escalate(t.state, escalate_cmd("GM0363", region=None), act())
    assert (refused.value.rule, refused.value.field) == ("TNO", "municipality")
    assert t.state.open_escalation is None


def test_tno_escalation_carries_reasons_draft_plan_and_region() -> None:
    t = running()
    cmd = escalate_cmd()
    [escalated] = t.run(cmd)
    assert escalated.reasons == ["budget_dispute", "no_agreement"]  # type: ignore[attr-defined]
    assert escalated.region == "waterweg"  # type: ignore[attr-defined]
    assert escalated.draft_plan == "Draft plan of the support team"  # type: ignore[attr-defined]


def test_tno_one_escalation_at_a_time() -> None:
    t = running()
    t.run(escalate_cmd())
    with conflict("awaits the Team NO decision since") as refused:
        escalate(t.state, escalate_cmd(), act())
    assert refused.value.rule == "TNO"


def test_tno_decision_needs_an_escalation_and_then_the_case_continues() -> None:
    t = running()
    with conflict("not escalated") as refused:
        record_decision(t.state, DECISION, act("team-no-1"))
    assert refused.value.rule == "TNO"
    cmd = escalate_cmd()
    t.run(cmd)
    [decided] = t.run(DECISION, "team-no-1")
    assert isinstance(decided, TeamNODecisionRecorded)
    assert decided.escalation_id == cmd.escalation_id
    assert t.state.open_escalation is None
    assert t.state.status == "in_support"
    t.run(escalate_cmd())  # stagnating again is possible
    assert len(t.state.escalations) == 2


def test_tno_no_escalation_before_a_trajectory() -> None:
    with not_found("claims the case"):
        escalate(Trajectory().state, escalate_cmd(), act())


def test_tno_only_a_member_of_the_escalations_region_decides() -> None:
    t = running()
    assert decides_in_region(t.state, "GM0363") is None  # nothing pending: nothing to refuse
    t.run(escalate_cmd("GM0622"))  # Vlaardingen: in region waterweg
    assert decides_in_region(t.state, "waterweg") is None
    refused = decides_in_region(t.state, "GM0363")
    assert refused is not None
    assert (refused.kind, refused.rule) == (RefusalKind.FORBIDDEN, "TNO")
    assert "agenda of Team NO waterweg" in refused.message
