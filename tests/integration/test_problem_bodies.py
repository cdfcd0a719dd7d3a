"""Issue 24: error answers are problem details a person can read, and a large body is refused.

- No error answer documented in any service's OpenAPI (its description, and its schema
  with the schema's examples) names an internal event type
  (``nl.passend.intake.RequestSubmitted.v1``) or an event's class name. (Success answers
  may: a request's history lists its events by type.)
- Nor does any error answer the running services give: every operation of every service
  is called by callers without a token, without the role, out of reach and within it,
  with ids that exist and ids that don't and with an empty body; and the refusal the
  issue found naming an event type (W14: support on a complex case without the
  specialist's analysis) is provoked on purpose.
- A 10 MB body gets 413 from every service, sent with its length or in chunks, with a
  problem-details answer of a few hundred bytes (nothing of the body echoed).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest.mock import MagicMock
from uuid import uuid4

import httpx
import pytest

from passend_backbone.auth import Role
from passend_backbone.http_errors import MEDIA_TYPE, declare_problem_answers
from passend_contracts import registry
from passend_devstack.infra import Broker, Database
from passend_devstack.waiting import eventually
from tests.security.stack import (
    IB,
    SCHOOL,
    SERVICE_NAMES,
    SWV_A,
    UNIT,
    WORKER,
    Stack,
    auth_header,
    request_body,
    running_stack,
    seed_tenant,
    settings_for,
    spec_of,
)

pytestmark = pytest.mark.integration

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
TEN_MB = 10 * 1024 * 1024
SMALL = 1024  # bytes a 413 answer may take at most
EVENT_NAMES = sorted({t.rsplit(".", 2)[-2] for t in registry.EVENT_TYPES}, key=len, reverse=True)
# An event type, or an event's class name as a word of its own.
INTERNAL = re.compile(r"nl\.passend\.|\b(?:" + "|".join(EVENT_NAMES) + r")\b")


def named(text: str) -> list[str]:
    """The internal names in ``text``."""
    return sorted({m.group(0) for m in INTERNAL.finditer(text)})


def documents() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every service's OpenAPI document, as its app gives it (with the error answers the
    lifecycle declares on every service's routes)."""
    unused = MagicMock(bootstrap_servers="127.0.0.1:1", kind="tansu")
    settings = settings_for("postgresql://unused/unused", unused)
    for name in SERVICE_NAMES:
        app = spec_of(name, settings).create_app(MagicMock())  # routes only keep ctx
        declare_problem_answers(app)
        yield name, app.openapi()


