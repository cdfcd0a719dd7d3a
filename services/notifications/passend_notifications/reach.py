"""Who may see a case's messages: the backbone's case reach, kept in this service's ``case_facts``.

The facts (school, pupil, work units, workers, route coaches, Team NO region) and how
events merge into them are :mod:`passend_backbone.auth.case_reach`'s; this service only
names its table, whose shape is ``case_reach.table_sql("case_facts")`` (migration 003).
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from passend_backbone.auth import CaseFacts, case_reach
from passend_contracts.envelope import CloudEvent

TABLE = "case_facts"


async def learn(conn: asyncpg.Connection, event: CloudEvent, case_id: UUID) -> str | None:
    """Merge what ``event`` says about who may see the case; the case's pupil, if known."""
    return await case_reach.learn(conn, event, case_id, table=TABLE)


async def case_facts(conn: asyncpg.Connection, swv: str, case_id: UUID) -> CaseFacts | None:
    """What scopes the case (None: never heard of in ``swv``)."""
    return await case_reach.fetch_facts(conn, swv, case_id, table=TABLE)
