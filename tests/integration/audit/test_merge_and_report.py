"""Pure parts of auditing: causal merge across services, Dutch descriptions, report hashing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from passend_backbone.audit.descriptions import TEMPLATES, base_type, describe
from passend_backbone.audit.merge import merge
from passend_backbone.audit.report import content_hash, html_report, stated_hash
from passend_contracts.registry import EVENT_TYPES


def event(
    service: str, event_id: str, at: str, cause: str, version: int, position: int
) -> dict[str, Any]:
    return {
        "kind": "event",
        "service": service,
        "event_id": event_id,
        "occurred_at": at,
        "causation_id": cause,
        "correlation_id": "c-1",
        "stream_id": "case-1",
        "stream_version": version,
        "position": position,
        "actor": "x",
        "description": event_id,
    }


def test_an_effect_follows_its_cause_even_when_its_clock_ran_behind() -> None:
    submitted = event("intake", "e1", "2027-03-02T09:00:00+00:00", "cmd-1", 1, 10)
    routed = event("assignment", "e2", "2027-03-02T09:00:01+00:00", "e1", 1, 3)
    claimed = event("assignment", "e3", "2027-03-02T09:05:00+00:00", "cmd-2", 2, 4)
    # trajectory's clock is two minutes slow: by time alone it would precede the claim.
    opened = event("trajectory", "e4", "2027-03-02T09:03:00+00:00", "e3", 1, 1)
    read = {
        "kind": "read",
        "service": "intake",
        "read_id": 1,
        "read_at": "2027-03-02T09:04:00+00:00",
        "reader": "a",
        "reader_role": "auditor",
        "purpose": "p",
        "view": "v",
    }
    ordered = [e.get("event_id", "read") for e in merge([opened, read, claimed, routed, submitted])]
    assert ordered == ["e1", "e2", "read", "e3", "e4"]


def test_a_streams_versions_keep_their_order() -> None:
    later = event("assignment", "e2", "2027-03-02T09:00:00+00:00", "cmd", 2, 2)
    earlier = event("assignment", "e1", "2027-03-02T09:10:00+00:00", "cmd", 1, 1)
    assert [e["event_id"] for e in merge([later, earlier])] == ["e1", "e2"]


def test_every_event_type_has_a_dutch_description() -> None:
    missing = [t for t in EVENT_TYPES if base_type(t) not in TEMPLATES]
    assert missing == []
    text = describe("nl.passend.assignment.CaseClaimed.v1", {"worker_id": "ow-anouk"})
    assert text == "Casus opgepakt door ondersteuner ow-anouk"
    assert "?" in describe("nl.passend.assignment.CaseClaimed.v1", {})


def test_the_report_states_the_hash_of_its_content_and_a_change_shows() -> None:
    entries = [event("intake", "e1", "2027-03-02T09:00:00+00:00", "cmd", 1, 1)]
    html = html_report(
        "case-1",
        entries,
        generated_at=datetime(2027, 3, 2, tzinfo=UTC),
        generated_by="test",
        sources={"intake": "http://intake"},
    )
    assert stated_hash(html) == content_hash(html) is not None
    changed = html.replace("e1", "e9")
    assert stated_hash(changed) != content_hash(changed)
