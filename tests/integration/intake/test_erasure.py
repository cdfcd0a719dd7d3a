"""Deleting a pupil's key erases their identity everywhere while the log stays intact."""

from __future__ import annotations

import pytest

from passend_backbone.eventstore.store import verify
from passend_backbone.texts.tokens import ERASED
from passend_intake.erasure import erase_pupil
from tests.integration.intake.kit import NOW, SWV, Intake, body, ib

pytestmark = pytest.mark.integration


async def test_erased_pupil_reads_as_gewist_and_the_log_still_verifies(service: Intake) -> None:
    data = body()
    first = await service.submit(data)
    second = await service.submit({**data, "why_stuck": "Another period, the same pupil."})
    other = await service.submit(body())
    before = [e.hash for e in await service.store.read_stream(first)]
    assert (await service.visible(first))["pupil"]["name"] == "Sam Jansen"
    await service.visible(second)

    assert await erase_pupil(service.pool, SWV, data["pupil_ref"], erased_by="dpo-1", now=NOW)
    assert not await erase_pupil(service.pool, SWV, data["pupil_ref"], erased_by="dpo-1", now=NOW)

    for case_id in (first, second):
        detail = (await service.http.get(f"/requests/{case_id}", headers=ib())).json()
        assert detail["pupil"] == {
            "erased": True,
            "name": ERASED,
            "date_of_birth": None,
            "parents": [],
        }
        assert detail["educational_need"]  # the request itself stays
    assert (await service.visible(other))["pupil"]["name"] == "Sam Jansen"

    assert [e.hash for e in await service.store.read_stream(first)] == before
    report = await verify(service.pool)
    assert report.ok
    pseudonym = (await service.visible(first))["pupil_ref"]
    erasures = await service.pool.fetchval(
        "SELECT count(*) FROM pupil_erasures WHERE pupil_ref = $1", pseudonym
    )
    assert erasures == 1
    # Issue 20: nothing Passend keeps names the school's reference of the pupil any more.
    assert data["pupil_ref"] not in await service.all_event_text()
    assert not await service.pool.fetchval(
        "SELECT count(*) FROM pupil_keys WHERE school_ref = $1", data["pupil_ref"]
    )
