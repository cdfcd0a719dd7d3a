"""Topic names as the services of the running test module name them on the broker."""

from __future__ import annotations

import os

from passend_backbone import topics
from passend_backbone.service import ServiceSpec


def on_broker(topic: str) -> str:
    """``topic`` with the test module's namespace (``tests/conftest.py``: topic_namespace)."""
    return os.environ.get("KAFKA_TOPIC_PREFIX", "") + topic


async def apply_for(bootstrap: str, *specs: ServiceSpec, prefix: str | None = None) -> None:
    """The operator's topics step for services the catalogue doesn't know (a test's own).

    ``tests/conftest.py`` applies the catalogue's plan for every module that uses the
    broker; a test that runs a service spec of its own creates that one's topics here.
    """
    namespace = os.environ.get("KAFKA_TOPIC_PREFIX", "") if prefix is None else prefix
    wanted = topics.plan([topics.ServiceTopics.of_spec(s) for s in specs], (), namespace)
    report = await topics.apply(topics.KafkaTopics(bootstrap), wanted, topics.Durability())
    assert report.ok, report.remaining
