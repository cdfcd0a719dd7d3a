"""Every role against every endpoint of every service: within reach, out of it, another tenant."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from passend_backbone.auth import Role
from passend_backbone.auth.policy import WHOLE_SWV
from passend_devstack.infra import Broker, Database
from tests.security.matrix import MATRIX, Kind, Rule, from_schema, rules_of
from tests.security.stack import (
    COACH,
    COLLEAGUE,
    IB,
    OTHER_REGION,
    OTHER_SCHOOL,
    OTHER_UNIT,
    PARENT,
    REGION,
    SCHOOL,
    STRANGER,
    SWV_A,
    SWV_B,
    UNIT,
    WORKER,
    Stack,
    auth_header,
    running_stack,
    seed_tenant,
)

pytestmark = pytest.mark.integration

SERVICES = list(MATRIX)


@dataclass(frozen=True)
class Caller:
    role: Role
    scope: str  # "own" (within reach), "out" (own SWV, out of reach), "foreign" (other SWV)
    claims: dict[str, Any]
    swv: str

    def headers(self) -> dict[str, str]:
        return auth_header(self.role, self.swv, **self.claims)


def _claims(role: Role, pupil_ref: str, *, reach: bool) -> dict[str, Any]:
    """Claims that put the seeded case within (or out of) the role's reach."""
    match role:
        case Role.IB:
            return {"subject": IB, "school_id": SCHOOL if reach else OTHER_SCHOOL}
        case Role.TEACHER:
            return {
                "subject": "t-1",
                "school_id": SCHOOL,
                "pupil_refs": (pupil_ref,) if reach else ("p-someone-else",),
            }
        case Role.SUPPORT_WORKER:
            if reach:
                return {"subject": COLLEAGUE, "work_unit_id": UNIT}
            return {"subject": STRANGER, "work_unit_id": OTHER_UNIT}
        case Role.COORDINATOR:
            return {"subject": "co-1", "work_unit_id": UNIT if reach else OTHER_UNIT}
        case Role.TEAM_NO_MEMBER:
            return {"subject": "tn-1", "region": REGION if reach else OTHER_REGION}
        case Role.ROUTE_COACH:
            return {"subject": COACH if reach else "rc-9"}
        case _:
            return {"subject": f"{role.value}-1"}


def callers(stack: Stack) -> list[Caller]:
    out = []
    for role in Role:
        own = _claims(role, stack.pupil_refs[SWV_A], reach=True)
        out.append(Caller(role, "own", own, SWV_A))
        # The same claims in another SWV: ids repeat across tenants on purpose.
        out.append(Caller(role, "foreign", own, SWV_B))
        if role not in WHOLE_SWV and role is not Role.OPERATOR:
            out.append(Caller(role, "out", _claims(role, "", reach=False), SWV_A))
    return out


@pytest.fixture(scope="module")
async def stack(database: Database, broker: Broker) -> AsyncIterator[Stack]:
    async with running_stack(database, broker, SERVICES, lambda: datetime.now(UTC)) as s:
        await seed_tenant(s, SWV_A)
        await seed_tenant(s, SWV_B)
        yield s


