"""Service configuration, only from environment variables, validated at start.

A wrong value stops the service with a message that names the variable. The runtime's
settings are :class:`ServiceSettings`; a service's own (``NOTIFICATIONS_*``,
``GATEWAY_*``, ...) are loaded with :func:`load_config`, which reports the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from passend_backbone.auth.trust import TrustedIssuer
from passend_backbone.kafka_settings import BrokerKind, KafkaSecuritySettings

ConfigT = TypeVar("ConfigT", bound=BaseSettings)


class ServiceSettings(BaseSettings):
    """What every service reads from its environment.

    How clients reach the brokers securely (``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_*``,
    ``KAFKA_SSL_*``) is :class:`~passend_backbone.kafka_settings.KafkaSecuritySettings`,
    validated at start together with these by :func:`load_settings`.
    """

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = Field(
        description="PostgreSQL URL of this service's own database",
        pattern=r"^postgres(ql)?://",
    )
    kafka_bootstrap_servers: str = Field(
        description="Comma-separated host:port list of the Kafka brokers", min_length=3
    )
    kafka_broker_kind: BrokerKind = Field(
        default="kafka",
        description="kafka (Apache Kafka, idempotent producer) or tansu (the dev broker)",
    )
    kafka_topic_prefix: str = Field(
        default="",
        pattern=r"^[a-z0-9._-]{0,40}$",
        description=(
            "Put before every topic name this service reads or writes, so several systems "
            "(or test runs) can share one Kafka cluster; empty in a normal deployment"
        ),
    )
    kafka_replication_factor: int = Field(
        default=1,
        ge=1,
        description="Replicas each topic must have (production: 3); checked at start",
    )
    kafka_min_insync_replicas: int = Field(
        default=1,
        ge=1,
        description="min.insync.replicas each topic must have (production: 2); checked at start",
    )
    http_host: str = Field(default="127.0.0.1", description="Address the HTTP API binds to")
    http_port: int = Field(default=8000, ge=0, le=65535, description="Port of the HTTP API")
    http_max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body taken; a larger one gets 413 before it is read",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(default="info")
    log_format: Literal["json", "console"] = Field(default="json")
    auth_issuer: str = Field(
        default="passend-dev-issuer", description="Expected `iss` of bearer tokens (OIDC issuer)"
    )
    auth_audience: str = Field(default="passend", description="Expected `aud` of bearer tokens")
    auth_jwks: str = Field(
        description="Where the issuer's signing keys are: a JWKS URL (https://...) or a file path",
        min_length=1,
    )
    auth_trusted_issuers: list[TrustedIssuer] = Field(
        default_factory=list,
        description=(
            "More issuers whose tokens are accepted, as JSON (docs/sign-in.md): identity "
            "providers of machine clients (client credentials), each with its audience, "
            "keys, algorithms and the Passend role of every client"
        ),
    )
    republish_on_start: bool = Field(
        default=False,
        description="Republish every stored event to the broker at start (lost topics)",
    )

    @field_validator("log_level", "log_format", "kafka_broker_kind", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        # LOG_LEVEL=INFO is how most operators write it.
        return value.strip().lower() if isinstance(value, str) else value


class ConfigurationError(SystemExit):
    """Stops the service: a variable is missing or wrong. The message names it."""


def variable_problems(exc: ValidationError, prefix: str = "") -> list[str]:
    """One line per problem, each starting with the environment variable it is about.

    A check across several variables has no single location; its message names them.
    """
    problems = []
    for err in exc.errors():
        message = err["msg"].removeprefix("Value error, ")
        if err["loc"]:
            name = prefix + "_".join(str(p) for p in err["loc"])
            problems.append(f"{name.upper()}: {message}")
        else:
            problems.append(message)
    return problems


def load_config(cls: type[ConfigT]) -> ConfigT:
    """``cls()`` from the environment, or a :class:`ConfigurationError` naming the variable."""
    try:
        return cls()
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix") or "")
        raise ConfigurationError(
            "configuration error, the service does not start:\n  "
            + "\n  ".join(variable_problems(exc, prefix))
        ) from None


def load_settings() -> ServiceSettings:
    """Settings from the environment, or a :class:`ConfigurationError` naming the variable.

    The broker security settings are checked too (every problem is reported at once).
    """
    problems: list[str] = []
    for cls in (ServiceSettings, KafkaSecuritySettings):
        try:
            load_config(cls)
        except ConfigurationError as exc:
            problems.extend(str(exc.code).splitlines()[1:])
    if problems:
        raise ConfigurationError(
            "configuration error, the service does not start:\n" + "\n".join(problems)
        )
    return ServiceSettings()


def check_file_variable(name: str, *, required: bool = False) -> Path | None:
    """The file named by variable ``name``, checked readable now rather than when first used.

    Returns ``None`` when the variable is unset (and not ``required``).
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        if required:
            raise ConfigurationError(
                f"configuration error, the service does not start:\n  {name}: required"
            )
        return None
    path = Path(raw)
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ConfigurationError(
            f"configuration error, the service does not start:\n  {name}: "
            f"can't read {raw} ({exc.strerror or exc})"
        ) from None
    return path
