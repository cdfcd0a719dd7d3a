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
        made = await pupil_keys.get_or_create_key(conn, "swv-1", "pupil-1")
        again = await pupil_keys.get_or_create_key(conn, "swv-1", "pupil-1")
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
