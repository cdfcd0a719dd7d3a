"""Every reader of a case gets its streams' hash-chain heads, in every service (issue 21)."""

from __future__ import annotations

from typing import Any

import pytest

from passend_backbone.auth import Role
from passend_devstack.test_tokens import auth_header
from passend_devstack.waiting import eventually
from tests.integration.audit.kit import (
    IB,
    IB_AUTH,
    NAMES,
    SCHOOL,
    SWV,
    WORKER_AUTH,
    System,
    claim,
    give_consent,
    submission,
    submit,
)
from tests.integration.audit.test_chain import tamper

pytestmark = pytest.mark.integration


async def integrity(system: System, service: str, case_id: str, headers: dict[str, str]) -> Any:
    return await system.http.get(
        f"{system.urls[service]}/cases/{case_id}/integrity", headers=headers
    )


async def heads_everywhere(system: System, case_id: str) -> dict[str, dict[str, Any]]:
    """The worker's answer of every service, once each knows the case within their reach."""

    async def probe() -> dict[str, dict[str, Any]] | None:
        found = {}
        for name in NAMES:
            answer = await integrity(system, name, case_id, WORKER_AUTH)
            if answer.status_code != 200 or not answer.json()["streams"]:
                return None
            found[name] = answer.json()
        return found

    return await eventually(probe, timeout=60, what=f"integrity heads of {case_id}")


async def test_every_reader_gets_each_stream_s_head_as_the_auditor_sees_it(
    system: System,
) -> None:
    case_id = await submit(system, "leerling-heads")
    await give_consent(system, case_id)
    await claim(system, case_id)
    await system.settled()
    answers = await heads_everywhere(system, case_id)
    for name, answer in answers.items():
        assert answer["service"] == name and answer["case_id"] == case_id
        [stream] = answer["streams"]
        assert set(stream) == {"stream_id", "events", "head", "verified"}
        assert stream["stream_id"] == case_id and stream["verified"] is True
        # The same head and length the auditor's replay of the case shows.
        audited = (await system.audit(name, f"/cases/{case_id}/events")).json()["events"]
        events = [e for e in audited if e.get("kind", "event") == "event"]
        assert stream["events"] == len(events)
        assert stream["head"] == max(events, key=lambda e: e["stream_version"])["hash"]

    # The school's IB reads the same heads of intake's stream.
    ib = await integrity(system, "intake", case_id, IB_AUTH)
    assert ib.status_code == 200 and ib.json() == answers["intake"]
    # No personal data: counts and hashes only, never the pupil or the request's text.
    text = ib.text
    for value in submission("leerling-heads")["pupil"].values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in text


async def test_the_read_is_logged_and_refused_like_reading_the_case(system: System) -> None:
    case_id = await submit(system, "leerling-heads-reach")
    await system.settled()
    headers = {**IB_AUTH, "X-Purpose": "dossier (PDF)"}
    assert (await integrity(system, "intake", case_id, headers)).status_code == 200
    reads = (await system.audit("intake", "/reads", reader=IB)).json()["reads"]
    assert any(
        r["case_id"] == case_id
        and r["view"] == "intake.integrity"
        and r["purpose"] == "dossier (PDF)"
        for r in reads
    )
    # Another school's IB and another SWV: as an unknown case. The operator: never (403).
    elsewhere = auth_header(Role.IB, SWV, subject="ib-elders", school_id="brin-99zz")
    assert (await integrity(system, "intake", case_id, elsewhere)).status_code == 404
    other_swv = auth_header(Role.IB, "swv-elders", subject=IB, school_id=SCHOOL)
    assert (await integrity(system, "intake", case_id, other_swv)).status_code == 404
    operator = auth_header(Role.OPERATOR, SWV, subject="op-1")
    assert (await integrity(system, "intake", case_id, operator)).status_code == 403
    assert (
        await system.http.get(f"{system.urls['intake']}/cases/{case_id}/integrity")
    ).status_code == 401


async def test_a_changed_event_shows_in_the_head_s_check(system: System) -> None:
    case_id = await submit(system, "leerling-heads-tamper")
    await system.settled()
    before = (await integrity(system, "intake", case_id, IB_AUTH)).json()["streams"][0]
    assert before["verified"] is True
    await tamper(
        system.pools["intake"],
        "UPDATE events SET actor = 'iemand-anders' WHERE stream_id = $1 AND stream_version = 1",
        case_id,
    )
    after = (await integrity(system, "intake", case_id, IB_AUTH)).json()["streams"][0]
    assert after["verified"] is False
    assert after["events"] == before["events"] and after["head"] == before["head"]
