"""The dev issuer serves its keys over OIDC discovery, and its minted tokens verify against them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from passend_backbone.auth import Principal, Role, TokenVerifier
from passend_backbone.auth.keys import KeySet
from passend_devstack.issuer import (
    DEV_AUDIENCE,
    DEV_ISSUER,
    DISCOVERY_PATH,
    IssuerServer,
    issuer_key,
    mint_main,
)


def test_a_minted_token_verifies_against_the_served_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = issuer_key(tmp_path)
    with IssuerServer(key) as server:
        discovery = httpx.get(server.url + DISCOVERY_PATH).json()
        assert discovery["issuer"] == DEV_ISSUER
        assert discovery["jwks_uri"] == server.jwks_url
        assert httpx.get(server.url + "/anything-else").status_code == 404
        code = mint_main(
            [
                "--data-dir",
                str(tmp_path),
                "--role",
                "teacher",
                "--swv",
                "swv-a",
                "--school",
                "sch-1",
                "--pupil",
                "p-1",
                "--pupil",
                "p-2",
                "--subject",
                "t-7",
            ]
        )
        assert code == 0
        token = capsys.readouterr().out.strip()
        verifier = TokenVerifier(
            issuer=DEV_ISSUER, audience=DEV_AUDIENCE, keys=KeySet(discovery["jwks_uri"])
        )
        assert verifier.verify(token) == Principal(
            "t-7", Role.TEACHER, "swv-a", school_id="sch-1", pupil_refs=("p-1", "p-2")
        )


def test_an_unknown_role_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        mint_main(["--data-dir", str(tmp_path), "--role", "headmaster", "--swv", "swv-a"])
