"""Service configuration, only from environment variables, validated at start.

A wrong value stops the service with a message that names the variable.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from passend_backbone.kafka_settings import BrokerKind


class ServiceSettings(BaseSettings):
    """What every service reads from its environment."""

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
    http_host: str = Field(default="127.0.0.1", description="Address the HTTP API binds to")
    http_port: int = Field(default=8000, ge=0, le=65535, description="Port of the HTTP API")
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
    republish_on_start: bool = Field(
        default=False,
        description="Republish every stored event to the broker at start (lost topics)",
    )


class ConfigurationError(SystemExit):
    """Stops the service: a variable is missing or wrong. The message names it."""


def load_settings() -> ServiceSettings:
    """Settings from the environment, or a :class:`ConfigurationError` naming the variable."""
    try:
        return ServiceSettings()
    except ValidationError as exc:
        problems = [
            f"{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ConfigurationError(
            "configuration error, the service does not start:\n  " + "\n  ".join(problems)
        ) from None
