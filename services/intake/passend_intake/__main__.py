"""Runs the intake service: ``python -m passend_intake`` (or ``passend-intake``).

``passend-intake reseal-keys`` seals every pupil's key with the current key-encryption key
after a rotation; ``passend-intake reapply-erasures`` applies the erasures on intake's topic
to a database restored from a backup (both in deploy/README.md). The other operator
commands are the backbone's.
"""

import asyncio
import sys

from passend_backbone import db, lifecycle
from passend_backbone.settings import ServiceSettings
from passend_contracts import topics
from passend_intake import erasure_ledger, pupil_keys
from passend_intake.service import SPEC


async def _reseal() -> int:
    settings = ServiceSettings(auth_jwks="-")
    pool = await db.create_pool(settings.database_url, max_size=2)
    try:
        resealed = await pupil_keys.reseal_keys(pool)
    finally:
        await pool.close()
    print(
        f"{resealed} pupil key(s) sealed again with key-encryption key "
        f"{pupil_keys.key_ring().current_id!r}"
    )
    return 0


async def _reapply() -> int:
    settings = ServiceSettings(auth_jwks="-")
    pool = await db.create_pool(settings.database_url, max_size=2)
    topic = settings.kafka_topic_prefix + topics.INTAKE
    try:
        applied = await erasure_ledger.reapply_erasures(
            pool, settings.kafka_bootstrap_servers, topic
        )
    finally:
        await pool.close()
    print(f"{applied} erasure(s) from {topic} applied again")
    return 0


def main() -> None:
    if sys.argv[1:] == ["reseal-keys"]:
        sys.exit(asyncio.run(_reseal()))
    if sys.argv[1:] == ["reapply-erasures"]:
        sys.exit(asyncio.run(_reapply()))
    lifecycle.main(SPEC)


if __name__ == "__main__":
    main()
