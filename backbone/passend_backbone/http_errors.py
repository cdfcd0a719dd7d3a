"""Every error answer of every service as RFC 9457 problem details, and a size limit before parsing.

The API speaks English (the portal turns rules and kinds into Dutch for its users). An
error answer is ``application/problem+json``::

    {"type": "urn:passend:problem:conflict", "title": "Conflict", "status": 409,
     "detail": "the case was claimed by ow-bart on 2027-03-02: ...", "rule": "W25"}

- ``type`` is stable per kind of problem (:data:`TYPES`); clients branch on it, or on
  ``rule``, never on the wording of ``detail``.
- ``rule`` is the tag of the domain rule (``docs/rules.md``) or of the technical rule
  (``idempotency``, ``concurrency``, ``roles``, ...) behind a refusal.
- ``field`` names the request field at fault, when one is; ``errors`` lists what is wrong
  with a request that does not match the endpoint, with at most a short excerpt of the
  input (an answer never echoes a large body back).
- No answer names an internal event type or module: ``detail`` is written for a person.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passend_backbone.commands.refusal import Refusal, RefusalKind
from passend_backbone.consumer.failures import is_transient
from passend_backbone.consumer.schema import ProjectionNotSetUp

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:passend:problem:"
# The largest request body a service takes; larger ones get 413 before anything is parsed.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# How much of a rejected input value an error answer may show.
_EXCERPT = 40

# One stable type per kind of problem.
TYPES: dict[int, str] = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    410: "gone",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid",
    429: "too-many-requests",
    500: "internal",
    503: "unavailable",
}
_TITLES: dict[int, str] = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal error",
    503: "Not available yet",
}
_REFUSAL_STATUS = {kind: kind.status_code for kind in RefusalKind}


class FieldError(BaseModel):
    """One thing wrong with a request that does not match the endpoint."""

    loc: list[str | int] = Field(description="where in the request: body, query, path, header")
    msg: str
    type: str
    input_excerpt: str | None = Field(
        default=None, description=f"at most {_EXCERPT} characters of the value given"
    )


class Problem(BaseModel):
    """RFC 9457 problem details, as every Passend error answer is."""

    type: str = Field(description="stable per kind of problem, e.g. urn:passend:problem:conflict")
    title: str
    status: int
    detail: str = Field(description="what was wrong and what to do, for a person (English)")
    rule: str | None = Field(
        default=None, description="the rule behind a refusal (docs/rules.md), e.g. W25"
    )
    field: str | None = Field(default=None, description="the request field at fault")
    errors: list[FieldError] | None = Field(
        default=None, description="for a request that does not match the endpoint"
    )


def problem_type(status: int, kind: str | None = None) -> str:
    return TYPE_PREFIX + (kind or TYPES.get(status, "error"))


def problem_body(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    rule: str | None = None,
    field: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The problem-details body for ``status`` (only the members that have a value)."""
    body: dict[str, Any] = {
        "type": problem_type(status, kind),
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if rule:
        body["rule"] = rule
    if field:
        body["field"] = field
    if errors is not None:
        body["errors"] = list(errors)
    return body


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    rule: str | None = None,
    field: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An ``application/problem+json`` answer."""
    return JSONResponse(
        problem_body(status, detail, kind=kind, rule=rule, field=field, errors=errors),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=dict(headers) if headers else None,
    )


def refusal_problem(refusal: Refusal) -> JSONResponse:
    """The answer to a refused command: its kind's status, its rule and message."""
    return problem(
        refusal.status_code, refusal.message, rule=refusal.rule or None, field=refusal.field
    )


def _excerpt(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None  # a structure: its location says enough
    text = str(value)
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """What is wrong, without echoing more than a short excerpt of the input."""
    found: list[dict[str, Any]] = []
    for error in exc.errors():
        entry: dict[str, Any] = {
            "loc": [p if isinstance(p, int) else str(p) for p in error.get("loc", ())],
            "msg": str(error.get("msg", ""))[:200],
            "type": str(error.get("type", "")),
        }
        excerpt = _excerpt(error.get("input"))
        if excerpt is not None:
            entry["input_excerpt"] = excerpt
        found.append(entry)
    return found


def _http_detail(detail: Any) -> tuple[str, str | None, str | None]:
    """(detail, rule, field) of an ``HTTPException``'s detail (a string or a mapping)."""
    if isinstance(detail, Mapping):
        message = str(detail.get("message") or detail.get("detail") or "")
        rule = detail.get("rule")
        field = detail.get("field")
        return message, str(rule) if rule else None, str(field) if field else None
    return str(detail), None, None


def install_backbone_error_handlers(app: FastAPI) -> None:
    """Answer refusals, HTTP errors, invalid requests and read models that are not set up
    yet (a service's first seconds: 503 with ``Retry-After``) as problem details."""

    async def refused(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refusal)
        return refusal_problem(exc)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail, rule, field = _http_detail(exc.detail)
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed(app, request.url.path)}
        return problem(exc.status_code, detail, rule=rule, field=field, headers=headers)

    async def invalid_request(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = field_errors(exc)
        first = errors[0] if errors else None
        where = ".".join(str(p) for p in first["loc"]) if first else "the request"
        return problem(
            422,
            f"the request does not match this endpoint: {where}: "
            f"{first['msg'] if first else 'invalid'}",
            kind="invalid-request",
            field=str(first["loc"][-1]) if first and first["loc"] else None,
            errors=errors,
        )

    async def starting(_: Request, exc: Exception) -> JSONResponse:
        return problem(
            503,
            "the read model is being set up: try again shortly",
            headers={"Retry-After": "1"},
        )

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # A lost database or broker connection passes by itself: say so, and when to retry
        # (the command did not happen, or its Idempotency-Key gives its answer on retry).
        if is_transient(exc):
            return problem(
                503,
                "a connection inside the service failed: try again shortly",
                kind="unavailable",
                headers={"Retry-After": "1"},
            )
        return problem(500, "an unexpected error: it has been logged", kind="internal")

    app.add_exception_handler(Exception, unexpected)
    app.add_exception_handler(Refusal, refused)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(ProjectionNotSetUp, starting)


def _allowed(app: FastAPI, path: str) -> str:
    """Every method the document gives ``path``: routing names only the methods of the first
    route of the path it meets (GET and PUT of one path are two routes). A concrete path
    goes before templated ones that also match it, as OpenAPI matches them."""
    paths = app.openapi().get("paths", {})
    matching = (
        [path]
        if path in paths
        else [
            template
            for template in paths
            if re.fullmatch(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template)), path)
        ]
    )
    methods: set[str] = set()
    for template in matching:
        methods.update(m.upper() for m in paths[template] if m.upper() in _METHODS)
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})