def operations(openapi: dict[str, Any]) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in openapi["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


def url_of(template: str, case_id: str) -> str:
    return template.format(
        case_id=case_id,
        school_id=SCHOOL,
        worker_id=WORKER,
        work_unit_id=UNIT,
        region=REGION,
        recipient_id=IB,
        name="zaak_geclaimd",  # a template that exists
        token=secrets.token_urlsafe(32),
        signal_id=uuid4(),
        message_id=uuid4(),
        subscription_id=uuid4(),
        person_id=WORKER,
        parent_ref=PARENT,
    )


def bodies(openapi: dict[str, Any], rules: dict[str, Rule]) -> dict[str, Rule]:
    """The rules with a body made from the schema where the rule asks for one."""
    return {
        op: replace(rule, body=from_schema(openapi, op)) if rule.synthetic else rule
        for op, rule in rules.items()
    }


def domain_rule(text: str) -> bool:
    """Whether a refusal names a working agreement (W1-W29, R, TNO): a rule about this case."""
    try:
        problem = json.loads(text)
    except ValueError:
        return False
    rule = problem.get("rule") if isinstance(problem, dict) else None
    return isinstance(rule, str) and re.fullmatch(r"W\d+|R|TNO", rule) is not None


def judge(rule: Rule, caller: Caller, status: int, text: str, case_a: str) -> str | None:
    """Why this answer breaks the policy, or None when it keeps to it."""
    if status >= 500:
        return f"server error {status}"
    if status == 401:
        return "401 with a valid token"
    if status == 422 and rule.synthetic:
        return None  # validation answered before anyone's role was looked at
    if caller.role not in rule.roles:
        return None if status == 403 else f"{status}, expected 403 (role may never)"
    if caller.scope == "own":
        # Within reach the role is allowed; a domain rule may still refuse this case.
        if status == 404 and rule.missing is not None and rule.missing in text:
            return None  # the case is seen; the named sub-resource doesn't exist
        if status == 404 or (status == 403 and not domain_rule(text)):
            return f"{status} within reach"
        return None
    if rule.kind is Kind.CASE:
        # The answer of an unknown case, whatever it echoes of the request.
        return None if status == 404 else f"{status}, expected 404 (as if it did not exist)"
    if case_a in text:
        return "another tenant's or out-of-reach case in the answer"
    return None


@pytest.mark.parametrize("service", SERVICES)
async def test_every_endpoint_has_a_policy(stack: Stack, service: str) -> None:
    openapi = (await stack[service].http.get("/openapi.json")).json()
    found = operations(openapi)
    assert found == set(rules_of(service, found)), (
        "add the new endpoint to tests/security/matrix.py with the roles that may call it"
    )


@pytest.mark.parametrize("service", SERVICES)
async def test_no_endpoint_answers_without_a_token(stack: Stack, service: str) -> None:
    wrong = []
    openapi = (await stack[service].http.get("/openapi.json")).json()
    rules = rules_of(service, operations(openapi))
    for operation, rule in bodies(openapi, rules).items():
        method, template = operation.split(" ", 1)
        body = rule.body(SWV_A) if rule.body else None
        answer = await stack[service].http.request(
            method, url_of(template, stack.cases[SWV_A]), json=body
        )
        if rule.kind is Kind.PUBLIC:
            if answer.status_code in (401, 403) or answer.status_code >= 500:
                wrong.append(f"{operation}: public but {answer.status_code}")
        elif answer.status_code != 401:
            wrong.append(f"{operation}: {answer.status_code} without a token")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("service", SERVICES)
async def test_each_role_in_its_reach_out_of_it_and_in_another_tenant(
    stack: Stack, service: str
) -> None:
    case_a = stack.cases[SWV_A]
    wrong = []
    calls = 0
    openapi = (await stack[service].http.get("/openapi.json")).json()
    rules = rules_of(service, operations(openapi))
    for operation, rule in bodies(openapi, rules).items():
        if rule.kind is Kind.PUBLIC:
            continue
        method, template = operation.split(" ", 1)
        for caller in callers(stack):
            headers = caller.headers()
            for name in rule.headers:
                headers[name] = str(uuid4())
            body = rule.body(caller.swv) if rule.body else None
            answer = await stack[service].http.request(
                method, url_of(template, case_a), json=body, headers=headers
            )
            calls += 1
            problem = judge(rule, caller, answer.status_code, answer.text, case_a)
            if problem:
                wrong.append(
                    f"{operation} as {caller.role.value} ({caller.scope}): {problem}: "
                    f"{answer.text[:160]}"
                )
    assert calls > 0 or all(r.kind is Kind.PUBLIC for r in rules.values())
    report = f"{len(wrong)} of {calls} answers break the policy:\n" + "\n".join(wrong)
    assert not wrong, report
