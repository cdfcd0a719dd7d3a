"""Team NO (R): reasons and draft plan to the region, one at a time; the decision continues."""

from __future__ import annotations

from uuid import uuid4

import pytest

from passend_contracts.events.trajectory import StagnationReason, TeamNODecisionRecorded
from passend_trajectory.domain.refusals import RuleViolation
from passend_trajectory.domain.team_no import (
    Escalate,
    RecordTeamNODecision,
    escalate,
    record_decision,
    region_of,
)
from tests.unit.trajectory.builders import Trajectory, act, running

DECISION = RecordTeamNODecision(
    decision="Bridging care at school until a place is free",
    assignment="Wijkteam arranges bridging care within two weeks",
    provider="Provider X",
)


def escalate_cmd(municipality: str = "GM0606") -> Escalate:
    return Escalate(
        escalation_id=uuid4(),
        municipality=municipality,
        reasons=[StagnationReason.BUDGET_DISPUTE, StagnationReason.NO_AGREEMENT],
        draft_plan="Draft plan of the support team",
    )


def test_r_maassluis_vlaardingen_schiedam_share_one_team_no() -> None:
    assert {region_of(m) for m in ("GM0556", "GM0622", "GM0606")} == {"waterweg"}
    assert region_of("GM0363") == "GM0363"


def test_r_escalation_carries_reasons_draft_plan_and_region() -> None:
    t = running()
    cmd = escalate_cmd()
    [escalated] = t.run(lambda s: escalate(s, cmd, act()))
    assert escalated.reasons == ["budget_dispute", "no_agreement"]  # type: ignore[attr-defined]
    assert escalated.region == "waterweg"  # type: ignore[attr-defined]
    assert escalated.draft_plan == "Draft plan of the support team"  # type: ignore[attr-defined]


def test_r_one_escalation_at_a_time() -> None:
    t = running()
    t.run(lambda s: escalate(s, escalate_cmd(), act()))
    with pytest.raises(RuleViolation, match="awaits the Team NO decision since") as refused:
        escalate(t.state, escalate_cmd(), act())
    assert refused.value.rule == "R"


def test_r_decision_needs_an_escalation_and_then_the_case_continues() -> None:
    t = running()
    with pytest.raises(RuleViolation, match="not escalated"):
        record_decision(t.state, DECISION, act("team-no-1"))
    cmd = escalate_cmd()
    t.run(lambda s: escalate(s, cmd, act()))
    [decided] = t.run(lambda s: record_decision(s, DECISION, act("team-no-1")), "team-no-1")
    assert isinstance(decided, TeamNODecisionRecorded)
    assert decided.escalation_id == cmd.escalation_id
    assert t.state.open_escalation is None
    assert t.state.status == "in_support"
    t.run(lambda s: escalate(s, escalate_cmd(), act()))  # stagnating again is possible
    assert len(t.state.escalations) == 2


def test_r_no_escalation_before_a_trajectory() -> None:
    with pytest.raises(Exception, match="claims the case"):
        escalate(Trajectory().state, escalate_cmd(), act())
