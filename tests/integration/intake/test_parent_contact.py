"""W10: a parent the consent link did not reach (a wrong e-mail address) is reached at a
corrected one: the IB corrects it on the case, and from then on every message to the parent
(what notifications asks intake for) goes there. Against the running intake service."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from passend_backbone.auth import Role
from passend_devstack.test_tokens import auth_header
from tests.integration.intake.kit import PARENT, SCHOOL, SWV, Intake, body, ib, worker
from tests.integration.intake.test_erasure_on_request import ASKED, officer

pytestmark = pytest.mark.integration

NOTIFICATIONS = auth_header(Role.SERVICE, SWV, subject="service:notifications")
CORRECTED = "j.jansen-de-boer@example.org"


async def correct(
    service: Intake, case_id: str, headers: dict[str, str], parent: str = PARENT, **contact: Any
) -> httpx.Response:
    return await service.http.put(
        f"/requests/{case_id}/parents/{parent}/contact", json=contact, headers=headers
    )


async def delivered_to(service: Intake, case_id: str) -> dict[str, Any]:
    """What notifications is told when it sends the parent a message."""
    answer = await service.http.get(
        f"/internal/cases/{case_id}/parents/{PARENT}", headers=NOTIFICATIONS
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def test_w10_a_corrected_address_is_where_the_parent_is_reached_from_then_on(
    service: Intake,
) -> None:
    case_id = await service.submit(body())
    await service.visible(case_id)
    assert (await delivered_to(service, case_id))["email"] == "j.jansen@example.nl"

    answer = await correct(service, case_id, ib(), email=CORRECTED, phone="0687654321")
    assert answer.status_code == 200, answer.text
    assert answer.json()["event_type"] == "nl.passend.intake.ParentContactCorrected.v1"

    parent = await delivered_to(service, case_id)
    assert (parent["email"], parent["name"]) == (CORRECTED, "J. Jansen")
    # The request shows it at once (its read model is written in the same transaction),
    # and its history says what happened without any address in it.
    shown = await service.visible(case_id)
    (view,) = shown["pupil"]["parents"]
    assert (view["email"], view["phone"]) == (CORRECTED, "0687654321")
    corrected = [
        h for h in shown["history"] if h["event_type"].endswith("ParentContactCorrected.v1")
    ]
    assert len(corrected) == 1 and "encrypted_identity" not in corrected[0]["data"]
    # Nothing in the clear on the bus or in the store.
    assert CORRECTED not in await service.all_event_text()

    # The privacy officer's access export gives the parent's contact as it is now.
    exported = await service.http.get(
        f"/privacy/pupils/{shown['pupil_ref']}/export", headers=officer()
    )
    assert exported.status_code == 200, exported.text
    (held,) = exported.json()["identity"]["parents"]
    assert (held["email"], held["phone"]) == (CORRECTED, "0687654321")

    # The support worker may correct it too, only to something else, and only with a way
    # to reach the parent.
    again = await correct(service, case_id, worker(), email=CORRECTED, phone="0687654321")
    assert again.status_code == 422 and again.json()["rule"] == "W10", again.text
    nothing = await correct(service, case_id, worker())
    assert nothing.status_code == 422 and nothing.json()["field"] == "email", nothing.text
    phone_only = await correct(service, case_id, worker(), phone="0611122233")
    assert phone_only.status_code == 200, phone_only.text
    assert (await delivered_to(service, case_id))["email"] is None


async def test_w10_who_may_correct_and_which_parent(service: Intake) -> None:
    case_id = await service.submit(body())
    await service.visible(case_id)
    unknown = await correct(service, case_id, ib(), parent="guardian-unknown", email=CORRECTED)
    assert unknown.status_code == 422 and unknown.json()["field"] == "parent_ref"
    wrong = await correct(service, case_id, ib(), email="geen-adres")
    assert wrong.status_code == 422 and "email" in wrong.text
    other_school = await correct(
        service, case_id, ib(school="school-99zz", subject="ib-other"), email=CORRECTED
    )
    assert other_school.status_code == 404, other_school.text
    teacher = auth_header(Role.TEACHER, SWV, subject="lk-1", school_id=SCHOOL)
    assert (await correct(service, case_id, teacher, email=CORRECTED)).status_code == 403
    assert (await delivered_to(service, case_id))["email"] == "j.jansen@example.nl"


async def test_an_erased_pupils_parents_are_not_corrected(service: Intake) -> None:
    case_id = await service.submit(body())
    pupil = (await service.visible(case_id))["pupil_ref"]
    erased = await service.http.post(
        f"/privacy/pupils/{pupil}/erasure", json=ASKED, headers=officer()
    )
    assert erased.status_code == 200, erased.text
    refused = await correct(service, case_id, ib(), email=CORRECTED)
    assert refused.status_code == 409 and refused.json()["rule"] == "erasure", refused.text