def _resolved(document: dict[str, Any], node: Any, seen: frozenset[str] = frozenset()) -> Any:
    """``node`` with its ``$ref``s to the document's schemas filled in."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[-1]
            if name in seen:
                return {}
            target = document["components"]["schemas"][name]
            return _resolved(document, target, seen | {name})
        return {k: _resolved(document, v, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolved(document, v, seen) for v in node]
    return node


def test_no_documented_error_answer_names_an_event_type() -> None:
    found: list[str] = []
    checked = 0
    for service, document in documents():
        for path, item in document["paths"].items():
            for method, op in item.items():
                if method not in HTTP_METHODS:
                    continue
                for status, response in op.get("responses", {}).items():
                    if not status.isdigit() or int(status) < 400:
                        continue
                    checked += 1
                    text = json.dumps(_resolved(document, response))
                    if named(text):
                        found.append(f"{service} {method.upper()} {path} {status}: {named(text)}")
    assert checked > 100, checked  # every service declares its error answers
    assert not found, "\n".join(found)


def test_every_documented_error_answer_is_problem_details_and_names_no_event_type() -> None:
    """Each error answer in the documents, and each example any of them gives, is
    ``application/problem+json`` with the problem-details schema, and its examples name
    no event type."""
    wrong: list[str] = []
    for service, document in documents():
        for path, item in document["paths"].items():
            for method, op in item.items():
                if method not in HTTP_METHODS:
                    continue
                for status, response in op.get("responses", {}).items():
                    if not status.isdigit() or int(status) < 400:
                        continue
                    where = f"{service} {method.upper()} {path} {status}"
                    content = response.get("content", {})
                    if list(content) != [MEDIA_TYPE]:
                        wrong.append(f"{where}: {list(content)}")
                        continue
                    schema = content[MEDIA_TYPE].get("schema", {})
                    if schema != {"$ref": "#/components/schemas/Problem"}:
                        wrong.append(f"{where}: {schema}")
                    examples = [content[MEDIA_TYPE].get("example")] + [
                        e.get("value") for e in content[MEDIA_TYPE].get("examples", {}).values()
                    ]
                    for example in filter(None, examples):
                        if named(json.dumps(example)):
                            wrong.append(f"{where}: example names {named(json.dumps(example))}")
        components = document.get("components", {})
        for kind in ("examples", "responses"):
            text = json.dumps(_resolved(document, components.get(kind, {})))
            if named(text):
                wrong.append(f"{service} components.{kind}: {named(text)}")
        problem = json.dumps(components["schemas"]["Problem"])
        assert not named(problem), problem
    assert not wrong, "\n".join(wrong)


def test_the_check_finds_an_event_type_and_an_event_name() -> None:
    assert named("the case is marked complex (nl.passend.intake.RequestSubmitted.v1)")
    assert named("this document also changes PersonRegistered") == ["PersonRegistered"]
    assert not named("the request was submitted on 2027-03-02; a person registered it")


# -- the running services -----------------------------------------------------------------------


@pytest.fixture(scope="module")
async def stack(database: Database, broker: Broker) -> AsyncIterator[Stack]:
    async with running_stack(database, broker, list(SERVICE_NAMES), lambda: datetime.now(UTC)) as s:
        await seed_tenant(s, SWV_A)
        yield s


def _problem(answer: httpx.Response, where: str) -> dict[str, Any]:
    assert answer.headers["content-type"].startswith(MEDIA_TYPE), where
    body: dict[str, Any] = answer.json()
    for member in ("type", "title", "status", "detail"):
        assert member in body, f"{where}: {body}"
    assert body["status"] == answer.status_code, where
    return body


async def test_a_10_mb_body_gets_413_with_a_small_answer_from_every_service(stack: Stack) -> None:
    huge = b'{"reason": "' + b"x" * TEN_MB + b'"}'
    headers = {
        **auth_header(Role.IB, SWV_A, subject=IB, school_id=SCHOOL),
        "Content-Type": "application/json",
        "Idempotency-Key": str(uuid4()),
    }

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(huge), 64 * 1024):
            yield huge[start : start + 64 * 1024]

    for name, document in documents():
        http = stack[name].http
        for path, how, content in _oversized(document, huge, chunks):
            where = f"{name} {path}, {how}"
            try:
                answer = await http.post(path, content=content, headers=headers)
            except httpx.WriteError:
                continue  # the service closed the connection mid-body after answering
            assert answer.status_code == 413, f"{where}: {answer.status_code} {answer.text[:200]}"
            assert len(answer.content) < SMALL, f"{where}: {len(answer.content)} bytes"
            body = _problem(answer, where)
            assert body["type"] == "urn:passend:problem:too-large", body


def _oversized(
    document: dict[str, Any], huge: bytes, chunks: Callable[[], AsyncIterator[bytes]]
) -> Iterator[tuple[str, str, Any]]:
    """(path, how, content): the body sent with its length to any path (the limit comes
    before routing), and in chunks to an operation that reads a body (one that reads none
    never sees it)."""
    yield f"/requests/{uuid4()}/withdrawal", "with its length", huge
    for template, item in document["paths"].items():
        post = item.get("post")
        if post and "requestBody" in post and not template.startswith("/audit/"):
            yield _path(template, str(uuid4())), "in chunks", chunks()
            return


def _callers(case_id: str) -> dict[str, dict[str, str]]:
    return {
        "nobody": {},
        "ib": auth_header(Role.IB, SWV_A, subject=IB, school_id=SCHOOL),
        "other school's ib": auth_header(Role.IB, SWV_A, subject="ib-9", school_id="sch-9"),
        "worker": auth_header(Role.SUPPORT_WORKER, SWV_A, subject=WORKER, work_unit_id=UNIT),
        "unknown worker": auth_header(
            Role.SUPPORT_WORKER, SWV_A, subject="w-unknown", work_unit_id=UNIT
        ),
        "teacher": auth_header(Role.TEACHER, SWV_A, subject="lk-1", school_id=SCHOOL),
        "coordinator": auth_header(Role.COORDINATOR, SWV_A, subject="co-2", work_unit_id="wu-2"),
        "operator": auth_header(Role.OPERATOR, SWV_A, subject="op-1"),
    }


def _path(template: str, case_id: str) -> str:
    """``template`` with its parameters filled: the case's id for a case, a word else."""
    return re.sub(
        r"\{([^}]+)\}",
        lambda m: case_id if m.group(1) == "case_id" else f"x-{m.group(1)}",
        template,
    )


