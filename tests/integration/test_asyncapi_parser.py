"""The AsyncAPI document as the official AsyncAPI parser (Node.js) reads it: no errors, and
every channel an outsider may read is in it (issue 25).

An independent check of the generated contract: the Python tests validate it against the
AsyncAPI JSON Schema; this one runs the parser integrators' own tools are built on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from passend_contracts import topics
from passend_contracts.generate import ASYNCAPI_DOCUMENT
from passend_contracts.integration import MUNICIPALITY_FIELDS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "asyncapi"


def _parse(path: Path) -> tuple[int, dict[str, object]]:
    node = shutil.which("node")
    assert node, "Node.js is needed for the AsyncAPI parser"
    assert (TOOL / "node_modules" / "@asyncapi" / "parser").is_dir(), (
        "the AsyncAPI parser is not installed: `make test` installs it (npm)"
    )
    done = subprocess.run(
        [node, str(TOOL / "validate.mjs"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def test_the_official_parser_reads_the_document_without_errors() -> None:
    code, found = _parse(ASYNCAPI_DOCUMENT)
    assert found["errors"] == [], found["errors"]
    assert code == 0
    assert found["version"] == "3.0.0"
    addresses = {c["address"] for c in found["channels"]}  # type: ignore[attr-defined]
    print("channels the parser lists:", sorted(addresses))
    assert set(topics.ALL) <= addresses
    assert f"{topics.INTEGRATION_PREFIX}{{region}}" in addresses
    assert f"{topics.INTEGRATION_PREFIX}{{region}}{topics.THIN_SUFFIX}" in addresses
    assert "{topic}.dlq.{consumerGroup}" in addresses


def test_the_integration_channel_carries_only_the_allowed_fields() -> None:
    document = json.loads(ASYNCAPI_DOCUMENT.read_text())
    channel = document["channels"]["integration"]
    assert set(channel["messages"]) == {f"integration.{t}" for t in MUNICIPALITY_FIELDS}
    for event_type, fields in MUNICIPALITY_FIELDS.items():
        schema = document["components"]["schemas"][f"integration.{event_type}"]
        assert set(schema["properties"]) == set(fields)


def test_the_parser_reports_a_broken_document(tmp_path: Path) -> None:
    document = json.loads(ASYNCAPI_DOCUMENT.read_text())
    # An operation on a channel that does not exist.
    document["operations"]["receive.integration"]["channel"] = {"$ref": "#/channels/nowhere"}
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    code, found = _parse(broken)
    assert code == 1
    assert found["errors"], "the parser found nothing wrong with a broken document"
