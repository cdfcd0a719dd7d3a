"""The request's words are sealed per case; routing gets the areas they signal; erasure ends them.

Issue 20: ``educational_need``, ``tried_in_basic_support`` and ``why_stuck`` are free texts
about a child. Intake's store, read models and topic hold them only as ``sealed:v1:``
tokens, its API opens them for the reader it lets in, and the pupil's erasure deletes the
cases' keys: then every copy stays closed and the answer says ``[gewist]``. W24: the
expertise areas the words signal travel as ids, found by intake (routing can't read them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from passend_backbone.texts.tokens import ERASED
from passend_contracts.events.assignment import ExpertiseArea, SwvConfigured
from passend_devstack.waiting import eventually
from passend_intake.erasure import erase_pupil
from tests.integration.intake.kit import SWV, Intake, body, ib, publish

pytestmark = pytest.mark.integration

NEED = "Daan Visser leest erg langzaam en raakt de draad kwijt"
STUCK = "Daan wordt boos als hij moet voorlezen"


async def _configured(service: Intake) -> None:
    areas = [
        ExpertiseArea(area_id="reading", label="Lezen", keywords=["leest", "spelling"]),
        ExpertiseArea(area_id="behaviour", label="Gedrag", keywords=["boos"]),
    ]
    configured = SwvConfigured(
        swv_id=SWV,
        name="Waterweg",
        education_specialist_id="os-jeroen",
        route_coach_id="rc-karin",
        expertise_areas=areas,
        configured_at=datetime(2026, 9, 1, tzinfo=UTC),
    )
    await publish(service.broker, SWV, configured)

    async def known() -> bool:
        return await _areas_row(service) is not None

    await eventually(known, timeout=30, what="intake knows the SWV's expertise areas")


async def _areas_row(service: Intake) -> Any:
    # The read model's tables live in its current generation's schema.
    schemas = await service.pool.fetch(
        "SELECT schemaname FROM pg_tables WHERE tablename = 'expertise_areas'"
    )
    for row in schemas:
        found = await service.pool.fetchval(
            f'SELECT areas FROM "{row["schemaname"]}".expertise_areas WHERE swv = $1', SWV
        )
        if found:
            return found
    return None


async def test_the_words_are_sealed_the_areas_are_named_and_erasure_closes_them(
    service: Intake,
) -> None:
    await _configured(service)
    data = body(educational_need=NEED, why_stuck=STUCK)
    case_id = await service.submit(data)
    shown = await service.visible(case_id)
    assert shown["educational_need"] == NEED and shown["why_stuck"] == STUCK

    [submitted] = [
        e for e in await service.store.read_stream(case_id) if "RequestSubmitted" in e.event_type
    ]
    assert submitted.data["need_areas"] == ["reading", "behaviour"]  # W24, as ids only
    assert submitted.data["educational_need"].startswith("sealed:v1:")
    # Whole phrases: a short name could occur by chance in the base64 of a token.
    assert "Visser leest erg langzaam" not in await service.all_event_text()
    rows = await service.pool.fetch(
        "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
        "('pg_catalog', 'information_schema')"
    )
    for row in rows:
        text = await service.pool.fetch(
            f'SELECT t::text AS r FROM "{row["schemaname"]}"."{row["tablename"]}" t'
        )
        assert all("Visser leest erg langzaam" not in r["r"] for r in text), row["tablename"]
        assert all("moet voorlezen" not in r["r"] for r in text), row["tablename"]

    erased = await erase_pupil(
        service.pool,
        SWV,
        data["pupil_ref"],
        erased_by="fg-sanne",
        now=service.clock(),
        store=service.store,
    )
    assert erased
    assert (
        await service.pool.fetchval("SELECT count(*) FROM text_keys WHERE scope = $1", case_id) == 0
    )
    answer = await service.http.get(f"/requests/{case_id}", headers=ib())
    assert answer.status_code == 200, answer.text
    after = answer.json()
    assert after["educational_need"] == ERASED and after["why_stuck"] == ERASED
    assert "Visser leest erg langzaam" not in answer.text and "moet voorlezen" not in answer.text


async def test_the_schools_reason_for_a_withdrawal_is_sealed_and_erased_with_the_case(
    service: Intake,
) -> None:
    """Issue 20: a withdrawal's reason is the school's words and may name the child."""
    data = body()
    case_id = await service.submit(data)
    await service.visible(case_id)
    reason = "Daan Visser gaat na de kerstvakantie naar De Regenboog"
    withdrawn = await service.http.post(
        f"/requests/{case_id}/withdrawal", json={"reason": reason}, headers=ib()
    )
    assert withdrawn.status_code == 200, withdrawn.text
    [stored] = [
        e for e in await service.store.read_stream(case_id) if "RequestWithdrawn" in e.event_type
    ]
    assert stored.data["reason"].startswith("sealed:v1:") and stored.data["by_erasure"] is False
    assert "naar De Regenboog" not in await service.all_event_text()

    async def opened() -> Any:
        shown = await service.visible(case_id)
        return shown if shown["withdrawal_reason"] is not None else None

    assert (await eventually(opened, timeout=30, what="withdrawal shown"))[
        "withdrawal_reason"
    ] == reason
    # The erasure deletes the case's key after recording itself: the school's reason stays
    # closed, and no new key is made for the case.
    assert await erase_pupil(
        service.pool,
        SWV,
        data["pupil_ref"],
        erased_by="fg-1",
        now=service.clock(),
        store=service.store,
    )
    assert (
        await service.pool.fetchval("SELECT count(*) FROM text_keys WHERE scope = $1", case_id) == 0
    )
    after = await service.http.get(f"/requests/{case_id}", headers=ib())
    assert after.json()["withdrawal_reason"] == ERASED
    assert "naar De Regenboog" not in after.text
