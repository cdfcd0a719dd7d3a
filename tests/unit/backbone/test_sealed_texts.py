"""Free texts about a pupil: tokens, which fields are sealed, sealing on append, opening answers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from uuid import uuid4

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from passend_backbone.eventstore.memory import InMemoryEventStore
from passend_backbone.eventstore.model import Metadata, NewEvent
from passend_backbone.texts import tokens
from passend_backbone.texts.keys import MemoryTextKeys
from passend_backbone.texts.opening import OpenSealedTexts, open_all
from passend_backbone.texts.sealing import seal_events
from passend_contracts.events.base import sealed_paths
from passend_contracts.events.intake import SupportLevel
from passend_contracts.events.trajectory import (
    PlanGoal,
    PlanRecorded,
    SessionRecorded,
    TrajectoryOpened,
)

SWV = "swv-waterweg"
CASE = uuid4()
AT = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
META = Metadata(swv=SWV, actor="ow-anouk", correlation_id="c-1", causation_id="cmd-1")


def _plan() -> PlanRecorded:
    return PlanRecorded(
        case_id=CASE,
        revision=1,
        goals=[
            PlanGoal(
                goal_id="goal-1",
                description="Tim begint alleen aan zijn rekentaak",
                measure="4 van 5 dagen",
                target_date=date(2026, 12, 18),
            )
        ],
        supported=[SupportLevel.PUPIL],
        form="coaching van de leerkracht",
        school_participants=["ib-marieke"],
        duration_weeks=12,
        frequency="om de week",
        parents_informed="door de leerkracht",
        evaluation_method="gesprek met ouders",
        evaluation_dates=[date(2027, 1, 15)],
        securing="in het groepsplan",
        recorded_by="ow-anouk",
        recorded_at=AT,
    )


def test_a_token_opens_with_its_key_and_scope_only() -> None:
    key = bytes(range(32))
    key_id = uuid4()
    token = tokens.seal("Tim leest traag", swv=SWV, scope="case-1", key_id=key_id, key=key)
    assert token.startswith("sealed:v1:") and "leest traag" not in token
    parsed = tokens.parse(token)
    assert (parsed.swv, parsed.key_id) == (SWV, key_id)
    assert tokens.open_token(parsed, scope="case-1", key=key) == "Tim leest traag"
    # Moved onto another case, or opened with another key, it does not open.
    with pytest.raises(tokens.TokenUnreadable):
        tokens.open_token(parsed, scope="case-2", key=key)
    with pytest.raises(tokens.TokenUnreadable):
        tokens.open_token(parsed, scope="case-1", key=bytes(32))
    with pytest.raises(tokens.TokenUnreadable):
        tokens.parse("sealed:v1:AAAA")


def test_the_contracts_mark_free_texts_nested_ones_included() -> None:
    paths = sealed_paths(PlanRecorded)
    assert ("goals", "[]", "description") in paths
    assert ("form",) in paths and ("reason",) in paths
    assert ("recorded_by",) not in paths and ("case_id",) not in paths
    assert sealed_paths(TrajectoryOpened) == ()
    schema = PlanRecorded.model_json_schema()
    assert schema["properties"]["form"]["x-sealed"] is True


async def test_marked_fields_are_sealed_with_one_key_per_case_and_nothing_else_changes() -> None:
    keys = MemoryTextKeys()
    empty = SessionRecorded(
        case_id=CASE,
        session_id=uuid4(),
        held_on=date(2026, 12, 4),
        hours=1.0,
        worker_id="ow-anouk",
        recorded_at=AT,
    )
    events = [NewEvent.of(_plan()), NewEvent.of(empty)]
    sealed = await seal_events(keys, None, SWV, str(CASE), events)
    plan = sealed[0].data
    assert tokens.is_token(plan["form"]) and tokens.is_token(plan["goals"][0]["measure"])
    assert plan["recorded_by"] == "ow-anouk" and plan["goals"][0]["goal_id"] == "goal-1"
    assert sealed[1].data["findings"] == ""  # nothing to seal in an empty text
    assert len(keys.keys) == 1
    # Sealing what is sealed already changes nothing.
    again = await seal_events(keys, None, SWV, str(CASE), sealed)
    assert again[0].data == plan
    opened = await open_all(keys, None, [plan["form"], plan["goals"][0]["description"]])
    assert opened[plan["goals"][0]["description"]] == "Tim begint alleen aan zijn rekentaak"


async def test_the_memory_store_seals_when_given_keys_and_erasure_makes_it_unreadable() -> None:
    keys = MemoryTextKeys()
    store = InMemoryEventStore(texts=keys)
    [recorded] = await store.append(str(CASE), 0, [NewEvent.of(_plan())], META)
    # Whole phrases: a short name could turn up by chance in the base64 of a token.
    assert "alleen aan zijn rekentaak" not in json.dumps(recorded.data)
    assert await keys.erase(None, SWV, [str(CASE)]) == 1
    opened = await open_all(keys, None, [recorded.data["form"]])
    assert opened == {recorded.data["form"]: tokens.ERASED}


def _app(token: str) -> Starlette:
    async def as_json(request: Request) -> Response:
        return JSONResponse({"text": token, "other": "x"})

    async def as_html(request: Request) -> Response:
        return HTMLResponse(f"<p>{token}</p>")

    async def as_text(request: Request) -> Response:
        return PlainTextResponse(token)

    return Starlette(
        routes=[Route("/j", as_json), Route("/h", as_html), Route("/t", as_text)],
    )


async def test_answers_leave_with_their_texts_opened_and_escaped_for_their_format() -> None:
    keys = MemoryTextKeys()
    key = await keys.key_for(None, SWV, "case-1")
    text = 'Tim zei: "ik <wil> niet" & ging'
    token = tokens.seal(text, swv=SWV, scope="case-1", key_id=key.key_id, key=key.key)

    class _Conn:
        async def __aenter__(self) -> None:
            return None

        async def __aexit__(self, *exc: object) -> None:
            return None

    app = OpenSealedTexts(_app(token), keys=keys, connect=_Conn)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        answer = await c.get("/j")
        assert answer.json() == {"text": text, "other": "x"}
        assert int(answer.headers["content-length"]) == len(answer.content)
        assert (
            await c.get("/h")
        ).text == f"<p>{'Tim zei: &quot;ik &lt;wil&gt; niet&quot; &amp; ging'}</p>"
        assert (await c.get("/t")).text == token  # other formats are not touched
        await keys.erase(None, SWV, ["case-1"])
        assert (await c.get("/j")).json()["text"] == "[gewist]"
