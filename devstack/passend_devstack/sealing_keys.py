"""The dev stack's key-encryption keys: made once per data directory, kept with it.

Intake seals pupils' keys under ``INTAKE_KEY_ENCRYPTION_KEYS``, and every service seals its
case keys for free texts under ``TEXT_KEY_ENCRYPTION_KEYS`` (passend_backbone.sealing); each
service has its own, as in production. The dev stack keeps its databases between runs, so
it keeps the KEKs too: a new one at every start would leave everything sealed before it
unreadable.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path

SETTING = "INTAKE_KEY_ENCRYPTION_KEYS"
TEXT_SETTING = "TEXT_KEY_ENCRYPTION_KEYS"


def _kept(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"dev-1:{base64.b64encode(os.urandom(32)).decode()}\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
    return path.read_text().strip()


def sealing_env(data_dir: Path, env: Mapping[str, str], service: str = "intake") -> dict[str, str]:
    """The service's key-encryption keys: from ``env`` where set there, else the stack's own."""
    found: dict[str, str] = {}
    if service == "intake" and not env.get(SETTING):
        found[SETTING] = _kept(data_dir / "sealing" / "intake-kek")
    if not env.get(TEXT_SETTING):
        found[TEXT_SETTING] = _kept(data_dir / "sealing" / f"text-kek-{service}")
    return found
