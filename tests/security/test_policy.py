"""The reach rule: each role sees exactly its own cases, and never another tenant's (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passend_backbone.auth import CaseFacts, Principal, Role, sees_case

CASE = CaseFacts(
    swv="swv-a",
    school_id="sch-1",
    pupil_ref="p-1",
    work_unit_ids=frozenset({"wu-1"}),
    workers=frozenset({"w-1"}),
    escalated_region="r-1",
    route_coaches=frozenset({"rc-1"}),
)

WITHIN = [
    Principal("ib-1", Role.IB, "swv-a", school_id="sch-1"),
    Principal("t-1", Role.TEACHER, "swv-a", school_id="sch-1", pupil_refs=("p-1",)),
    Principal("w-3", Role.SUPPORT_WORKER, "swv-a", work_unit_id="wu-1"),
    Principal("w-1", Role.SUPPORT_WORKER, "swv-a", work_unit_id="wu-9"),  # addressed to them
    Principal("co-1", Role.COORDINATOR, "swv-a", work_unit_id="wu-1"),
    Principal("os-1", Role.EDUCATION_SPECIALIST, "swv-a"),
    Principal("tn-1", Role.TEAM_NO_MEMBER, "swv-a", region="r-1"),
    Principal("rc-1", Role.ROUTE_COACH, "swv-a"),
    Principal("aud-1", Role.AUDITOR, "swv-a"),
    Principal("svc", Role.SERVICE, "swv-a"),
]
OUT_OF_REACH = [
    Principal("ib-1", Role.IB, "swv-a", school_id="sch-2"),
    Principal("ib-1", Role.IB, "swv-a"),  # no school in the token
    Principal("t-1", Role.TEACHER, "swv-a", school_id="sch-1", pupil_refs=("p-2",)),
    Principal("t-1", Role.TEACHER, "swv-a", school_id="sch-2", pupil_refs=("p-1",)),
    Principal("w-9", Role.SUPPORT_WORKER, "swv-a", work_unit_id="wu-2"),
    Principal("co-2", Role.COORDINATOR, "swv-a", work_unit_id="wu-2"),
    Principal("tn-2", Role.TEAM_NO_MEMBER, "swv-a", region="r-2"),
    Principal("rc-9", Role.ROUTE_COACH, "swv-a"),
    Principal("op-1", Role.OPERATOR, "swv-a"),
]


@pytest.mark.parametrize("principal", WITHIN, ids=lambda p: f"{p.role.value}-{p.subject}")
def test_a_role_sees_the_cases_within_its_reach(principal: Principal) -> None:
    assert sees_case(principal, CASE)


@pytest.mark.parametrize("principal", OUT_OF_REACH, ids=lambda p: f"{p.role.value}-{p.subject}")
def test_a_role_does_not_see_cases_out_of_its_reach(principal: Principal) -> None:
    assert not sees_case(principal, CASE)


@given(st.sampled_from(WITHIN), st.text(min_size=1).filter(lambda s: s != "swv-a"))
def test_no_claim_reaches_into_another_tenant(principal: Principal, other: str) -> None:
    assert not sees_case(principal, CaseFacts(**{**CASE.__dict__, "swv": other}))


def test_an_unknown_fact_grants_nothing() -> None:
    bare = CaseFacts(swv="swv-a")
    seeing = {p.role for p in WITHIN if sees_case(p, bare)}
    assert seeing == {Role.EDUCATION_SPECIALIST, Role.AUDITOR, Role.SERVICE}
