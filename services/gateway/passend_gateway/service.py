"""The gateway's composition: its one reactor, its tables, its producer and its HTTP app."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from passend_backbone.audit.router import audit_router
from passend_backbone.service import ServiceContext, ServiceSpec
from passend_backbone.settings import ServiceSettings
from passend_gateway import unpublished
from passend_gateway.config import GatewayConfig
from passend_gateway.held import held_event_gauges
from passend_gateway.publisher import Publisher
from passend_gateway.reactor import IntegrationReactor

# The gateway appends no events of its own; the lifecycle's outbox relay idles on an empty
# store and this topic stays empty. Nobody outside is given access to it.
OWN_TOPIC = "passend.gateway.events"


def build_spec(settings: ServiceSettings, config: GatewayConfig) -> ServiceSpec:
    """The gateway as a service of the lifecycle (``passend_backbone.lifecycle``): its
    reactor runs as a FastStream batch subscriber of the backbone's consumers, with the
    health endpoints and the graceful shutdown every service has."""
    publisher = Publisher(
        settings.kafka_bootstrap_servers,
        settings.kafka_broker_kind,
        config.api_urls(),
        topic_prefix=settings.kafka_topic_prefix,
    )

    async def close_publisher(ctx: ServiceContext, stop: asyncio.Event) -> None:
        # Background work stops after the consumers, so nothing publishes after this.
        await stop.wait()
        await publisher.close()

    def create_app(ctx: ServiceContext) -> FastAPI:
        # Health (added by the lifecycle) and the audit API: the gateway's output is its
        # topics, but its store is verified like every other (issue 20).
        app = FastAPI(title="Passend integration gateway", version="0.1.0")
        app.include_router(audit_router(ctx))
        return app

    return ServiceSpec(
        name=config.name,
        topic=OWN_TOPIC,
        migrations="passend_gateway.migrations",
        create_app=create_app,
        reactors=(IntegrationReactor(publisher),),
        gauges=(held_event_gauges, unpublished.unpublished_gauges),
        background=(close_publisher, unpublished.sender(publisher)),
    )
