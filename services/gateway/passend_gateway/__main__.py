"""``passend-gateway``: run the integration gateway until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from passend_backbone import lifecycle
from passend_backbone.settings import load_config, load_settings
from passend_gateway.config import GatewayConfig
from passend_gateway.reactor import IntegrationReactor
from passend_gateway.service import build_spec


async def forget_published(database_url: str) -> None:
    """Forget which events were published, so all are published again.

    For ``REPUBLISH_ON_START``: the broker lost its topics, the integration topics too,
    and the services publish their stores again; without this the gateway would skip
    them as handled. Receivers deduplicate on the event ids, which stay the same.
    """
    conn = await asyncpg.connect(database_url)
    try:
        if await conn.fetchval("SELECT to_regclass('public.reactor_handled') IS NOT NULL"):
            await conn.execute(
                "DELETE FROM reactor_handled WHERE reactor = $1", IntegrationReactor.name
            )
    finally:
        await conn.close()


def main() -> None:
    settings = load_settings()
    config = load_config(GatewayConfig)
    operating = len(sys.argv) > 1  # migrate, republish, ...: not a start of the service
    if settings.republish_on_start and not operating:
        asyncio.run(forget_published(settings.database_url))
    lifecycle.main(build_spec(settings, config))


if __name__ == "__main__":
    main()
