"""Pupils' keys lie sealed in intake's database, open after a KEK rotation, and reseal."""

from __future__ import annotations

import base64
import os

import asyncpg
import pytest

from passend_backbone import db
from passend_intake import pupil_keys

pytestmark = pytest.mark.integration


def kek() -> str:
    return base64.b64encode(os.urandom(32)).decode()


async def test_keys_are_sealed_rotate_and_reseal(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await db.migrate(pool, ["passend_backbone.migrations", "passend_intake.migrations"])
    old, new = kek(), kek()
    monkeypatch.setenv(pupil_keys.SEALING_SETTING, f"old:{old}")
    async with pool.acquire() as conn, conn.transaction():
        made = (await pupil_keys.pupil_of_school(conn, "swv-1", "brin-1", "pupil-1")).key
        again = (await pupil_keys.pupil_of_school(conn, "swv-1", "brin-1", "pupil-1")).key
    assert again == made
    stored = bytes(await pool.fetchval("SELECT key FROM public.pupil_keys"))
    # What a dump or backup holds is not the key, nor does it contain it.
    assert made.key not in stored and len(stored) > len(made.key)

    # Rotation: the new KEK seals, the old one still opens what it sealed.
    monkeypatch.setenv(pupil_keys.SEALING_SETTING, f"new:{new},old:{old}")
    async with pool.acquire() as conn:
        assert await pupil_keys.key_by_id(conn, str(made.key_id)) == made
    assert await pupil_keys.reseal_keys(pool) == 1
    assert await pupil_keys.reseal_keys(pool) == 0
    monkeypatch.setenv(pupil_keys.SEALING_SETTING, f"new:{new}")
    async with pool.acquire() as conn:
        assert await pupil_keys.key_by_id(conn, str(made.key_id)) == made

    # Without the right KEK nothing opens: a stolen database alone gives no key.
    monkeypatch.setenv(pupil_keys.SEALING_SETTING, f"other:{kek()}")
    async with pool.acquire() as conn:
        with pytest.raises(pupil_keys.IdentityUnreadable):
            await pupil_keys.key_by_id(conn, str(made.key_id))


async def test_the_keys_of_many_identities_are_read_in_one_query(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name search reads the keys of every case in reach at once: one query; an erased
    pupil's key and an id that is no key id are left out, and a key that does not open
    fails only its own identity."""
    await db.migrate(pool, ["passend_backbone.migrations", "passend_intake.migrations"])
    other, current = kek(), kek()
    monkeypatch.setenv(pupil_keys.SEALING_SETTING, f"other:{other}")
    async with pool.acquire() as conn, conn.transaction():
        damaged = (await pupil_keys.pupil_of_school(conn, "swv-batch", "brin-1", "pupil-d")).key
    monkeypatch.setenv(pupil_keys.SEALING_SETTING, f"current:{current}")
    async with pool.acquire() as conn, conn.transaction():
        first = (await pupil_keys.pupil_of_school(conn, "swv-batch", "brin-1", "pupil-a")).key
        second = (await pupil_keys.pupil_of_school(conn, "swv-batch", "brin-1", "pupil-b")).key
        erased = (await pupil_keys.pupil_of_school(conn, "swv-batch", "brin-1", "pupil-c")).key
        await conn.execute("DELETE FROM public.pupil_keys WHERE key_id = $1", erased.key_id)
    asked = [str(first.key_id), str(second.key_id).upper(), str(erased.key_id)]
    asked += ["not-a-key", str(damaged.key_id)]

    queries: list[str] = []

    def logged(record: asyncpg.connection.LoggedQuery) -> None:
        queries.append(record.query)

    async with pool.acquire() as conn:
        conn.add_query_logger(logged)
        found = await pupil_keys.keys_by_ids(conn, asked)
        conn.remove_query_logger(logged)
    assert len([q for q in queries if "pupil_keys" in q]) == 1, queries
    assert set(found) == {str(first.key_id), str(second.key_id).upper(), str(damaged.key_id)}
    assert found[str(first.key_id)].opened() == first
    assert found[str(second.key_id).upper()].opened() == second
    with pytest.raises(pupil_keys.IdentityUnreadable):
        found[str(damaged.key_id)].opened()
    async with pool.acquire() as conn:
        assert await pupil_keys.keys_by_ids(conn, ["not-a-key"]) == {}


async def test_a_pupil_is_named_by_a_pseudonym_only_its_key_row_links_to_the_school(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20: the school's reference makes a pseudonym that says nothing of it, the same
    one every time while the key lives; deleting the key row (the erasure) unlinks it, and
    the same reference then names a new pupil."""
    await db.migrate(pool, ["passend_backbone.migrations", "passend_intake.migrations"])
    monkeypatch.setenv(pupil_keys.SEALING_SETTING, f"k:{kek()}")
    async with pool.acquire() as conn, conn.transaction():
        first = await pupil_keys.pupil_of_school(conn, "swv-p", "brin-1", "ll-2024-0193")
        again = await pupil_keys.pupil_of_school(conn, "swv-p", "brin-1", "ll-2024-0193")
        other_swv = await pupil_keys.pupil_of_school(conn, "swv-q", "brin-1", "ll-2024-0193")
    assert again == first
    assert first.pupil_ref.startswith(pupil_keys.PSEUDONYM_PREFIX)
    assert "0193" not in first.pupil_ref and other_swv.pupil_ref != first.pupil_ref
    async with pool.acquire() as conn:
        assert await pupil_keys.pseudonym_of(conn, "swv-p", "ll-2024-0193") == first.pupil_ref
        assert await pupil_keys.pseudonym_of(conn, "swv-p", first.pupil_ref) == first.pupil_ref
        assert await pupil_keys.school_ref_of(conn, "swv-p", first.pupil_ref) == "ll-2024-0193"
        await conn.execute("DELETE FROM public.pupil_keys WHERE key_id = $1", first.key.key_id)
        assert await pupil_keys.school_ref_of(conn, "swv-p", first.pupil_ref) is None
        # The school's reference names nobody now; a new request makes a new pupil.
        assert await pupil_keys.pseudonym_of(conn, "swv-p", "ll-2024-0193") == "ll-2024-0193"
        async with conn.transaction():
            anew = await pupil_keys.pupil_of_school(conn, "swv-p", "brin-1", "ll-2024-0193")
    assert anew.pupil_ref != first.pupil_ref and anew.key.key_id != first.key.key_id


async def test_two_schools_numbering_a_pupil_alike_have_two_pupils(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schools number their own pupils: "12345" at one school is another child than
    "12345" at the next. Each gets its own pseudonym and key (erasing one leaves the other),
    and the bare number names neither alone: the officer picks the school."""
    await db.migrate(pool, ["passend_backbone.migrations", "passend_intake.migrations"])
    monkeypatch.setenv(pupil_keys.SEALING_SETTING, f"k:{kek()}")
    async with pool.acquire() as conn, conn.transaction():
        here = await pupil_keys.pupil_of_school(conn, "swv-s", "brin-11aa", "12345")
        there = await pupil_keys.pupil_of_school(conn, "swv-s", "brin-22bb", "12345")
        here_again = await pupil_keys.pupil_of_school(conn, "swv-s", "brin-11aa", "12345")
    assert here_again == here
    assert here.pupil_ref != there.pupil_ref and here.key.key_id != there.key.key_id
    async with pool.acquire() as conn:
        named = await pupil_keys.pupils_named(conn, "swv-s", "12345")
        assert [(p.school_id, p.pupil_ref) for p in named] == [
            ("brin-11aa", here.pupil_ref),
            ("brin-22bb", there.pupil_ref),
        ]
        with pytest.raises(pupil_keys.AmbiguousReference) as ambiguous:
            await pupil_keys.pseudonym_of(conn, "swv-s", "12345")
        assert here.pupil_ref in str(ambiguous.value) and "brin-22bb" in str(ambiguous.value)
        # By pseudonym each is found alone.
        assert [
            p.school_id for p in await pupil_keys.pupils_named(conn, "swv-s", there.pupil_ref)
        ] == ["brin-22bb"]
        assert await pupil_keys.pseudonym_of(conn, "swv-s", there.pupil_ref) == there.pupil_ref
        # Erasing one child leaves the other; the number then names the other alone.
        await conn.execute("DELETE FROM public.pupil_keys WHERE key_id = $1", here.key.key_id)
        assert await pupil_keys.pseudonym_of(conn, "swv-s", "12345") == there.pupil_ref
        assert await pupil_keys.school_ref_of(conn, "swv-s", there.pupil_ref) == "12345"
