"""Who is calling: OIDC bearer tokens (JWT) verified against the issuer's keys, and roles."""

from passend_backbone.auth.dependency import CurrentPrincipal, current_principal, install_verifier
from passend_backbone.auth.policy import CaseFacts, has_role, sees_case
from passend_backbone.auth.principal import Principal, Role
from passend_backbone.auth.tokens import InvalidToken, TokenVerifier

__all__ = [
    "CaseFacts",
    "CurrentPrincipal",
    "InvalidToken",
    "Principal",
    "Role",
    "TokenVerifier",
    "current_principal",
    "has_role",
    "install_verifier",
    "sees_case",
]
