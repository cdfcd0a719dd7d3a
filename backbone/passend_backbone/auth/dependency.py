"""The FastAPI dependency every endpoint uses to learn who is calling."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from passend_backbone.auth.keys import KeysUnavailable
from passend_backbone.auth.principal import Principal
from passend_backbone.auth.tokens import InvalidToken, TokenVerifier

_bearer = HTTPBearer(auto_error=False, description="OIDC access token (JWT) of the caller")


def install_verifier(app_state: object, verifier: TokenVerifier) -> None:
    """Make ``verifier`` the one :func:`current_principal` uses for this app."""
    app_state.token_verifier = verifier  # type: ignore[attr-defined]


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller; 401 with a ``WWW-Authenticate`` header otherwise."""
    verifier: TokenVerifier | None = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        raise RuntimeError("no token verifier installed on this app (install_verifier)")
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="a bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        principal = verifier.verify(credentials.credentials)
    except InvalidToken as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=f"invalid bearer token: {exc}",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from exc
    except KeysUnavailable as exc:
        # Not the caller's fault: the issuer's keys could not be fetched (yet).
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the identity provider's keys can't be fetched; try again shortly",
            headers={"Retry-After": "10"},
        ) from exc
    structlog.contextvars.bind_contextvars(actor=principal.subject, swv=principal.swv)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
