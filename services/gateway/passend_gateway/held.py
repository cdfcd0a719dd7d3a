"""The gateway's held events as gauges: how many wait for their case's region, and how long.

An event of a case whose municipality no event has named yet is held (``held_events``)
and released when one does. A case that never escalates may never be named: such events
would wait forever, unseen. These gauges, and the alert on them in
``deploy/prometheus/rules.yaml``, make them seen.
"""

from __future__ import annotations

from collections.abc import Sequence

from passend_backbone.service import GaugeReading, ServiceContext

HELD_EVENTS = "passend_gateway_held_events"
HELD_OLDEST_AGE = "passend_gateway_held_events_oldest_age_seconds"

# The oldest by ``seq`` (the primary key's index): no scan at scrape time.
_HELD = """
SELECT (SELECT count(*) FROM held_events) AS held,
       coalesce((SELECT extract(epoch FROM now() - held_at)::float8
                 FROM held_events ORDER BY seq LIMIT 1), 0) AS oldest_age
"""


async def held_event_gauges(ctx: ServiceContext) -> Sequence[GaugeReading]:
    """The number of held events and the age in seconds of the oldest (0 when none)."""
    row = await ctx.pool.fetchrow(_HELD)
    assert row is not None
    return [
        GaugeReading(
            HELD_EVENTS,
            "Events held because their case's region (municipality) is not known yet",
            float(row["held"]),
        ),
        GaugeReading(
            HELD_OLDEST_AGE,
            "Seconds the oldest held event has been waiting for its case's region (0 if none)",
            float(row["oldest_age"]),
        ),
    ]
