"""Which roles may call an endpoint of this service: refused with 403 before anything is read."""

from __future__ import annotations

from passend_backbone.auth import Principal, Role
from passend_backbone.commands import Refusal


def require(principal: Principal, *roles: Role) -> None:
    """Refuse (403) a caller whose role is not one of ``roles``."""
    if principal.role not in roles:
        allowed = ", ".join(sorted(roles))
        raise Refusal.forbidden("roles", f"only {allowed} may do this")
