"""The rule table tells the roles issue 6 lists, each once per event (W10 W14 W21 W25 W26 W29 R)."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from passend_contracts.events.assignment import (
    CaseClaimed,
    ContactDeadlineApproaching,
    ContactDeadlineMissed,
    RouteCoachCalledIn,
    SpecialistRequired,
)
from passend_contracts.events.intake import ConsentRequested
from passend_contracts.events.trajectory import (
    EscalatedToTeamNO,
    EvaluationOutcome,
    EvaluationRecorded,
    GoalResult,
    StagnationReason,
    SupportStarted,
    TrajectoryClosed,
)
from passend_contracts.registry import EVENT_TYPES
from passend_notifications.domain.rules import (
    NOTHING_KNOWN,
    RULES,
    CaseFacts,
    RecipientRole,
    learn,
    recipients,
)
from passend_notifications.domain.templates import DEFAULTS

from .factories import NOW

CASE = uuid.UUID("3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13")


def told(payload, case: CaseFacts = NOTHING_KNOWN) -> set[tuple[str, str, str]]:
    data = payload.model_dump(mode="json")
    return {
        (a.role, a.recipient_id, a.template) for a in recipients(payload.event_type, data, case)
    }


def test_every_rule_names_a_known_event_and_an_existing_template() -> None:
    for rule in RULES:
        assert rule.event_type in EVENT_TYPES, rule
        assert rule.template in DEFAULTS, rule
        assert rule.tag, rule


def test_w26_ib_is_told_when_the_case_is_claimed() -> None:
    claimed = CaseClaimed(
        case_id=CASE, school_id="s-1", ib_id="ib-7", worker_id="w-1", claimed_at=NOW
    )
    assert told(claimed) == {(RecipientRole.IB, "ib-7", "zaak_geclaimd")}


def test_w26_first_contact_due_tells_the_ib_and_reminds_the_responsible_worker() -> None:
    due = ContactDeadlineApproaching(
        case_id=CASE, responsible_worker_id="w-1", due_at=NOW, raised_at=NOW
    )
    assert told(due, CaseFacts(ib_id="ib-7")) == {
        (RecipientRole.IB, "ib-7", "eerste_contact_nadert"),
        (RecipientRole.SUPPORT_WORKER, "w-1", "eerste_contact_herinnering"),
    }


def test_w25_lapsed_deadline_goes_to_receiving_worker_and_coordinator() -> None:
    missed = ContactDeadlineMissed(
        case_id=CASE, receiving_worker_id="w-1", coordinator_id="co-1", due_at=NOW, missed_at=NOW
    )
    assert told(missed) == {
        (RecipientRole.SUPPORT_WORKER, "w-1", "contacttermijn_verlopen"),
        (RecipientRole.COORDINATOR, "co-1", "contacttermijn_verlopen"),
    }


def test_w14_specialist_named_or_else_the_swv_mailbox() -> None:
    named = SpecialistRequired(
        case_id=CASE, swv_id="swv", specialist_id="sp-1", reason="x", required_at=NOW
    )
    unnamed = SpecialistRequired(case_id=CASE, swv_id="swv", reason="x", required_at=NOW)
    assert told(named) == {(RecipientRole.EDUCATION_SPECIALIST, "sp-1", "complexe_casus")}
    assert told(unnamed) == {
        (RecipientRole.EDUCATION_SPECIALIST, "education_specialist", "complexe_casus")
    }


def test_w10_each_parent_is_asked_for_consent_once() -> None:
    asked = ConsentRequested(
        case_id=CASE, requested_by="ib-7", requested_at=NOW, parent_refs=["p-1", "p-2", "p-1"]
    )
    assert told(asked) == {
        (RecipientRole.PARENTS, "p-1", "toestemming_gevraagd"),
        (RecipientRole.PARENTS, "p-2", "toestemming_gevraagd"),
    }


def test_r_parents_learnt_earlier_hear_start_evaluation_and_end() -> None:
    case = CaseFacts(parent_refs=("p-1",))
    started = SupportStarted(case_id=CASE, individual=True, started_by="w-1", started_at=NOW)
    evaluated = EvaluationRecorded(
        case_id=CASE,
        participants=["w-1"],
        goal_results=[GoalResult(goal_id="g", result="ok")],
        outcome=EvaluationOutcome.CONTINUE,
        evaluated_at=NOW,
    )
    closed = TrajectoryClosed(case_id=CASE, closed_by="w-1", closed_at=NOW)
    assert told(started, case) == {(RecipientRole.PARENTS, "p-1", "traject_gestart")}
    assert told(evaluated, case) == {(RecipientRole.PARENTS, "p-1", "traject_geevalueerd")}
    assert told(closed, case) == {(RecipientRole.PARENTS, "p-1", "traject_afgesloten")}


def test_r_unknown_parents_wait_in_the_case_mailbox_rather_than_being_skipped() -> None:
    started = SupportStarted(case_id=CASE, individual=True, started_by="w-1", started_at=NOW)
    assert told(started) == {(RecipientRole.PARENTS, f"parents:{CASE}", "traject_gestart")}


def test_r_escalation_goes_to_team_no_of_the_region() -> None:
    escalated = EscalatedToTeamNO(
        case_id=CASE,
        municipality="Schiedam",
        region="nww",
        reasons=[StagnationReason.WAITING_LIST],
        draft_plan="...",
        escalated_at=NOW,
    )
    assert told(escalated) == {(RecipientRole.TEAM_NO, "team_no:nww", "escalatie_team_no")}


def test_w29_route_coach_is_told_when_called_in() -> None:
    called = RouteCoachCalledIn(
        case_id=CASE, route_coach_id="rc-1", called_by="ib-7", side="school", reason="r",
        called_at=NOW,
    )  # fmt: skip
    assert told(called) == {(RecipientRole.ROUTE_COACH, "rc-1", "routebegeleider_ingeschakeld")}


def test_events_without_a_rule_tell_nobody() -> None:
    assert recipients("nl.passend.intake.RequestSubmitted.v1", {"case_id": str(CASE)}) == []


facts = st.fixed_dictionaries(
    {},
    optional={
        "ib_id": st.sampled_from(["ib-1"]),
        "parent_refs": st.lists(st.sampled_from(["p-1", "p-2", "p-3"]), max_size=3),
    },
)


@given(st.lists(facts, max_size=6), st.randoms())
def test_what_is_learnt_of_a_case_does_not_depend_on_event_order(datas, rnd) -> None:
    """Events of different topics arrive in any order; the case facts end the same."""
    shuffled = list(datas)
    rnd.shuffle(shuffled)
    one = two = NOTHING_KNOWN
    for data in datas:
        one = learn(one, data)
    for data in shuffled:
        two = learn(two, data)
    assert one == two
