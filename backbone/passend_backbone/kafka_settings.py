"""The settings that decide delivery and how clients reach the brokers, in one place.

Producers wait for all in-sync replicas (``acks=all``). Apache Kafka gets the idempotent
producer; Tansu (the dev broker) can't do InitProducerId, so idempotence is off there and
the outbox relay's at-least-once plus idempotent consumers carry the guarantee.
Consumers never auto-commit: offsets are committed after the handler's database
transaction committed (at-least-once; handlers are idempotent).
Group joins take about half the session timeout; Tansu accepts short ones, Apache Kafka
refuses session timeouts under its ``group.min.session.timeout.ms`` (6 s by default).

How every client (producer, consumer, admin) authenticates and encrypts comes from the
``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_*`` and ``KAFKA_SSL_*`` variables, through
:func:`client_security_settings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BrokerKind = Literal["kafka", "tansu"]
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


# How long a fetch waits for records on Tansu (see consumer_settings).
TANSU_FETCH_WAIT_MS = 20


def producer_settings(kind: BrokerKind) -> dict[str, Any]:
    """Keyword arguments for ``aiokafka.AIOKafkaProducer`` (security: see below)."""
    return {
        "acks": "all",
        "enable_idempotence": kind == "kafka",
        "linger_ms": 5,
        "max_batch_size": 1024 * 1024,
        "compression_type": None,
        "request_timeout_ms": 30_000,
    }


def consumer_settings(kind: BrokerKind) -> dict[str, Any]:
    """Keyword arguments for ``aiokafka.AIOKafkaConsumer`` (manual commits)."""
    fast_group = kind == "tansu"
    return {
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_uncommitted" if fast_group else "read_committed",
        "session_timeout_ms": 1_000 if fast_group else 10_000,
        "heartbeat_interval_ms": 200 if fast_group else 3_000,
        "max_poll_records": 500,
        # Apache Kafka answers a fetch as soon as one byte is there; Tansu waits out the
        # whole fetch wait, which put up to 0.5 s on every hop between services. 20 ms
        # keeps a hop near 10 ms on average; shorter waits cost more CPU than they save
        # (idle, a service pair measured 21% of a core at 100 ms, 45% at 20, 60% at 10).
        "fetch_max_wait_ms": TANSU_FETCH_WAIT_MS if fast_group else 500,
    }


# How long the lazy loop's fetch waits for records (``lazy_fetch``).
LAZY_FETCH_WAIT_MS = 1_000


def lazy_fetch() -> dict[str, Any]:
    """Fetch settings for a reader that need not be quick: a service's own topic, whose
    events its appends applied already (``passend_backbone.consumer.loops``).

    A broker answers such a fetch when a megabyte is there or a second has passed, so the
    reader asks for each partition about once a second instead of once per record batch.
    """
    # The same on both kinds: Tansu waits out the wait anyway, Kafka until the bytes came.
    return {"fetch_max_wait_ms": LAZY_FETCH_WAIT_MS, "fetch_min_bytes": 1024 * 1024}


class KafkaSecuritySettings(BaseSettings):
    """How clients authenticate to the brokers and encrypt the connection."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    kafka_security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT",
        description="PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL (SASL over TLS)",
    )
    kafka_sasl_mechanism: SaslMechanism | None = Field(
        default=None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with SASL_*)"
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password")
    kafka_ssl_cafile: Path | None = Field(
        default=None, description="PEM file of the CA that signed the brokers' certificates"
    )
    kafka_ssl_certfile: Path | None = Field(
        default=None, description="PEM client certificate (mutual TLS)"
    )
    kafka_ssl_keyfile: Path | None = Field(
        default=None, description="PEM private key of the client certificate"
    )

    @model_validator(mode="before")
    @classmethod
    def _upper_case_names(cls, values: Any) -> Any:
        # Protocol and mechanism names are conventionally upper case; accept any case.
        if isinstance(values, dict):
            for key, value in list(values.items()):
                named = key.lower() in {"kafka_security_protocol", "kafka_sasl_mechanism"}
                if named and isinstance(value, str):
                    values[key] = value.strip().upper() or None
        return values

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSecuritySettings:
        protocol = self.kafka_security_protocol
        sasl = protocol.startswith("SASL_")
        tls = protocol in {"SSL", "SASL_SSL"}
        if sasl:
            missing = [
                name
                for name, value in (
                    ("KAFKA_SASL_MECHANISM", self.kafka_sasl_mechanism),
                    ("KAFKA_SASL_USERNAME", self.kafka_sasl_username),
                    ("KAFKA_SASL_PASSWORD", self.kafka_sasl_password),
                )
                if not value
            ]
            if missing:
                raise ValueError(
                    f"KAFKA_SECURITY_PROTOCOL={protocol} needs {', '.join(missing)}: set them"
                )
        elif self.kafka_sasl_mechanism or self.kafka_sasl_username or self.kafka_sasl_password:
            raise ValueError(
                f"KAFKA_SASL_* is set but KAFKA_SECURITY_PROTOCOL is {protocol}: "
                "use SASL_SSL (or SASL_PLAINTEXT), or remove the SASL variables"
            )
        files = {
            "KAFKA_SSL_CAFILE": self.kafka_ssl_cafile,
            "KAFKA_SSL_CERTFILE": self.kafka_ssl_certfile,
            "KAFKA_SSL_KEYFILE": self.kafka_ssl_keyfile,
        }
        given = {name: path for name, path in files.items() if path is not None}
        if given and not tls:
            raise ValueError(
                f"{', '.join(given)} set but KAFKA_SECURITY_PROTOCOL is {protocol}: "
                "use SSL or SASL_SSL, or remove them"
            )
        for name, path in given.items():
            if not path.is_file():
                raise ValueError(f"{name}: no readable file at {path}")
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ValueError("set KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE together (mutual TLS)")
        return self


def client_security_settings(settings: KafkaSecuritySettings | None = None) -> dict[str, Any]:
    """Keyword arguments for every aiokafka client: producer, consumer, admin, metadata.

    ``settings`` defaults to the environment's (validated at start by the runtime).
    """
    s = settings if settings is not None else KafkaSecuritySettings()
    protocol = s.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in {"SSL", "SASL_SSL"}:
        # Imported here: only deployments with TLS need it.
        from aiokafka.helpers import create_ssl_context

        options["ssl_context"] = create_ssl_context(
            cafile=str(s.kafka_ssl_cafile) if s.kafka_ssl_cafile else None,
            certfile=str(s.kafka_ssl_certfile) if s.kafka_ssl_certfile else None,
            keyfile=str(s.kafka_ssl_keyfile) if s.kafka_ssl_keyfile else None,
        )
    if protocol.startswith("SASL_"):
        password = s.kafka_sasl_password
        options["sasl_mechanism"] = s.kafka_sasl_mechanism
        options["sasl_plain_username"] = s.kafka_sasl_username
        options["sasl_plain_password"] = password.get_secret_value() if password else None
    return options


def security_summary(settings: KafkaSecuritySettings) -> dict[str, Any]:
    """What the start-up log says about broker security (never the password)."""
    return {
        "kafka_security_protocol": settings.kafka_security_protocol,
        "kafka_sasl_mechanism": settings.kafka_sasl_mechanism,
        "kafka_sasl_username": settings.kafka_sasl_username,
        "kafka_ssl_cafile": str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
        "kafka_ssl_client_certificate": settings.kafka_ssl_certfile is not None,
    }
