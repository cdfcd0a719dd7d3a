"""Delivery settings of the notifications service, from ``NOTIFICATIONS_*`` variables."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from passend_notifications.domain.retry import RetryPolicy
from passend_notifications.secret_box import SecretBox, key_ring


class NotificationSettings(BaseSettings):
    """SMTP, webhook and retry settings; a wrong value stops the service naming the variable."""

    model_config = SettingsConfigDict(
        env_prefix="NOTIFICATIONS_", case_sensitive=False, extra="ignore"
    )

    smtp_host: str = Field(default="localhost", description="Mail server (MTA) host")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = Field(default=False, description="Upgrade with STARTTLS after EHLO")
    smtp_tls: bool = Field(default=False, description="Implicit TLS from the start (port 465)")
    smtp_ca_file: str | None = Field(
        default=None, description="PEM file of the CA that signed the mail server's certificate"
    )
    smtp_username: str | None = Field(default=None, description="Log in when set")
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = Field(default="Passend <noreply@passend.local>")
    message_id_domain: str = Field(
        default="passend.local", description="Right-hand side of the deterministic Message-ID"
    )
    case_link_base: str = Field(
        default="http://localhost:8000/zaken",
        description="Links in messages point at <base>/<case id>; access is checked there",
    )
    parent_link_base: str = Field(
        default="http://localhost:8000/toestemming",
        description="A parent's personal link is <base>/<token> (the portal's parent page)",
    )
    intake_url: str = Field(
        default="http://127.0.0.1:8001",
        description="Intake's API: the parents' details are asked there at delivery",
    )
    service_tokens: str | None = Field(
        default=None,
        description="Directory of this service's bearer tokens for intake, one file "
        "<swv>.jwt per SWV (role service), read again when a file changes",
    )
    intake_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_secret_key: SecretStr | None = Field(
        default=None,
        description="Key-encryption key of the webhook secrets at rest: 32 random bytes in "
        "base64 (url-safe or standard). Without it no webhook can be subscribed or delivered",
    )
    max_attempts: int = Field(default=8, ge=1)
    backoff_base_seconds: float = Field(default=30.0, gt=0)
    backoff_cap_seconds: float = Field(default=7200.0, gt=0)
    lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="How long a claimed message is the claimer's; longer than any send timeout",
    )
    poll_seconds: float = Field(default=1.0, gt=0, description="Idle wait between queue scans")
    batch_size: int = Field(default=20, ge=1)

    @model_validator(mode="after")
    def _lease_outlives_a_send(self) -> NotificationSettings:
        # A lease that ran out while the send is still in flight would let a second worker
        # send the same message at the same time.
        longest = max(
            self.smtp_timeout_seconds, self.webhook_timeout_seconds, self.intake_timeout_seconds
        )
        if self.lease_seconds <= longest:
            raise ValueError(
                f"NOTIFICATIONS_LEASE_SECONDS ({self.lease_seconds}) must exceed the longest "
                f"send timeout ({longest})"
            )
        if self.webhook_secret_key is not None:
            key_ring(self.webhook_secret_key)  # a key of the wrong shape stops the start
        if self.smtp_starttls and self.smtp_tls:
            raise ValueError("set NOTIFICATIONS_SMTP_STARTTLS or NOTIFICATIONS_SMTP_TLS, not both")
        return self

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base=timedelta(seconds=self.backoff_base_seconds),
            cap=timedelta(seconds=max(self.backoff_cap_seconds, self.backoff_base_seconds)),
        )

    @property
    def secret_box(self) -> SecretBox | None:
        """What seals the webhook secrets at rest; None without a key-encryption key."""
        if self.webhook_secret_key is None:
            return None
        return SecretBox(key_ring(self.webhook_secret_key))

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)


def load_notification_settings() -> NotificationSettings:
    """Settings from the environment, or ``SystemExit`` naming the wrong variable."""
    try:
        return NotificationSettings()
    except ValidationError as exc:
        problems = [
            f"NOTIFICATIONS_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            if err["loc"]
            else err["msg"]  # a check across variables names them itself
            for err in exc.errors()
        ]
        raise SystemExit("configuration error:\n  " + "\n  ".join(problems)) from None
