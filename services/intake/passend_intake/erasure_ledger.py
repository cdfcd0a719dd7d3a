"""The erasure ledger: erasures recorded on intake's topic, applied again after a restore.

Every erasure is a ``PupilErased`` event on ``passend.intake.events``, a topic that keeps
its history (``retention.ms=-1``) and is not part of the database's backups. A database
restored from a backup taken before an erasure holds the pupil's key again; before intake
answers its first request (``ServiceSpec.before_serving``), and on an operator's
``passend-intake reapply-erasures``, it reads the topic from where the restored database
says it had read, and deletes every key an erasure there names. How far it read is kept
per partition in ``erasure_ledger_offsets``: an old backup reads from an old place.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog

from passend_backbone.service import ServiceContext
from passend_backbone.topic_scan import scan_topic
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.intake import PupilErased
from passend_intake.erasure import cases_of, shred

_log = structlog.get_logger("passend.intake.erasure_ledger")
_TYPE = PupilErased.event_type.encode()


def _is_erasure(record: Any) -> bool:
    return dict(record.headers or ()).get("ce_type") == _TYPE


async def reapply_erasures(pool: asyncpg.Pool, bootstrap: str, topic: str) -> int:
    """Apply every erasure on ``topic`` this database does not reflect; how many were."""
    start = {
        r["partition"]: r["next_offset"]
        for r in await pool.fetch(
            "SELECT partition, next_offset FROM erasure_ledger_offsets WHERE topic = $1", topic
        )
    }
    scan = await scan_topic(bootstrap, topic, _is_erasure, start=start)
    applied = 0
    for record in scan.records:
        event = CloudEvent.from_kafka(tuple(record.headers or ()), record.value)
        erased = PupilErased.model_validate(event.data)
        if await _apply(pool, event.swv, erased):
            applied += 1
            _log.warning(
                "erasure_applied_again", key_id=str(erased.key_id), erased_at=str(erased.erased_at)
            )
    async with pool.acquire() as conn, conn.transaction():
        for partition, offset in scan.next_offsets.items():
            await conn.execute(
                "INSERT INTO erasure_ledger_offsets (topic, partition, next_offset) "
                "VALUES ($1, $2, $3) ON CONFLICT (topic, partition) "
                "DO UPDATE SET next_offset = EXCLUDED.next_offset",
                topic,
                partition,
                offset,
            )
    return applied


async def _apply(pool: asyncpg.Pool, swv: str, erased: PupilErased) -> bool:
    """Shred the erased key again if this database holds it; record the erasure either way."""
    async with pool.acquire() as conn, conn.transaction():
        key = await conn.fetchval(
            "SELECT key_id FROM public.pupil_keys WHERE key_id = $1 FOR UPDATE", erased.key_id
        )
        cases = await cases_of(conn, swv, erased.pupil_ref) if key is not None else []
        await shred(
            conn,
            swv,
            erased.pupil_ref,
            erased.key_id,
            cases,
            erased.erased_by,
            erased.erased_at,
            erased.reason.value,
            erased.category,
        )
        return key is not None


async def reapply_before_serving(ctx: ServiceContext) -> None:
    """``ServiceSpec.before_serving``: no request is answered before the ledger is applied."""
    settings = ctx.settings
    topic = settings.kafka_topic_prefix + topics.INTAKE
    applied = await reapply_erasures(ctx.pool, settings.kafka_bootstrap_servers, topic)
    _log.info("erasure_ledger_applied", topic=topic, applied=applied)
