"""Writes, or with ``--check`` verifies, every document generated from the contracts.

    python -m passend_contracts.generate          # write what changed
    python -m passend_contracts.generate --check  # exit 1 listing stale or missing files

Generated: one JSON Schema per event type in ``schemas/events/<type>.json``, the envelope's
in ``schemas/envelope.json``, the AsyncAPI 3.0.0 document ``schemas/asyncapi.json`` and the
catalogue ``contracts/EVENTS.md``. A committed event or envelope schema is the published
contract: writing refuses a change that would break its consumers (see :mod:`compat`), and
a schema whose event type is gone is reported, never deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from passend_contracts.asyncapi import asyncapi_document
from passend_contracts.catalogue import catalogue
from passend_contracts.compat import breaking_changes
from passend_contracts.events.base import EventPayload
from passend_contracts.jsonschemas import envelope_schema, event_schema
from passend_contracts.registry import EVENT_TYPE_PATTERN, EVENT_TYPES

PACKAGE_DIR = Path(__file__).resolve().parent
SCHEMAS_DIR = PACKAGE_DIR / "schemas"
EVENT_SCHEMAS_DIR = SCHEMAS_DIR / "events"
ENVELOPE_SCHEMA = SCHEMAS_DIR / "envelope.json"
ASYNCAPI_DOCUMENT = SCHEMAS_DIR / "asyncapi.json"
CATALOGUE = PACKAGE_DIR.parent / "EVENTS.md"

POLICY = (
    "A published event schema only grows by optional fields. For any other change publish a "
    "new version (…v2) alongside the old one, register an upcaster old -> new in "
    "registry.UPCASTERS and set `deprecated` on the old class (contracts/README.md). "
    "Only for an event never released: delete its schema file and generate again."
)


def dumps(document: Any) -> str:
    """The canonical text of a generated JSON file: sorted keys, two-space indent, newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def event_schema_path(event_type: str) -> Path:
    """Where the schema of ``event_type`` is committed."""
    return EVENT_SCHEMAS_DIR / f"{event_type}.json"


def render(event_types: Mapping[str, type[EventPayload]] = EVENT_TYPES) -> dict[Path, str]:
    """Every generated file's path and the text it must hold."""
    files = {
        event_schema_path(name): dumps(event_schema(cls))
        for name, cls in sorted(event_types.items())
    }
    files[ENVELOPE_SCHEMA] = dumps(envelope_schema())
    files[ASYNCAPI_DOCUMENT] = dumps(asyncapi_document(event_types))
    files[CATALOGUE] = catalogue(event_types)
    return files


@dataclass
class Report:
    """What differs between the generated files and the ones on disk."""

    stale: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)
    # Problems no regeneration may fix: breaking changes, removed event types, bad names.
    breaking: list[str] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return not (self.stale or self.missing or self.breaking)


def compare(
    files: Mapping[Path, str], event_types: Mapping[str, type[EventPayload]] = EVENT_TYPES
) -> Report:
    """How the files on disk differ from ``files``; committed schemas are checked for
    changes that would break consumers (:func:`compat.breaking_changes`)."""
    report = Report()
    for name in sorted(event_types):
        if not EVENT_TYPE_PATTERN.match(name):
            report.breaking.append(
                f"event type {name!r} is not named nl.passend.<service>.<Name>.v<N>"
            )
    schema_files = {*files, *EVENT_SCHEMAS_DIR.glob("*.json")}
    for path in sorted(schema_files):
        if path not in files:
            report.breaking.append(
                f"{_show(path)}: its event type is no longer defined; removing an event type "
                "breaks its consumers and the reading of stored events: restore it and mark "
                "it deprecated"
            )
            continue
        if not path.exists():
            report.missing.append(path)
            continue
        on_disk = path.read_text(encoding="utf-8")
        if on_disk == files[path]:
            continue
        report.stale.append(path)
        if path.parent == EVENT_SCHEMAS_DIR or path == ENVELOPE_SCHEMA:
            try:
                old = json.loads(on_disk)
            except json.JSONDecodeError as exc:
                report.breaking.append(f"{_show(path)}: committed schema is not JSON ({exc})")
                continue
            report.breaking += [
                f"{_show(path)}: {problem}"
                for problem in breaking_changes(old, json.loads(files[path]))
            ]
    return report


def write(files: Mapping[Path, str], paths: Sequence[Path]) -> None:
    """Writes ``paths`` from ``files``, each atomically: a crash leaves old or new, not half."""
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(files[path], encoding="utf-8")
        os.replace(temporary, path)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m passend_contracts.generate", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if any file is not current"
    )
    args = parser.parse_args(argv)
    if not (PACKAGE_DIR.parent / "pyproject.toml").exists():
        print(
            f"{PACKAGE_DIR} is not a source checkout: install the contracts editable "
            "(pip install -e contracts) and run this from the repository",
            file=sys.stderr,
        )
        return 2
    files = render()
    report = compare(files)
    if report.breaking:
        print("Breaking contract changes, nothing written:", file=sys.stderr)
        for problem in report.breaking:
            print(f"  - {problem}", file=sys.stderr)
        print(POLICY, file=sys.stderr)
        return 1
    if args.check:
        if report.current:
            return 0
        print("Generated contract files are not current:", file=sys.stderr)
        for path in report.missing:
            print(f"  - missing: {_show(path)}", file=sys.stderr)
        for path in report.stale:
            print(f"  - stale:   {_show(path)}", file=sys.stderr)
        print("Run `make schemas` (python -m passend_contracts.generate).", file=sys.stderr)
        return 1
    changed = [*report.missing, *report.stale]
    write(files, changed)
    for path in changed:
        print(f"wrote {_show(path)}")
    return 0


def _show(path: Path) -> str:
    try:
        return str(path.relative_to(PACKAGE_DIR.parent.parent))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
