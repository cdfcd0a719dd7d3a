"""The dev stack's key-encryption keys: made once per data directory, kept with it.

Intake seals pupils' keys under ``INTAKE_KEY_ENCRYPTION_KEYS`` (passend_backbone.sealing).
The dev stack keeps its databases between runs, so it keeps the KEK too: a new one at
every start would leave every pupil stored before it unreadable.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path

SETTING = "INTAKE_KEY_ENCRYPTION_KEYS"


def sealing_env(data_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """``INTAKE_KEY_ENCRYPTION_KEYS`` from ``env`` if set there, else the stack's own."""
    if env.get(SETTING):
        return {}
    path = data_dir / "sealing" / "intake-kek"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"dev-1:{base64.b64encode(os.urandom(32)).decode()}\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
    return {SETTING: path.read_text().strip()}
