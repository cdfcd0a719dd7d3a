"""Rules tell the roles issue 6 lists, once per event (W10 W14 W18 W19 W21 W25 W26 W29 R)."""

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
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import ConsentConfirmed, ConsentMethod, ConsentRequested
from passend_contracts.events.trajectory import (
    EscalatedToTeamNO,
    EvaluationKind,
    EvaluationOutcome,
    EvaluationRecorded,
    EvaluationReminded,
    GoalResult,
    SignalRaised,
    SignalRecipient,
    SignalTopic,
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
        case_id=CASE,
        requested_by="ib-7",
        requested_at=NOW,
        parent_refs=["p-1", "p-2", "p-1"],
        method=ConsentMethod.PERSONAL_LINK,
    )
    assert told(asked) == {
        (RecipientRole.PARENTS, "p-1", "toestemming_gevraagd"),
        (RecipientRole.PARENTS, "p-2", "toestemming_gevraagd"),
    }


def test_w10_consent_asked_in_a_meeting_is_not_mailed() -> None:
    asked = ConsentRequested(
        case_id=CASE,
        requested_by="ib-7",
        requested_at=NOW,
        parent_refs=["p-1"],
        method=ConsentMethod.START_CONVERSATION,
    )
    assert told(asked) == set()


def test_w10_the_parent_who_consented_gets_the_link_to_withdraw() -> None:
    confirmed = ConsentConfirmed(
        case_id=CASE, confirmed_by="p-2", method=ConsentMethod.PERSONAL_LINK, confirmed_at=NOW
    )
    case = CaseFacts(parent_refs=("p-1", "p-2"))
    assert told(confirmed, case) == {(RecipientRole.PARENTS, "p-2", "toestemming_gegeven")}


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
        municipality="GM0606",
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


def test_w21_the_worker_is_reminded_of_a_due_evaluation() -> None:
    reminded = EvaluationReminded(
        case_id=CASE, kind=EvaluationKind.PLAN, due_on=NOW.date(), worker_id="w-1",
        reminded_at=NOW,
    )  # fmt: skip
    assert told(reminded) == {(RecipientRole.SUPPORT_WORKER, "w-1", "evaluatie_herinnering")}


def _signal(*to: SignalRecipient) -> SignalRaised:
    return SignalRaised(
        case_id=CASE,
        signal_id=uuid.uuid4(),
        addressed_to=list(to),
        about=SignalTopic.TEACHING_PRACTICE,
        description="De instructie is te kort voor deze leerling",
        raised_by="w-1",
        raised_at=NOW,
    )


def test_w18_w19_a_signal_reaches_the_teacher_and_the_ib_it_is_addressed_to() -> None:
    both = _signal(SignalRecipient.TEACHER, SignalRecipient.IB)
    assert told(both, CaseFacts(ib_id="ib-7")) == {
        (RecipientRole.IB, "ib-7", "signaal_ib"),
        (RecipientRole.TEACHER, f"teacher:{CASE}", "signaal_leerkracht"),
    }
    ib_only = _signal(SignalRecipient.IB)
    assert told(ib_only, CaseFacts(ib_id="ib-7")) == {(RecipientRole.IB, "ib-7", "signaal_ib")}
    teacher_only = _signal(SignalRecipient.TEACHER)
    assert told(teacher_only, CaseFacts(ib_id="ib-7")) == {
        (RecipientRole.TEACHER, f"teacher:{CASE}", "signaal_leerkracht")
    }


def test_w18_a_signal_for_the_teacher_reaches_the_teacher_the_request_named() -> None:
    teacher_only = _signal(SignalRecipient.TEACHER)
    assert told(teacher_only, CaseFacts(ib_id="ib-7", teacher_id="lk-sanne")) == {
        (RecipientRole.TEACHER, "lk-sanne", "signaal_leerkracht")
    }


def test_w19_a_signal_for_an_ib_not_learnt_yet_waits_in_the_case_mailbox() -> None:
    assert told(_signal(SignalRecipient.IB)) == {(RecipientRole.IB, f"ib:{CASE}", "signaal_ib")}


def test_every_recipient_rule_of_issue_6_is_in_the_table() -> None:
    """Each event type issue 6 names has a rule for each role it names."""
    wanted: set[tuple[type[EventPayload], RecipientRole]] = {
        (CaseClaimed, RecipientRole.IB),
        (ContactDeadlineApproaching, RecipientRole.IB),
        (ContactDeadlineMissed, RecipientRole.SUPPORT_WORKER),
        (ContactDeadlineMissed, RecipientRole.COORDINATOR),
        (SpecialistRequired, RecipientRole.EDUCATION_SPECIALIST),
        (ConsentRequested, RecipientRole.PARENTS),
        (ConsentConfirmed, RecipientRole.PARENTS),
        (SupportStarted, RecipientRole.PARENTS),
        (EvaluationRecorded, RecipientRole.PARENTS),
        (TrajectoryClosed, RecipientRole.PARENTS),
        (EscalatedToTeamNO, RecipientRole.TEAM_NO),
        (RouteCoachCalledIn, RecipientRole.ROUTE_COACH),
        (EvaluationReminded, RecipientRole.SUPPORT_WORKER),
        (SignalRaised, RecipientRole.IB),
        (SignalRaised, RecipientRole.TEACHER),
    }
    have = {(rule.event_type, rule.role) for rule in RULES}
    missing = {(cls.__name__, role) for cls, role in wanted if (cls.event_type, role) not in have}
    assert missing == set()


def test_events_without_a_rule_tell_nobody() -> None:
    assert recipients("nl.passend.intake.RequestSubmitted.v1", {"case_id": str(CASE)}) == []


facts = st.fixed_dictionaries(
    {},
    optional={
        "ib_id": st.sampled_from(["ib-1"]),
        "teacher_id": st.sampled_from(["lk-1"]),
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