async def test_no_error_answer_of_any_service_names_an_event_type(stack: Stack) -> None:
    case_id = stack.cases[SWV_A]
    found: list[str] = []
    errors = 0
    for name, document in documents():
        http = stack[name].http
        for template, item in document["paths"].items():
            if template.startswith(("/audit/", "/health", "/metrics")):
                continue
            for method in (m for m in item if m in HTTP_METHODS):
                for case in (case_id, str(uuid4())):
                    path = _path(template, case)
                    for caller, headers in _callers(case).items():
                        answer = await http.request(
                            method.upper(),
                            path,
                            json={} if method != "get" else None,
                            headers=headers,
                        )
                        if answer.status_code < 400:
                            continue
                        errors += 1
                        where = f"{name} {method.upper()} {path} as {caller}"
                        assert answer.status_code < 500, f"{where}: {answer.text}"
                        _problem(answer, where)
                        if named(answer.text):
                            found.append(f"{where}: {answer.text[:300]}")
    assert errors > 200, errors
    assert not found, "\n".join(found)


async def test_w14_the_refusal_of_support_says_in_words_what_made_the_case_complex(
    stack: Stack,
) -> None:
    """The refusal the issue found naming ``nl.passend.intake.RequestSubmitted.v1``."""
    ib = auth_header(Role.IB, SWV_A, subject=IB, school_id=SCHOOL)
    worker = auth_header(Role.SUPPORT_WORKER, SWV_A, subject=WORKER, work_unit_id=UNIT)
    body = {**request_body(f"p-{uuid4().hex[:8]}"), "multiple_problems": True}
    created = await stack["intake"].http.post(
        "/requests", json=body, headers={**ib, "Idempotency-Key": str(uuid4())}
    )
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]

    async def routed() -> bool:
        return (await stack["assignment"].http.get(f"/cases/{case_id}", headers=worker)).is_success

    await eventually(routed, timeout=60, what="routed")
    claim = await stack["assignment"].http.post(f"/cases/{case_id}/claim", headers=worker)
    assert claim.status_code == 200, claim.text
    trajectory = stack["trajectory"].http

    async def complex_case() -> bool:
        answer = await trajectory.get(f"/cases/{case_id}/trajectory", headers=worker)
        return answer.is_success and answer.json()["complex"]

    await eventually(complex_case, timeout=60, what="trajectory opened, the case complex")
    today = date.today()
    target = (today + timedelta(weeks=8)).isoformat()
    steps: list[tuple[str, dict[str, Any] | None]] = [
        (
            "start-conversation",
            {
                "participants": [WORKER, IB],
                "sharpened_question": "Wat helpt deze leerling verder?",
                "levels": ["pupil", "teacher"],
                "held_on": today.isoformat(),
            },
        ),
        (
            "plans",
            {
                "goals": [
                    {
                        "goal_id": "rust",
                        "description": "Start rustig",
                        "measure": "observatie",
                        "target_date": target,
                    }
                ],
                "supported": ["teacher"],
                "form": "begeleiding van de leerkracht",
                "school_participants": [IB],
                "duration_weeks": 8,
                "frequency": "wekelijks",
                "parents_informed": "door de leerkracht",
                "evaluation_method": "evaluatiegesprek",
                "evaluation_dates": [target],
                "securing": "in het groepsplan",
            },
        ),
    ]
    for step, payload in steps:
        answer = await trajectory.post(f"/cases/{case_id}/{step}", json=payload, headers=worker)
        assert answer.status_code == 200, f"{step}: {answer.text}"
    refused = await trajectory.post(f"/cases/{case_id}/support/start", headers=worker)
    assert refused.status_code == 409, refused.text
    problem = _problem(refused, "support/start")
    assert problem["rule"] == "W14", problem
    assert "multiple problems" in problem["detail"], problem
    assert not named(refused.text), refused.text
