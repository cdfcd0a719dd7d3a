"""The SWV's Team NO regions for trajectory tests: configured as assignment's directory does,
by a ``TeamNoRegionConfigured`` on the assignment topic, read back from ``GET /regions``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from passend_backbone.kafka_io import start_producer
from passend_backbone.kafka_settings import BrokerKind
from passend_contracts import topics
from passend_contracts.events.assignment import TeamNoRegionConfigured
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from tests.integration.trajectory.conftest import Service
from tests.integration.trajectory.kit import SWV, T0, cloud_event, headers
from tests.topics import on_broker

WATERWEG = ("GM0556", "GM0606", "GM0622")  # Maassluis, Schiedam, Vlaardingen
COORDINATOR_H = headers("coordinator", "co-henk", work_unit_id="wu-vlaardingen")


async def configure_region(
    service: Service,
    broker: Broker,
    region: str = "waterweg",
    municipalities: Sequence[str] = WATERWEG,
    *,
    members: Sequence[str] = (),
    at: datetime = T0,
) -> dict[str, Any]:
    """Publish the region as the directory does and wait until the trajectory routes by it."""
    payload = TeamNoRegionConfigured(
        swv_id=SWV,
        region=region,
        name=f"Team NO {region}",
        municipalities=sorted(municipalities),
        members=sorted(members),
        configured_at=at,
    )
    kind: BrokerKind = "kafka" if broker.kind == "kafka" else "tansu"
    producer = await start_producer(broker.bootstrap_servers, kind)
    try:
        key, kafka_headers, value = cloud_event(payload, "/passend/assignment", at=at).to_kafka()
        await producer.send_and_wait(
            on_broker(topics.ASSIGNMENT), value=value, key=key, headers=kafka_headers
        )
    finally:
        await producer.stop()

    async def configured() -> dict[str, Any] | None:
        response = await service.http.get("/regions", headers=COORDINATOR_H)
        assert response.status_code == 200, response.text
        for found in response.json()["regions"]:
            codes = sorted(m["code"] for m in found["municipalities"])
            if found["region"] == region and codes == sorted(municipalities):
                return dict(found)
        return None

    listed: dict[str, Any] = await eventually(configured, timeout=30, what=f"region {region}")
    return listed
