"""The OpenAPI document is complete enough for a school's system to integrate from it alone."""

from __future__ import annotations

from typing import Any

import pytest

from passend_intake.api import create_app

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(None).openapi()  # type: ignore[arg-type]  # routes only keep ctx


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Intake's own operations: what a school's system integrates with. The ``/audit``
    routes every service mounts belong to the auditors' API (passend_backbone.audit)."""
    return [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS and not path.startswith("/audit/")
    ]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    name = ref.rsplit("/", 1)[-1]
    resolved: dict[str, Any] = document["components"]["schemas"][name]
    return resolved


def test_the_document_explains_auth_idempotency_errors_and_privacy(
    document: dict[str, Any],
) -> None:
    text = document["info"]["description"]
    for topic in ("Bearer", "Idempotency-Key", "404", "422", "[gewist]"):
        assert topic in text


def test_every_operation_has_summary_description_and_its_errors(
    document: dict[str, Any],
) -> None:
    operations = _operations(document)
    assert len(operations) >= 14
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        assert len(op.get("description", "")) > 40, where
        assert "404" in op["responses"], where
        if method == "post":
            assert "422" in op["responses"], where


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    for path, method, op in _operations(document):
        body = op.get("requestBody")
        if body is None:
            continue
        # JSON, or a form with a file (a document, issue 21).
        (media,) = body["content"].values()
        schema = _resolve(document, media["schema"])
        assert schema.get("examples"), f"{method.upper()} {path}"


def test_every_field_of_the_submission_is_described_or_constrained(
    document: dict[str, Any],
) -> None:
    schema = document["components"]["schemas"]["SubmitRequestBody"]
    for name, field in schema["properties"].items():
        assert field.get("description") or field.get("pattern") or "$ref" in field, name


def test_submission_requires_an_idempotency_key(document: dict[str, Any]) -> None:
    params = document["paths"]["/requests"]["post"]["parameters"]
    (key,) = [p for p in params if p["name"] == "Idempotency-Key"]
    assert key["in"] == "header"
    assert key["required"] is True


def test_only_the_parents_link_works_without_a_bearer_token(document: dict[str, Any]) -> None:
    for path, method, op in _operations(document):
        needs_token = bool(op.get("security"))
        assert needs_token == (not path.startswith("/consent/")), f"{method.upper()} {path}"


def test_every_success_answer_has_an_example(document: dict[str, Any]) -> None:
    for path, method, op in _operations(document):
        (status,) = [s for s in op["responses"] if s.startswith("2")]
        if "application/json" not in op["responses"][status]["content"]:
            # A document's content (issue 21): the types it may be, no JSON to show.
            assert "application/pdf" in op["responses"][status]["content"], path
            continue
        content = op["responses"][status]["content"]["application/json"]
        schema = content["schema"]
        if schema.get("type") == "array":
            schema = schema["items"]
        assert _resolve(document, schema).get("examples"), f"{method.upper()} {path}"
