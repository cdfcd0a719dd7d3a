"""Reading SWV directory documents from a YAML or JSON file (the dev directory at start-up)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter

from passend_assignment.domain.directory_doc import SwvDoc
from passend_backbone.commands import Refusal

_DOCS = TypeAdapter(list[SwvDoc])

# The environment variable naming the file; unset means no directory is loaded at start.
ENV_VAR = "ASSIGNMENT_DIRECTORY_FILE"
DEV_FILE = Path(__file__).with_name("dev_directory.yaml")


def load_directory_file(path: Path) -> list[SwvDoc]:
    """The SWV documents in ``path`` (``.json``, else YAML): a top-level ``swvs:`` list.

    Raises ``ValueError`` naming the file and the field when the document is wrong.
    """
    text = path.read_text(encoding="utf-8")
    raw: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(raw, dict) or "swvs" not in raw:
        raise ValueError(f"{path}: expected a mapping with a top-level 'swvs' list")
    try:
        return _DOCS.validate_python(raw["swvs"])
    except (ValueError, Refusal) as exc:
        raise ValueError(f"{path}: {exc}") from exc
