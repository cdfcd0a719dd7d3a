"""Topic names as the services of the running test module name them on the broker."""

from __future__ import annotations

import os


def on_broker(topic: str) -> str:
    """``topic`` with the test module's namespace (``tests/conftest.py``: topic_namespace)."""
    return os.environ.get("KAFKA_TOPIC_PREFIX", "") + topic
