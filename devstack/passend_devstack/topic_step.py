"""The dev stack's topics step: ``passend-ops topics apply`` before any service starts.

Services never create topics and are not ready without theirs, so the stack applies the
same plan an operator applies in production: every service's topics from the catalogue,
the integration topics of ``KAFKA_INTEGRATION_MUNICIPALITIES`` (default: every current
municipality), under ``KAFKA_TOPIC_PREFIX``. A service the catalogue doesn't know (a
test's fake service) brings its own topics: its module's ``SPEC``.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Sequence

from passend_backbone import topics
from passend_devstack.catalog import ServiceEntry


def service_topics(entries: Sequence[ServiceEntry]) -> list[topics.ServiceTopics]:
    """The catalogue's services, and those of ``entries`` outside it that declare a SPEC."""
    known = topics.load_catalogue()
    names = {s.service for s in known}
    extra = []
    for entry in entries:
        if entry.name in names or entry.module == f"passend_{entry.name}":
            continue
        spec = getattr(importlib.import_module(entry.module), "SPEC", None)
        if spec is not None:
            extra.append(topics.ServiceTopics.of_spec(spec))
    return [*known, *extra]


def apply_topics(
    bootstrap: str, entries: Sequence[ServiceEntry], say: Callable[[str], None]
) -> topics.ApplyReport:
    """Apply the plan on the broker at ``bootstrap``; raises when a topic isn't as planned."""
    settings = topics.TopicSettings(kafka_bootstrap_servers=bootstrap)
    wanted = topics.plan(
        service_topics(entries), settings.municipality_codes(), settings.kafka_topic_prefix
    )
    say(f"Applying the topics ({len(wanted)}; `{topics.APPLY_COMMAND}`) ...")
    report = asyncio.run(topics.apply(topics.KafkaTopics(bootstrap), wanted, settings.durability()))
    if not report.ok:
        raise RuntimeError("topics not as planned: " + "; ".join(report.remaining))
    return report
