"""Log lines are JSON with time, level, service and bound ids, and never carry personal data."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from passend_backbone.lifecycle import log_delivery_settings
from passend_backbone.logs import (
    REDACTED,
    configure_logging,
    get_logger,
    is_personal_data_key,
    log_context,
    redact,
    redact_personal_data,
)
from passend_backbone.settings import ServiceSettings


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """Logging configured into a buffer; the previous configuration restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging("intake", level="info", stream=buffer)
    try:
        yield buffer
    finally:
        structlog.reset_defaults()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


@pytest.mark.parametrize(
    "key",
    [
        "pupil_name",
        "name",
        "date_of_birth",
        "birth_date",
        "email",
        "phone",
        "address",
        "bsn",
        "parent_name",
        "parent_phone",
        "Email",
        "PARENT_EMAIL",
        "educational_need",
    ],
)
def test_personal_data_keys_are_recognised(key: str) -> None:
    assert is_personal_data_key(key)


@pytest.mark.parametrize("key", ["case_id", "swv", "event_type", "school_id", "topic", 42])
def test_other_keys_are_not(key: object) -> None:
    assert not is_personal_data_key(key)


def test_redaction_reaches_every_depth_and_keeps_the_rest() -> None:
    data = {
        "case_id": "c-1",
        "pupil": {"name": "Sanne de Vries", "date_of_birth": "2015-04-01", "group": 5},
        "contacts": [{"parent_email": "ouder@example.nl", "role": "mother"}],
        "pair": ({"bsn": "123456782"}, "kept"),
    }
    assert redact(data) == {
        "case_id": "c-1",
        "pupil": {"name": REDACTED, "date_of_birth": REDACTED, "group": 5},
        "contacts": [{"parent_email": REDACTED, "role": "mother"}],
        "pair": ({"bsn": REDACTED}, "kept"),
    }


def test_the_processor_redacts_top_level_and_nested_values() -> None:
    event = {"event": "request_received", "email": "ib@school.nl", "body": {"phone": "06"}}
    assert redact_personal_data(None, "info", event) == {
        "event": "request_received",
        "email": REDACTED,
        "body": REDACTED,
    }
    nested = {"event": "x", "payload": {"address": "Dorpsstraat 1", "case_id": "c-1"}}
    assert redact_personal_data(None, "info", nested)["payload"] == {
        "address": REDACTED,
        "case_id": "c-1",
    }


def test_a_line_is_json_with_utc_time_level_service_and_bound_ids(output: io.StringIO) -> None:
    with log_context(correlation_id="corr-1", case_id="case-9"):
        get_logger("test").info("claim_recorded", worker_id="w-1")
    (line,) = lines(output)
    assert line["event"] == "claim_recorded"
    assert line["level"] == "info"
    assert line["service"] == "intake"
    assert line["timestamp"].endswith("Z"), "ISO 8601 in UTC"
    assert (line["correlation_id"], line["case_id"], line["worker_id"]) == (
        "corr-1",
        "case-9",
        "w-1",
    )


def test_bound_ids_end_with_their_block(output: io.StringIO) -> None:
    with log_context(correlation_id="corr-1"):
        pass
    get_logger("test").info("later")
    assert "correlation_id" not in lines(output)[0]


def test_personal_data_never_reaches_the_output(output: io.StringIO) -> None:
    with log_context(case_id="case-9"):
        get_logger("test").warning(
            "odd_request", pupil_name="Sanne", data={"parents": [{"parent_phone": "0612345678"}]}
        )
    text = output.getvalue()
    assert "Sanne" not in text
    assert "0612345678" not in text
    (line,) = lines(output)
    assert line["pupil_name"] == REDACTED
    assert line["data"] == {"parents": [{"parent_phone": REDACTED}]}


def test_standard_library_loggers_share_the_format_and_the_context(output: io.StringIO) -> None:
    with log_context(correlation_id="corr-2"):
        logging.getLogger("aiokafka.consumer").warning("rebalance in %s", "group-a")
    (line,) = lines(output)
    assert line["event"] == "rebalance in group-a"
    assert line["level"] == "warning"
    assert line["logger"] == "aiokafka.consumer"
    assert line["service"] == "intake"
    assert line["correlation_id"] == "corr-2"


def test_lines_below_the_level_are_dropped(output: io.StringIO) -> None:
    get_logger("test").debug("noise")
    logging.getLogger("aiokafka").debug("noise")
    assert output.getvalue() == ""


def test_answered_health_checks_stay_out_of_the_access_log(output: io.StringIO) -> None:
    access = logging.getLogger("uvicorn.access")
    line = '%s - "%s %s HTTP/%s" %d'
    access.info(line, "127.0.0.1:1", "GET", "/health/ready", "1.1", 200)
    access.info(line, "127.0.0.1:1", "GET", "/health/ready", "1.1", 503)
    access.info(line, "127.0.0.1:1", "POST", "/requests", "1.1", 201)
    events = [entry["event"] for entry in lines(output)]
    assert len(events) == 2
    assert "503" in events[0]
    assert "/requests" in events[1]


def test_exceptions_are_structured_without_local_variables(output: io.StringIO) -> None:
    def fail(pupil_name: str) -> None:
        raise ValueError("no consent recorded")

    try:
        fail("Sanne")
    except ValueError:
        get_logger("test").exception("handler_failed")
    text = output.getvalue()
    assert "Sanne" not in text
    (line,) = lines(output)
    (exception,) = line["exception"]
    assert exception["exc_type"] == "ValueError"
    assert exception["frames"][-1]["name"] == "fail", "frame names are code, not personal data"


def test_the_delivery_settings_are_logged_as_one_line() -> None:
    settings = ServiceSettings(
        database_url="postgresql://db/passend_intake",
        kafka_bootstrap_servers="kafka:9092",
        kafka_broker_kind="kafka",
        auth_jwks="/keys/jwks.json",
    )
    with capture_logs() as captured:
        log_delivery_settings(get_logger("test"), settings)
    (line,) = captured
    assert line["event"] == "delivery_settings"
    assert line["producer_acks"] == "all"
    assert line["producer_idempotence"] is True
    assert line["consumer_auto_commit"] is False
    assert line["consumer_isolation_level"] == "read_committed"
    assert line["consumer_session_timeout_ms"] >= 6000, "Apache Kafka refuses shorter ones"
