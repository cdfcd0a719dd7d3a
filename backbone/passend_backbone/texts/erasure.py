"""When intake erases a pupil, every service deletes its text keys of the pupil's cases.

Intake records ``CaseErased`` in the history of each case of the erased pupil. A service
that seals texts calls :func:`erase_case_texts` from its reactor of intake's topic: the
case's key is deleted in the consumer's transaction, so from then on none of the case's
texts open, in this service's store, read models, topic, WAL or backups (the
key-encryption keys alone open nothing). The same ``CaseErased`` again deletes nothing.
"""

from __future__ import annotations

from typing import Any

import structlog

from passend_backbone.texts.keys import PostgresTextKeys, TextKeys
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.intake import CaseErased

_log = structlog.get_logger("passend.texts.erasure")


async def erase_case_texts(conn: Any, store: Any, event: CloudEvent, payload: EventPayload) -> bool:
    """On ``CaseErased``: delete this service's key of the case's texts; else do nothing.

    Call it from the reactor that already reads intake's topic (one consumer group less
    than a reactor of its own). Returns whether ``payload`` was a ``CaseErased``.
    """
    if not isinstance(payload, CaseErased):
        return False
    keys: TextKeys = getattr(store, "texts", None) or PostgresTextKeys()
    erased = await keys.erase(conn, event.swv, [str(payload.case_id)])
    _log.info("text_keys_erased", case_id=str(payload.case_id), keys=erased)
    return True
