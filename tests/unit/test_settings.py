"""Settings come only from the environment, and a wrong value names its variable.

Also the services' own settings (``NOTIFICATIONS_*``, ``GATEWAY_*``,
``ASSIGNMENT_DIRECTORY_FILE``) and the broker security settings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from passend_backbone.kafka_settings import KafkaSecuritySettings, client_security_settings
from passend_backbone.settings import (
    ConfigurationError,
    ServiceSettings,
    check_file_variable,
    load_config,
    load_settings,
)
from passend_gateway.config import GatewayConfig
from passend_notifications.config import load_notification_settings

VARIABLES = [
    name.upper() for cls in (ServiceSettings, KafkaSecuritySettings) for name in cls.model_fields
]
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
        ("KAFKA_REPLICATION_FACTOR", "0"),
        ("KAFKA_SECURITY_PROTOCOL", "TLS"),
        ("KAFKA_SASL_MECHANISM", "GSSAPI"),
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


def test_levels_and_kinds_are_accepted_in_any_case(env: pytest.MonkeyPatch) -> None:
    env.setenv("LOG_LEVEL", "INFO")
    env.setenv("LOG_FORMAT", "JSON")
    env.setenv("KAFKA_BROKER_KIND", "Tansu")
    settings = load_settings()
    assert (settings.log_level, settings.log_format) == ("info", "json")
    assert settings.kafka_broker_kind == "tansu"


def test_plaintext_needs_no_security_settings_and_passes_none_to_clients(
    env: pytest.MonkeyPatch,
) -> None:
    load_settings()
    assert client_security_settings(KafkaSecuritySettings()) == {}


def test_sasl_ssl_passes_mechanism_credentials_and_a_tls_context(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("KAFKA_SECURITY_PROTOCOL", "sasl_ssl")
    env.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    env.setenv("KAFKA_SASL_USERNAME", "passend-intake")
    env.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    load_settings()
    options = client_security_settings()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "passend-intake",
        "s3cret",
    )
    assert options["ssl_context"] is not None
    assert "s3cret" not in repr(KafkaSecuritySettings()), "the password never shows"


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_MECHANISM"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "PLAIN"},
            "KAFKA_SASL_PASSWORD",
        ),
        ({"KAFKA_SASL_USERNAME": "u"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"KAFKA_SSL_CAFILE": "/etc/ca.pem"}, "KAFKA_SECURITY_PROTOCOL"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": "/no/such/ca.pem"},
            "KAFKA_SSL_CAFILE",
        ),
    ],
)
def test_inconsistent_security_settings_name_the_variable(
    env: pytest.MonkeyPatch, given: dict[str, str], named: str
) -> None:
    for name, value in given.items():
        env.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert named in str(raised.value)
    assert "does not start" in str(raised.value)


def test_a_wrong_gateway_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_INTAKE_URL", "intake:8001")
    with pytest.raises(ConfigurationError) as raised:
        load_config(GatewayConfig)
    assert "GATEWAY_INTAKE_URL:" in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NOTIFICATIONS_SMTP_PORT", "0"),
        ("NOTIFICATIONS_SMTP_TLS", "perhaps"),
        ("NOTIFICATIONS_LEASE_SECONDS", "1"),
    ],
)
def test_a_wrong_notifications_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as raised:
        load_notification_settings()
    assert variable in str(raised.value.code)


def test_the_directory_file_variable_must_name_a_readable_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ASSIGNMENT_DIRECTORY_FILE", raising=False)
    assert check_file_variable("ASSIGNMENT_DIRECTORY_FILE") is None
    monkeypatch.setenv("ASSIGNMENT_DIRECTORY_FILE", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigurationError) as raised:
        check_file_variable("ASSIGNMENT_DIRECTORY_FILE")
    assert "ASSIGNMENT_DIRECTORY_FILE:" in str(raised.value)
    present = tmp_path / "directory.yaml"
    present.write_text("swvs: []\n")
    monkeypatch.setenv("ASSIGNMENT_DIRECTORY_FILE", str(present))
    assert check_file_variable("ASSIGNMENT_DIRECTORY_FILE") == present
