"""The gateway's own settings, from ``GATEWAY_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from passend_gateway.thin import ApiUrls


class GatewayConfig(BaseSettings):
    """Thin notifications and the API base URLs they link to (defaults: the dev stack)."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", case_sensitive=False, extra="ignore")

    name: str = Field(
        default="gateway",
        pattern=r"^[a-z][a-z0-9_-]*$",
        description="Service name; the consumer group is <name>.integration",
    )
    thin_notifications: bool = Field(
        default=True, description="Also publish thin notifications to passend.integration.<r>.thin"
    )
    intake_url: str = Field(default="http://127.0.0.1:8001", pattern=r"^https?://")
    assignment_url: str = Field(default="http://127.0.0.1:8002", pattern=r"^https?://")
    trajectory_url: str = Field(default="http://127.0.0.1:8003", pattern=r"^https?://")
    notifications_url: str = Field(default="http://127.0.0.1:8004", pattern=r"^https?://")

    def api_urls(self) -> ApiUrls | None:
        """The URLs thin notifications link to, or ``None`` when they are off."""
        if not self.thin_notifications:
            return None
        return ApiUrls(
            intake=self.intake_url,
            assignment=self.assignment_url,
            trajectory=self.trajectory_url,
            notifications=self.notifications_url,
        )
