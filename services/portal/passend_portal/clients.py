"""Calling the four services' HTTP APIs with the signed-in user's token."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

# httpx logs every request's URL at INFO; the search's (``/requests?find=``) may hold a
# pupil's name, so its lines stay out of the portal's log whatever level is configured.
logging.getLogger("httpx").setLevel(logging.WARNING)

SERVICE_NAMES_NL = {
    "intake": "Aanvragen en toestemming",
    "assignment": "Toewijzing",
    "trajectory": "Trajecten",
    "notifications": "Berichten",
}


class ServiceDown(Exception):
    """The service did not answer (not running, refused, timed out, or 502/503/504)."""

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.service = service

    @property
    def message(self) -> str:
        name = SERVICE_NAMES_NL.get(self.service, self.service)
        return f"De dienst {name} is nu niet bereikbaar. Probeer het over een paar minuten opnieuw."


class ServiceError(Exception):
    """The service answered with a refusal (4xx): its status and ``detail``."""

    def __init__(self, service: str, status: int, detail: Any) -> None:
        super().__init__(f"{service} answered {status}: {detail}")
        self.service = service
        self.status = status
        self.detail = detail


class Services:
    """One httpx client for all services; every call carries the caller's bearer token."""

    def __init__(self, urls: Mapping[str, str], http: httpx.AsyncClient) -> None:
        self.urls = dict(urls)
        self.http = http

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        token: str | None,
        json: Any = None,
        params: Mapping[str, str | Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """The JSON answer of a 2xx; :class:`ServiceError` for 4xx, :class:`ServiceDown` else."""
        response = await self._send(
            method, service, path, token=token, json=json, params=params, headers=headers
        )
        if not response.content:
            return None
        return response.json()

    async def _send(
        self,
        method: str,
        service: str,
        path: str,
        *,
        token: str | None,
        headers: Mapping[str, str] | None = None,
        **content: Any,
    ) -> httpx.Response:
        """The 2xx response; :class:`ServiceError` for 4xx, :class:`ServiceDown` else."""
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        try:
            response = await self.http.request(
                method, f"{self.urls[service]}{path}", headers=sent, **content
            )
        except httpx.TransportError as exc:
            raise ServiceDown(service) from exc
        if response.status_code >= 500:
            if response.status_code == 503 and _detail(response) is not None:
                # A read model still being set up: the service is there, ask again soon.
                raise ServiceError(service, 503, _detail(response))
            raise ServiceDown(service)
        if response.status_code >= 400:
            raise ServiceError(service, response.status_code, _detail(response))
        return response

    async def get(
        self,
        service: str,
        path: str,
        *,
        token: str | None,
        params: Mapping[str, str | Sequence[str]] | None = None,
    ) -> Any:
        return await self.call("GET", service, path, token=token, params=params)

    async def post(
        self,
        service: str,
        path: str,
        *,
        token: str | None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return await self.call("POST", service, path, token=token, json=json, headers=headers)

    async def upload(
        self,
        service: str,
        path: str,
        *,
        token: str | None,
        data: Mapping[str, str],
        files: Mapping[str, tuple[str, bytes, str]],
        idempotency_key: str | None = None,
    ) -> Any:
        """POST a ``multipart/form-data`` form with files; the JSON answer of a 2xx."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        response = await self._send(
            "POST", service, path, token=token, headers=headers, data=data, files=files
        )
        return response.json() if response.content else None

    async def download(self, service: str, path: str, *, token: str | None) -> httpx.Response:
        """GET content that is not JSON (a document): the response itself."""
        return await self._send("GET", service, path, token=token)


def _detail(response: httpx.Response) -> Any:
    """What went wrong, from the services' problem details (RFC 9457): a list of field errors
    for a request that did not match, else ``{"rule", "message", "field"}``."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("errors"), list):
        return body["errors"]
    found = {
        "rule": body.get("rule"),
        "message": body.get("detail"),
        "field": body.get("field"),
    }
    return {k: v for k, v in found.items() if v} or None
