"""The Prometheus rules in deploy/ load, say what to do, and name only metrics that exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from passend_backbone.metrics import ServiceMetrics
from passend_gateway.held import HELD_EVENTS, HELD_OLDEST_AGE
from passend_gateway.unpublished import UNPUBLISHED_EVENTS

RULES = Path(__file__).parents[2] / "deploy" / "prometheus" / "rules.yaml"


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def known_metrics() -> set[str]:
    """Every series name a service exposes (counters with ``_total``, histograms' parts)."""
    names = {HELD_EVENTS, HELD_OLDEST_AGE, UNPUBLISHED_EVENTS}
    for metric in ServiceMetrics("x").collectors.collect():
        names.add(metric.name)
        kind = metric.type
        if kind == "counter":
            names.add(metric.name + "_total")
        if kind == "histogram":
            names |= {metric.name + s for s in ("_bucket", "_sum", "_count")}
    return names


def test_every_rule_has_a_severity_a_summary_and_a_runbook() -> None:
    found = rules()
    assert found
    for rule in found:
        assert {"alert", "expr", "labels", "annotations"} <= set(rule), rule
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert {"summary", "runbook"} <= set(rule["annotations"])
    names = [r["alert"] for r in found]
    assert len(names) == len(set(names))


def test_rules_name_only_metrics_that_exist() -> None:
    known = known_metrics()
    for rule in rules():
        for name in re.findall(r"\bpassend_[a-z_]+", str(rule["expr"])):
            assert name in known, f"{rule['alert']}: no metric {name}"


def test_held_events_and_unknown_types_have_alerts() -> None:
    exprs = " ".join(str(r["expr"]) for r in rules())
    assert HELD_OLDEST_AGE in exprs and HELD_EVENTS in exprs
    assert "passend_unknown_event_types_skipped_total" in exprs
    assert "passend_dead_lettered_messages_total" in exprs