@dataclass(frozen=True)
class LargeBody:
    """A path that takes larger bodies than the service's limit (an upload), with the
    ``detail`` its 413 answers (e.g. in the words the upload's users read)."""

    path: str  # a regular expression the whole request path must match
    max_bytes: int
    detail: str | None = None


class BodySizeLimit:
    """Refuses a request body larger than ``max_bytes`` with 413, before it is parsed.

    A declared ``Content-Length`` over the limit is answered at once; a body sent in
    chunks is counted as it arrives and cut off at the limit. The paths of ``larger``
    have their own limit.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = DEFAULT_MAX_BODY_BYTES,
        larger: Sequence[LargeBody] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = [(re.compile(b.path), b) for b in larger]

    def _limit(self, path: str) -> tuple[int, str | None]:
        for pattern, body in self.larger:
            if pattern.fullmatch(path):
                return body.max_bytes, body.detail
        return self.max_bytes, None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, detail = self._limit(str(scope.get("path", "")))
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(send, limit, detail)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._too_large(send, limit, detail)

    async def _too_large(self, send: Send, limit: int, detail: str | None) -> None:
        response = problem(
            413,
            detail or f"the request body is larger than {limit:,} bytes: send less",
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", MEDIA_TYPE.encode()),
                    (b"content-length", str(len(response.body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": response.body})


class _TooLarge(StarletteHTTPException):
    """The body went over the limit while it was being read (an HTTP error, so the request
    parsing passes it on as it is and the handler answers 413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than {max_bytes:,} bytes: send less")


_DESCRIPTIONS = {
    400: "The request could not be read",
    401: "No bearer token, or one that is not valid: sign in again",
    403: "The caller's role may not do this (the `rule` says which)",
    404: "No such thing for this caller: unknown, or out of the caller's reach (answered the "
    "same way, so nobody learns what exists out of their reach)",
    409: "The current state does not allow this now; `detail` says what to do",
    410: "Gone: a one-time link that was used, expired or replaced",
    413: "The request body is larger than the service takes",
    415: "The content is not of a type this endpoint takes",
    422: "The request does not match the endpoint (`errors`), or a rule refuses it whatever "
    "the state (`rule`, `field`); also a reused Idempotency-Key. Nothing was written.",
    503: "The service is starting and its read model is not there yet: retry shortly",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for ``statuses``, each a problem-details answer."""
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS.get(status, _TITLES.get(status, "Error")),
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


# What a command endpoint and a read endpoint can answer besides success.
COMMAND_ERRORS = problem_responses(401, 403, 404, 409, 413, 422, 503)
READ_ERRORS = problem_responses(401, 403, 404, 422, 503)

_COMMAND_METHODS = frozenset({"post", "put", "patch", "delete"})


def common_statuses(method: str, operation: Mapping[str, Any]) -> list[int]:
    """The error statuses an operation of a Passend service can answer by its shape alone.

    - 413, 500, 503: any request (the body limit comes before routing; an unexpected
      error; a lost connection or a read model still being set up);
    - 400: a request with a body (one that cannot be read at all, e.g. not UTF-8);
    - 422: any request that carries input or a caller (a request that does not match,
      a rule that refuses whatever the state, a reused Idempotency-Key);
    - 401 and 403: an operation that takes a bearer token (no valid token; a role that
      may not do this: every such operation checks roles);
    - 404: an operation on a path with a parameter (nothing there within reach);
    - 409: a command of a caller (it may lose a race, or the state may not allow it).

    An operation declares what else it answers itself (e.g. 410, or 404 on a path without
    parameters) with :func:`problem_responses`.
    """
    secured = bool(operation.get("security"))
    parameters = operation.get("parameters") or []
    statuses = [413, 500, 503] + ([400] if "requestBody" in operation else [])
    if secured or parameters or "requestBody" in operation:
        statuses.append(422)
    if secured:
        statuses += [401, 403]
        if method in _COMMAND_METHODS:
            statuses.append(409)
    if any(p.get("in") == "path" for p in parameters):
        statuses.append(404)
    return statuses


def declare_problem_answers(app: FastAPI) -> None:
    """Declare the error answers of every route ``app`` has now in its OpenAPI document.

    Each of those operations gets :func:`common_statuses` (where it declares no answer of
    its own for that status), and every error answer of the document (also FastAPI's own
    422) is ``application/problem+json`` with the :class:`Problem` schema, as the handlers
    answer. Routes added later (health, metrics) keep their own declarations.
    """
    routes = list(app.routes)  # the service's own, before the lifecycle adds its routers
    generate = app.openapi
    own: set[tuple[str, str]] = set()

    def openapi() -> dict[str, Any]:
        document = generate()  # FastAPI keeps it once made; the edits below are idempotent
        if not own:
            mine = get_openapi(title=app.title, version=app.version, routes=routes)
            own.update((path, m) for path, item in mine.get("paths", {}).items() for m in item)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in _problem_schemas().items():
            schemas.setdefault(name, schema)
        for path, item in document.get("paths", {}).items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                if (path, method) in own:
                    for status in common_statuses(method, operation):
                        responses.setdefault(str(status), problem_responses(status)[status])
                for status, response in list(responses.items()):
                    if status.isdigit() and int(status) >= 400 and (path, method) in own:
                        responses[status] = _as_problem(int(status), response)
                operation["responses"] = dict(
                    sorted(responses.items(), key=lambda item: (not item[0].isdigit(), item[0]))
                )
        for unused in ("HTTPValidationError", "ValidationError"):
            if unused in schemas and f'"#/components/schemas/{unused}"' not in json.dumps(document):
                del schemas[unused]
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _as_problem(status: int, response: dict[str, Any]) -> dict[str, Any]:
    """An error answer in the document as the handlers give it: problem details only."""
    return {
        **{k: v for k, v in response.items() if k not in ("content", "model")},
        "description": (
            response["description"]
            if response.get("description") not in (None, "", "Validation Error")
            else _DESCRIPTIONS.get(status, _TITLES.get(status, "Error"))
        ),
        "content": {
            MEDIA_TYPE: {
                **response.get("content", {}).get(MEDIA_TYPE, {}),  # its examples, if any
                "schema": {"$ref": "#/components/schemas/Problem"},
            }
        },
    }


def _problem_schemas() -> dict[str, Any]:
    """The JSON schemas of :class:`Problem` and what it refers to, for the document."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    found: dict[str, Any] = dict(schema.pop("$defs", {}))
    found["Problem"] = schema
    return found
