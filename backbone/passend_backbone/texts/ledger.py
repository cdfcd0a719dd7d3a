"""Case erasures applied again after a restore, before the service answers anything.

A service's database restored from a backup taken before an erasure holds the erased
cases' text keys again. ``CaseErased`` is on intake's topic, which keeps its history and is
not in any database's backup: before the service serves (``ServiceSpec.before_serving``)
it reads that topic from where the restored database says it had read
(``text_erasure_offsets``) and deletes the key of every case erased there. Intake has its
own ledger (``passend_intake.erasure_ledger``), which deletes these keys with the pupil's.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog

from passend_backbone.service import ServiceContext
from passend_backbone.texts.keys import PostgresTextKeys
from passend_backbone.topic_scan import scan_topic
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.intake import CaseErased

_log = structlog.get_logger("passend.texts.ledger")
_TYPE = CaseErased.event_type.encode()


def _is_case_erasure(record: Any) -> bool:
    return dict(record.headers or ()).get("ce_type") == _TYPE


async def reapply_case_erasures(pool: asyncpg.Pool, bootstrap: str, topic: str) -> int:
    """Delete the text keys of every case erased on ``topic`` since this database read it;
    returns how many keys were still there (each one brought back by a restore)."""
    start = {
        r["partition"]: r["next_offset"]
        for r in await pool.fetch(
            "SELECT partition, next_offset FROM text_erasure_offsets WHERE topic = $1", topic
        )
    }
    scan = await scan_topic(bootstrap, topic, _is_case_erasure, start=start)
    keys = PostgresTextKeys()
    deleted = 0
    async with pool.acquire() as conn, conn.transaction():
        for record in scan.records:
            event = CloudEvent.from_kafka(tuple(record.headers or ()), record.value)
            erased = CaseErased.model_validate(event.data)
            found = await keys.erase(conn, event.swv, [str(erased.case_id)])
            if found:
                _log.warning("case_texts_erased_again", case_id=str(erased.case_id))
            deleted += found
        for partition, offset in scan.next_offsets.items():
            await conn.execute(
                "INSERT INTO text_erasure_offsets (topic, partition, next_offset) "
                "VALUES ($1, $2, $3) ON CONFLICT (topic, partition) "
                "DO UPDATE SET next_offset = EXCLUDED.next_offset",
                topic,
                partition,
                offset,
            )
    return deleted


async def reapply_before_serving(ctx: ServiceContext) -> None:
    """``ServiceSpec.before_serving``: no answer opens a text of a case erased meanwhile."""
    settings = ctx.settings
    topic = settings.kafka_topic_prefix + topics.INTAKE
    deleted = await reapply_case_erasures(ctx.pool, settings.kafka_bootstrap_servers, topic)
    _log.info("case_erasures_applied", topic=topic, keys_deleted=deleted)
