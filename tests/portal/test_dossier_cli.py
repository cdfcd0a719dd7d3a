"""``passend-dossier``: the dossier of a case as a file, by its short number, with the same
reads and refusals as the portal's button (issue 21)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from passend_portal import dossier_cli
from tests.portal.fakes import CASE, PORTS, REQUEST_DETAIL, FakeServices, summary
from tests.portal.test_dossier_pages import ERASED_REQUEST, text_of, whole_case


def token_of(**claims: str) -> str:
    """A token as the services get it (the command reads its claims; they check it)."""
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJSUzI1NiJ9.{body}.signature"


WORKER_TOKEN = token_of(sub="ow-anouk", role="support_worker", swv="swv-waterweg")


@pytest.fixture(autouse=True)
def service_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, port in PORTS.items():
        monkeypatch.setenv(f"PORTAL_{name.upper()}_URL", f"http://{name}.test:{port}")


def test_the_dossier_is_written_by_its_short_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeServices()
    whole_case(fake)
    fake.on("GET", "intake", "/requests", (200, [summary()]))
    out = tmp_path / "dossier.pdf"
    code = dossier_cli.run(
        [CASE[:8], "--token", WORKER_TOKEN, "--out", str(out)], transport=fake.transport()
    )
    assert code == 0, capsys.readouterr().err
    assert f"Het dossier van casus {CASE[:8]} staat in {out}" in capsys.readouterr().out
    text = text_of(out.read_bytes())
    assert "Aanvraag ingediend" in text and "Besluit van Team NO" in text
    reads = [c for c in fake.calls if c[2] == f"/requests/{CASE}"]
    assert reads and reads[0][4]["X-Purpose"] == "dossier (PDF)"
    assert reads[0][4]["Authorization"] == f"Bearer {WORKER_TOKEN}"


def test_after_erasure_the_command_says_why_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeServices()
    whole_case(fake)
    fake.on("GET", "intake", f"/requests/{CASE}", (200, ERASED_REQUEST))
    out = tmp_path / "dossier.pdf"
    code = dossier_cli.run([CASE, "--token", WORKER_TOKEN, "--out", str(out)], fake.transport())
    assert code == 1
    said = capsys.readouterr().err
    assert "Van deze casus kan geen dossier meer worden gemaakt" in said and "gewist" in said
    assert not out.exists() and not list(tmp_path.iterdir())


def test_an_unknown_number_a_missing_token_and_another_role_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeServices()
    fake.on("GET", "intake", "/requests", (200, []))
    out = str(tmp_path / "d.pdf")
    assert (
        dossier_cli.run(["ffffffff", "--token", WORKER_TOKEN, "--out", out], fake.transport()) == 1
    )
    assert "niet gevonden" in capsys.readouterr().err
    monkeypatch.delenv("PASSEND_TOKEN", raising=False)
    assert dossier_cli.run([CASE, "--out", out], fake.transport()) == 2
    operator = token_of(sub="op-1", role="operator", swv="swv-waterweg")
    assert dossier_cli.run([CASE, "--token", operator, "--out", out], fake.transport()) == 1
    assert "Een dossier maken mag" in capsys.readouterr().err
    assert dossier_cli.run([CASE, "--token", "not-a-token", "--out", out], fake.transport()) == 1


def test_the_opp_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeServices()
    whole_case(fake)
    out = tmp_path / "opp.pdf"
    code = dossier_cli.run(
        [CASE, "--token", WORKER_TOKEN, "--out", str(out), "--opp"], fake.transport()
    )
    assert code == 0, capsys.readouterr().err
    assert "Uitstroomperspectief" in text_of(out.read_bytes())
    assert REQUEST_DETAIL["pupil"]["name"] in text_of(out.read_bytes())
