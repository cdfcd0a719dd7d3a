"""Fuzzing every operation of every service's OpenAPI: no server error, no other tenant's data."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from passend_backbone.auth import Role
from passend_devstack.infra import Broker, Database
from tests.security.stack import (
    IB,
    SCHOOL,
    SWV_A,
    SWV_B,
    UNIT,
    WORKER,
    Stack,
    auth_header,
    running_stack,
    seed_tenant,
)

pytestmark = [
    pytest.mark.integration,
    # schemathesis' own strategies use ``random``; not this suite's concern.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

SERVICES = ["intake", "assignment", "trajectory", "notifications", "gateway"]
# Bounded for CI: a few examples per operation and caller, the same ones every run.
EXAMPLES = 4

CALLERS = {
    "ib": lambda: auth_header(Role.IB, SWV_A, subject=IB, school_id=SCHOOL),
    "support_worker": lambda: auth_header(
        Role.SUPPORT_WORKER, SWV_A, subject=WORKER, work_unit_id=UNIT
    ),
    "education_specialist": lambda: auth_header(Role.EDUCATION_SPECIALIST, SWV_A, subject="os-1"),
    "operator": lambda: auth_header(Role.OPERATOR, SWV_A, subject="op-1"),
}


@pytest.fixture(scope="module")
async def stack(database: Database, broker: Broker) -> AsyncIterator[Stack]:
    async with running_stack(database, broker, SERVICES, lambda: datetime.now(UTC)) as s:
        await seed_tenant(s, SWV_A)
        await seed_tenant(s, SWV_B)
        yield s


def fuzz_one(
    strategy: Any,
    label: str,
    headers: Any,
    base_url: str,
    secrets_of_b: list[str],
    seen: Counter[int],
) -> list[str]:
    """Generated calls of one operation by one caller; the problems found."""
    problems: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers(), timeout=20)
        seen[response.status_code // 100] += 1
        asked = f"{case.formatted_path} {case.query} {case.body}"
        if response.status_code >= 500:
            problems.append(f"{label}: {response.status_code} {response.text[:200]}")
        for secret in secrets_of_b:
            if secret in response.text and secret not in asked:
                problems.append(f"{label}: tenant B's {secret!r} in the answer")

    check()
    return problems


def fuzz(
    schema: Any,
    base_url: str,
    secrets_of_b: list[str],
    known: dict[str, str],
    seen: Counter[int],
) -> list[str]:
    """Every operation with generated input, as each caller, with free and known path ids."""
    problems: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        fixed = [None] + ([{n: known[n] for n in names if n in known}] if names else [])
        for caller, headers in CALLERS.items():
            for path_parameters in fixed:
                strategy = operation.as_strategy(path_parameters=path_parameters)
                label = f"{operation.label} as {caller}"
                problems += fuzz_one(strategy, label, headers, base_url, secrets_of_b, seen)
    return problems


async def test_fuzzing_finds_no_server_error_and_no_leak(stack: Stack) -> None:
    secrets_of_b = [stack.cases[SWV_B], stack.pupil_refs[SWV_B], SWV_B]
    known = {
        "case_id": stack.cases[SWV_A],
        "school_id": SCHOOL,
        "worker_id": WORKER,
        "work_unit_id": UNIT,
    }
    problems: list[str] = []
    seen: Counter[int] = Counter()
    for name in SERVICES:
        service = stack[name]
        schema = schemathesis.openapi.from_dict((await service.http.get("/openapi.json")).json())
        # The services answer from this event loop: fuzz from a thread.
        problems += await asyncio.to_thread(fuzz, schema, service.url, secrets_of_b, known, seen)
    # It reached the services' code, not only their validation.
    assert seen[2] > 20 and seen[4] > 20, seen
    assert problems == [], "\n".join(dict.fromkeys(problems))
