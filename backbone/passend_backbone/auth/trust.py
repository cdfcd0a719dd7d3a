"""Which issuers the services trust, and what a token of each one may say about its caller.

Two kinds of issuer:

- ``passend``: an issuer Passend itself runs (the portal, the dev issuer). Its tokens
  carry the directory's claims (``role``, ``swv``, ``school_id``, ...) and are taken as
  they are: the portal put them there after asking the directory who signed in.
- ``clients``: an identity provider (Entra ID, SURFconext, Keycloak, the dev provider)
  whose client-credentials tokens machine clients send. Such a token only says *which
  client* calls; what that client is in Passend (its role, SWV, region, work unit) is
  configured here, per client, never taken from the provider. A person's token of such a
  provider is refused: people reach the APIs through the portal, which asks the directory.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from passend_backbone.auth.principal import Principal, Role

# Signature algorithms an issuer may be allowed: public-key ones only. ``none`` and the
# HMAC family (``HS*``, a shared secret that a JWKS could leak) can never be configured.
ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class MachineClient(BaseModel):
    """What one machine client of a provider is in Passend (the SWV decides, not the provider)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    swv: str = Field(min_length=1)
    # The token's ``sub`` for this client when it isn't the client id (Entra ID: the
    # service principal's object id). A token of the same client with another ``sub`` is
    # a person's token and is refused.
    subject: str | None = None
    # Who acted, as Passend records it in events and logs (default: the client id).
    actor: str | None = None
    school_id: str | None = None
    work_unit_id: str | None = None
    region: str | None = None  # a municipality's system: the Team NO region it serves

    def principal(self, client_id: str) -> Principal:
        return Principal(
            subject=self.actor or client_id,
            role=self.role,
            swv=self.swv,
            school_id=self.school_id,
            work_unit_id=self.work_unit_id,
            region=self.region,
        )


class TrustedIssuer(BaseModel):
    """One issuer whose tokens the services accept (an entry of ``AUTH_TRUSTED_ISSUERS``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=1, description="the exact `iss` of its tokens")
    audience: str = Field(default="passend", min_length=1, description="the `aud` required")
    # A JWKS URL or file; none: found through the issuer's discovery document.
    jwks: str | None = None
    algorithms: tuple[str, ...] = ("RS256",)
    kind: Literal["passend", "clients"] = "clients"
    # Claims that name the client, in this order (RFC 9068 ``client_id``; ``azp`` in
    # OIDC and Entra ID v2; ``appid`` in Entra ID v1).
    client_id_claims: tuple[str, ...] = ("client_id", "azp", "appid")
    clients: dict[str, MachineClient] = Field(default_factory=dict)
    leeway_seconds: int = Field(default=30, ge=0, le=300, description="clock skew allowed")

    @field_validator("algorithms")
    @classmethod
    def _public_key_algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        wrong = set(value) - ALLOWED_ALGORITHMS
        if wrong or not value:
            raise ValueError(
                f"algorithms must be some of {sorted(ALLOWED_ALGORITHMS)}, not {sorted(wrong)}"
            )
        return value

    @field_validator("jwks")
    @classmethod
    def _jwks_location(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _clients_only_for_client_issuers(self) -> TrustedIssuer:
        if self.kind == "passend" and self.clients:
            raise ValueError(
                f"issuer {self.issuer}: kind passend takes the claims of its tokens; "
                "clients are listed only for kind clients"
            )
        return self
