"""Request endpoints: submission, validation writing nothing, idempotency, tenancy, reads."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import pytest

from passend_backbone.auth import Role
from passend_devstack.test_tokens import auth_header
from tests.integration.intake.kit import (
    BODY,
    SCHOOL,
    SWV,
    Intake,
    body,
    ib,
    on_the_bus,
    worker,
)

pytestmark = pytest.mark.integration


async def test_submitted_request_is_readable_with_pupil_history_and_in_the_school_list(
    service: Intake,
) -> None:
    data = body()
    answer = await service.http.post(
        "/requests", json=data, headers={**ib(), "Idempotency-Key": str(uuid4())}
    )
    assert answer.status_code == 201, answer.text
    case_id = answer.json()["case_id"]
    assert answer.headers["Location"] == f"/requests/{case_id}"

    detail = await service.visible(case_id)
    assert detail["status"] == "submitted"
    assert detail["ib_id"] == "ib-7731"
    assert detail["pupil"]["name"] == "Sam Jansen"
    assert detail["pupil"]["parents"][0]["email"] == "j.jansen@example.nl"
    assert detail["consent"]["status"] == "not_requested"
    assert [h["event_type"] for h in detail["history"]] == ["nl.passend.intake.RequestSubmitted.v1"]
    assert "encrypted_identity" not in detail["history"][0]["data"]

    listed = await service.http.get(f"/schools/{SCHOOL}/requests", headers=ib())
    assert listed.status_code == 200
    assert case_id in [r["case_id"] for r in listed.json()]
    assert await service.event_types(case_id) == ["RequestSubmitted"]


async def test_no_direct_identifier_is_stored_in_an_event(service: Intake) -> None:
    data = body()
    case_id = await service.submit(data)
    (event,) = await service.store.read_stream(case_id)
    text = str(event.data)
    # Issue 20: not even the school's own reference; intake's pseudonym names the pupil.
    school_ref = data["pupil_ref"]
    for secret in ("Sam Jansen", "2016-04-12", "j.jansen@example.nl", "0612345678", "J. Jansen"):
        assert secret not in text
    assert school_ref not in text and event.data["pupil_ref"].startswith("lln-")
    shown = await service.visible(case_id)
    assert (shown["pupil_ref"], shown["school_pupil_ref"]) == (event.data["pupil_ref"], school_ref)
    assert set(event.data["encrypted_identity"]) == {"ciphertext", "nonce", "key_id"}
    published, raw = await on_the_bus(
        service.broker, case_id, "nl.passend.intake.RequestSubmitted.v1"
    )
    assert published.data["pupil_ref"] == event.data["pupil_ref"]
    for secret in ("Sam Jansen", "2016-04-12", "j.jansen@example.nl", "0612345678", school_ref):
        assert secret.encode() not in raw


async def test_resubmission_with_the_same_key_returns_the_first_case(service: Intake) -> None:
    data, key = body(), str(uuid4())
    headers = {**ib(), "Idempotency-Key": key}
    first = await service.http.post("/requests", json=data, headers=headers)
    again = await service.http.post("/requests", json=data, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    streams = await service.pool.fetchval(
        "SELECT count(DISTINCT e.stream_id) FROM events e JOIN pupil_keys k "
        "ON k.pupil_ref = e.data->>'pupil_ref' WHERE k.school_ref = $1",
        data["pupil_ref"],
    )
    assert streams == 1

    other = await service.http.post(
        "/requests", json={**data, "why_stuck": "Something else"}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["field"] == "Idempotency-Key"


async def test_concurrent_retries_with_one_key_make_one_case(service: Intake) -> None:
    data, headers = body(), {**ib(), "Idempotency-Key": str(uuid4())}
    answers = await asyncio.gather(
        *(service.http.post("/requests", json=data, headers=headers) for _ in range(4))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["case_id"] for a in answers}) == 1


def _without(name: str) -> dict[str, Any]:
    data = body()
    del data[name]
    return data


def _pupil(**changes: Any) -> dict[str, Any]:
    data = body()
    data["pupil"] = {**BODY["pupil"], **changes}
    return data


def _parent(**changes: Any) -> dict[str, Any]:
    return _pupil(parents=[{**BODY["pupil"]["parents"][0], **changes}])


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("missing why_stuck", _without("why_stuck"), "why_stuck"),
    ("empty why_stuck", body(why_stuck=""), "why_stuck"),
    ("blank educational_need", body(educational_need="   "), "educational_need"),
    (
        "missing tried_in_basic_support",
        _without("tried_in_basic_support"),
        "tried_in_basic_support",
    ),
    ("too long educational_need", body(educational_need="x" * 4001), "educational_need"),
    ("missing worker", _without("addressed_worker_id"), "addressed_worker_id"),
    ("bad pupil_ref", body(pupil_ref="pupil 1"), "pupil_ref"),
    ("unknown level", body(levels=["class"]), "levels"),
    ("no level", body(levels=[]), "levels"),
    ("teacher level at submission (W5)", body(levels=["teacher"]), "levels"),
    ("system guidance (W5)", body(levels=["pupil", "school_organisation"]), "levels"),
    ("multiple_problems not a bool", body(multiple_problems="often"), "multiple_problems"),
    ("missing specialist_advised", _without("specialist_advised"), "specialist_advised"),
    ("unknown processing basis", body(processing_basis="whim"), "processing_basis"),
    ("unknown field", body(nickname="Sammy"), "nickname"),
    ("missing pupil", _without("pupil"), "pupil"),
    ("empty pupil name", _pupil(name=""), "name"),
    ("date of birth not a date", _pupil(date_of_birth="12-04-2016"), "date_of_birth"),
    ("date of birth in the future", _pupil(date_of_birth="2030-01-01"), "pupil.date_of_birth"),
    ("no parents", _pupil(parents=[]), "parents"),
    ("bad email", _parent(email="nope"), "email"),
    ("unreachable parent (W10)", _parent(email=None, phone=None), "pupil.parents.0"),
]


@pytest.mark.parametrize(("case", "data", "field"), INVALID, ids=[c[0] for c in INVALID])
async def test_an_invalid_request_gets_422_naming_the_field_and_writes_nothing(
    service: Intake, case: str, data: dict[str, Any], field: str
) -> None:
    before = [await service.count(t) for t in ("events", "pupil_keys", "idempotency_keys")]
    answer = await service.http.post(
        "/requests", json=data, headers={**ib(), "Idempotency-Key": str(uuid4())}
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    if "errors" in problem:
        assert any(field in [str(p) for p in err["loc"]] for err in problem["errors"]), problem
    else:
        assert problem["field"] == field, problem
    after = [await service.count(t) for t in ("events", "pupil_keys", "idempotency_keys")]
    assert after == before


async def test_w5_system_guidance_is_refused_with_the_reason(service: Intake) -> None:
    answer = await service.http.post(
        "/requests",
        json=body(levels=["school_organisation"]),
        headers={**ib(), "Idempotency-Key": str(uuid4())},
    )
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["rule"] == "W5"
    assert "school organisation" in problem["detail"]


async def test_submission_needs_an_idempotency_key(service: Intake) -> None:
    answer = await service.http.post("/requests", json=body(), headers=ib())
    assert answer.status_code == 422
    assert "Idempotency-Key" in answer.json()["errors"][0]["loc"]


async def test_only_an_ib_submits_and_only_for_the_own_school(service: Intake) -> None:
    key = {"Idempotency-Key": str(uuid4())}
    no_token = await service.http.post("/requests", json=body(), headers=key)
    assert no_token.status_code == 401
    as_worker = await service.http.post("/requests", json=body(), headers={**worker(), **key})
    assert as_worker.status_code == 403
    other_school = await service.http.post(
        "/requests", json=body(school_id="school-99zz"), headers={**ib(), **key}
    )
    assert other_school.status_code == 403
    assert other_school.json()["rule"] == "W3"


async def test_another_schools_or_swvs_case_answers_as_if_unknown(service: Intake) -> None:
    case_id = await service.submit(body())
    await service.visible(case_id)
    other_ib = ib(school="school-99zz", subject="ib-other")
    other_swv = ib(swv="swv-elders")
    for headers in (other_ib, other_swv):
        for path in (f"/requests/{case_id}", f"/requests/{case_id}/consent"):
            answer = await service.http.get(path, headers=headers)
            assert answer.status_code == 404, (path, answer.text)
        withdrawn = await service.http.post(
            f"/requests/{case_id}/withdrawal", json={"reason": "not mine"}, headers=headers
        )
        assert withdrawn.status_code == 404
    listing = await service.http.get(f"/schools/{SCHOOL}/requests", headers=other_ib)
    assert listing.status_code == 404
    elsewhere = await service.http.get(f"/schools/{SCHOOL}/requests", headers=other_swv)
    assert elsewhere.json() == []
    unknown = await service.http.get(f"/requests/{uuid4()}", headers=ib())
    assert unknown.status_code == 404


async def test_swv_roles_read_and_a_teacher_may_not(service: Intake) -> None:
    case_id = await service.submit(body())
    await service.visible(case_id, headers=worker())
    auditor = auth_header(Role.AUDITOR, SWV, subject="aud-1")
    assert (await service.http.get(f"/requests/{case_id}", headers=auditor)).status_code == 200
    # A teacher reads the cases of the pupils in their token only; another pupil's case
    # answers as if it did not exist (passend_backbone.auth.policy).
    teacher = auth_header(Role.TEACHER, SWV, subject="t-1", school_id=SCHOOL)
    assert (await service.http.get(f"/requests/{case_id}", headers=teacher)).status_code == 404
