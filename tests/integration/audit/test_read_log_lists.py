"""Lists, inboxes and deadlines log a read of every case they show; the auditor sees what
one person read, in every service (issue 20)."""

from __future__ import annotations

from uuid import uuid4

import pytest

from passend_backbone.auth import Role
from passend_devstack.test_tokens import auth_header
from tests.integration.audit.kit import (
    AUDITOR_AUTH,
    IB,
    IB_AUTH,
    SCHOOL,
    SWV,
    WORKER,
    WORKER_AUTH,
    System,
    claim,
    give_consent,
    submit,
)

pytestmark = pytest.mark.integration

COORDINATOR = auth_header(Role.COORDINATOR, SWV, subject="co-henk", work_unit_id="wu-vlaardingen")


async def reads(system: System, service: str, reader: str, view: str) -> set[str]:
    rows = await system.pools[service].fetch(
        "SELECT case_id FROM case_reads WHERE reader = $1 AND view = $2", reader, view
    )
    return {r["case_id"] for r in rows}


async def test_every_list_view_logs_the_cases_it_showed(system: System) -> None:
    waiting = await submit(system, f"leerling-{uuid4().hex[:6]}")  # in the worker's inbox
    claimed = await submit(system, f"leerling-{uuid4().hex[:6]}")
    await give_consent(system, claimed)
    await claim(system, claimed)  # claimed, first contact due
    await system.settled()

    listed = await system.http.get(
        f"{system.urls['intake']}/schools/{SCHOOL}/requests", headers=IB_AUTH
    )
    assert listed.status_code == 200, listed.text
    shown = {r["case_id"] for r in listed.json()}
    assert {waiting, claimed} <= shown
    assert await reads(system, "intake", IB, "intake.school_requests") >= {waiting, claimed}

    inbox = await system.http.get(
        f"{system.urls['assignment']}/workers/{WORKER}/inbox", headers=WORKER_AUTH
    )
    assert inbox.status_code == 200, inbox.text
    in_inbox = {c["case_id"] for c in inbox.json()}
    assert waiting in in_inbox
    assert await reads(system, "assignment", WORKER, "assignment.inbox") == in_inbox

    due = await system.http.get(
        f"{system.urls['assignment']}/deadlines", params={"worker_id": WORKER}, headers=WORKER_AUTH
    )
    assert due.status_code == 200, due.text
    with_deadline = {c["case_id"] for c in due.json()}
    assert claimed in with_deadline
    assert await reads(system, "assignment", WORKER, "assignment.deadlines") == with_deadline

    undeliverable = await system.http.get(
        f"{system.urls['notifications']}/messages/undeliverable", headers=COORDINATOR
    )
    assert undeliverable.status_code == 200, undeliverable.text
    parked = {m["case_id"] for m in undeliverable.json()}
    assert parked  # no addresses are registered here: messages park at once
    assert await reads(system, "notifications", "co-henk", "notifications.undeliverable") == parked

    # The auditor sees per person what they read, in each service.
    for service, reader, view in (
        ("intake", IB, "intake.school_requests"),
        ("assignment", WORKER, "assignment.inbox"),
    ):
        answer = await system.http.get(
            f"{system.urls[service]}/audit/reads", params={"reader": reader}, headers=AUDITOR_AUTH
        )
        assert answer.status_code == 200, answer.text
        assert view in {r["view"] for r in answer.json()["reads"]}
    not_auditor = await system.http.get(
        f"{system.urls['intake']}/audit/reads", params={"reader": IB}, headers=IB_AUTH
    )
    assert not_auditor.status_code == 403
