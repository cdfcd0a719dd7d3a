"""Settings come only from the environment, and a wrong value names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from passend_backbone.settings import ConfigurationError, ServiceSettings, load_settings

VARIABLES = [name.upper() for name in ServiceSettings.model_fields]
VALID = {
    "DATABASE_URL": "postgresql://passend@db:5432/passend_intake",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9092,kafka-2:9092",
    "AUTH_JWKS": "https://login.example.nl/.well-known/jwks.json",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment with exactly the valid minimum (the suite's own variables removed)."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in VALID.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_the_minimum_is_three_variables_and_the_rest_has_defaults(env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.database_url == VALID["DATABASE_URL"]
    assert settings.kafka_bootstrap_servers == VALID["KAFKA_BOOTSTRAP_SERVERS"]
    assert settings.kafka_broker_kind == "kafka", "production is the default"
    assert settings.http_port == 8000
    assert settings.log_format == "json"
    assert settings.republish_on_start is False


def test_values_are_read_from_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("HTTP_PORT", "8003")
    env.setenv("KAFKA_BROKER_KIND", "tansu")
    env.setenv("REPUBLISH_ON_START", "true")
    env.setenv("LOG_LEVEL", "debug")
    settings = load_settings()
    assert (settings.http_port, settings.kafka_broker_kind) == (8003, "tansu")
    assert settings.republish_on_start is True
    assert settings.log_level == "debug"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HTTP_PORT", "abc"),
        ("HTTP_PORT", "70000"),
        ("DATABASE_URL", "mysql://db/passend"),
        ("KAFKA_BROKER_KIND", "redpanda"),
        ("KAFKA_BOOTSTRAP_SERVERS", ""),
        ("LOG_LEVEL", "verbose"),
        ("LOG_FORMAT", "xml"),
        ("REPUBLISH_ON_START", "maybe"),
    ],
)
def test_a_wrong_value_names_the_variable(
    env: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    env.setenv(variable, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert f"{variable}:" in message
    assert "does not start" in message


def test_a_missing_variable_is_named_and_so_is_every_other_problem(
    env: pytest.MonkeyPatch,
) -> None:
    env.delenv("DATABASE_URL")
    env.setenv("HTTP_PORT", "abc")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert "DATABASE_URL:" in message
    assert "HTTP_PORT:" in message


def test_a_configuration_error_stops_the_process_with_its_message(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("HTTP_PORT", "abc")
    with pytest.raises(SystemExit) as raised:
        load_settings()
    # SystemExit with a text prints the text and exits with status 1.
    assert isinstance(raised.value.code, str)
    assert "HTTP_PORT" in raised.value.code


def test_the_readme_documents_every_variable() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    undocumented = [name for name in VARIABLES if f"| `{name}` |" not in readme]
    assert undocumented == [], "add them to the configuration table in README.md"
