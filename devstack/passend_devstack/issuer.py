"""The development OIDC issuer: its discovery document and JWKS over HTTP, and minting tokens.

Only for development: it signs whatever principal it is asked for. Services trust it
through ``AUTH_JWKS`` (the JWKS file, or ``http://host:port/.well-known/jwks.json``) and
``AUTH_ISSUER`` (:data:`DEV_ISSUER` unless started with another ``issuer``).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from passend_backbone.auth.keys import IssuerKey
from passend_backbone.auth.principal import Principal, Role
from passend_backbone.auth.tokens import mint

DEV_ISSUER = "passend-dev-issuer"
DEV_AUDIENCE = "passend"
JWKS_PATH = "/.well-known/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"


def issuer_key(data_dir: Path) -> IssuerKey:
    """The dev issuer's key in ``data_dir/issuer`` (made on first use)."""
    return IssuerKey(data_dir / "issuer")


def discovery_document(base_url: str, issuer: str) -> dict[str, Any]:
    """The OpenID Provider metadata a verifier needs: who signs, and where the keys are."""
    return {
        "issuer": issuer,
        "jwks_uri": base_url.rstrip("/") + JWKS_PATH,
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "claims_supported": ["sub", "role", "swv", "school_id", "work_unit_id", "region"],
    }


class IssuerServer:
    """Serves :data:`DISCOVERY_PATH` and :data:`JWKS_PATH` on a thread until :meth:`close`."""

    def __init__(
        self, key: IssuerKey, *, host: str = "127.0.0.1", port: int = 0, issuer: str = DEV_ISSUER
    ) -> None:
        self.key = key
        self.issuer = issuer
        documents: dict[str, bytes] = {}
        self._server = ThreadingHTTPServer((host, port), _handler_for(documents))
        self.port: int = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        documents[JWKS_PATH] = json.dumps(key.jwks).encode()
        documents[DISCOVERY_PATH] = json.dumps(discovery_document(self.url, issuer)).encode()
        self.jwks_url = self.url + JWKS_PATH
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="dev-issuer", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> IssuerServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _handler_for(documents: dict[str, bytes]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = documents.get(self.path.split("?", 1)[0])
            if body is None:
                self.send_error(404, "only the discovery document and the JWKS live here")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "max-age=60")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # key fetches are not worth a log line

    return Handler


def _mint_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="passend-dev token",
        description="Print a bearer token of the dev issuer for one principal.",
    )
    parser.add_argument("--data-dir", type=Path, default=Path("var/dev"))
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--swv", required=True, help="the tenant (SWV id)")
    parser.add_argument("--subject", default="dev-user", help="the user id (sub)")
    parser.add_argument("--school", dest="school_id", help="the school (IB, teacher)")
    parser.add_argument("--work-unit", dest="work_unit_id", help="support worker, coordinator")
    parser.add_argument("--region", help="the Team NO region (Team NO member)")
    parser.add_argument(
        "--pupil",
        dest="pupil_refs",
        action="append",
        default=[],
        help="a pupil the teacher teaches, by intake's pseudonym (lln-...; repeatable)",
    )
    parser.add_argument("--issuer", default=DEV_ISSUER)
    parser.add_argument("--audience", default=DEV_AUDIENCE)
    parser.add_argument("--lifetime", type=int, default=8 * 3600, help="seconds")
    return parser


def mint_main(argv: Sequence[str] | None = None) -> int:
    """``passend-dev token --role ib --swv swv-1 --school school-1``: print a token."""
    args = _mint_parser().parse_args(argv)
    principal = Principal(
        subject=args.subject,
        role=Role(args.role),
        swv=args.swv,
        school_id=args.school_id,
        work_unit_id=args.work_unit_id,
        region=args.region,
        pupil_refs=tuple(args.pupil_refs),
    )
    token = mint(
        issuer_key(args.data_dir),
        principal,
        issuer=args.issuer,
        audience=args.audience,
        lifetime_seconds=args.lifetime,
    )
    print(token, file=sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(mint_main())
