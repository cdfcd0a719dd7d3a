"""The backbone's seams: no import cycles, none hidden, and nothing imported from above it.

Read from the source with ``ast`` (nothing is imported), so a cycle is found whatever
order a test run happens to import modules in. An import anywhere in a module counts,
inside a function too: a cycle moved into a function is still a cycle, only hidden.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "passend_backbone"
SOURCE = ROOT / "backbone" / PACKAGE
# What the backbone may build on among Passend's own packages.
BELOW = {PACKAGE, "passend_contracts", "passend_consumerkit"}


@dataclass(frozen=True)
class Import:
    """One imported module name, where it was imported, and whether only for type checks."""

    module: str
    line: int
    type_checking_only: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(SOURCE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, guarded: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node below ``node``, and whether it sits under ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for sub in child.body:
                yield sub, True
                yield from _walk(sub, True)
            for sub in child.orelse:
                yield sub, guarded
                yield from _walk(sub, guarded)
            continue
        yield child, guarded
        yield from _walk(child, guarded)


@functools.cache
def imports_of(name: str) -> tuple[Import, ...]:
    """The modules ``name`` imports (absolute names; relative imports resolved)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []
    for node, guarded in _walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno, guarded) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.append(Import(module, node.lineno, guarded))
            # ``from package import module`` imports that module too.
            found += [
                Import(f"{module}.{alias.name}", node.lineno, guarded)
                for alias in node.names
                if f"{module}.{alias.name}" in MODULES
            ]
    return tuple(found)


def _ancestors(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def import_graph() -> dict[str, set[str]]:
    """Module -> the backbone modules its import runs.

    Importing ``a.b.c`` runs ``a/b/__init__.py`` first, so the packages on the way count
    as imported too, except the importer's own packages (already being imported).
    """
    graph: dict[str, set[str]] = {}
    for name in MODULES:
        targets: set[str] = set()
        for imported in imports_of(name):
            if imported.module in MODULES:
                targets.add(imported.module)
                targets |= {p for p in _ancestors(imported.module) if p in MODULES}
        graph[name] = targets - _ancestors(name) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it started, or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for nxt in sorted(graph[node]):
            if nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_every_module_is_read_and_its_imports_seen() -> None:
    assert len(MODULES) > 40
    graph = import_graph()
    # ``from passend_backbone.commands.transactions import MemoryTx`` runs the package's
    # ``__init__`` first, then the module.
    assert {"passend_backbone.commands", "passend_backbone.commands.transactions"} <= graph[
        "passend_backbone.eventstore.memory"
    ]
    # ``from passend_backbone import tenancy``: a module named in the import list.
    assert "passend_backbone.tenancy" in graph["passend_backbone.commands.transactions"]


def test_the_backbone_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_backbone_import_hides_under_type_checking() -> None:
    hidden = [
        f"{name}:{i.line} imports {i.module}"
        for name in MODULES
        for i in imports_of(name)
        if i.type_checking_only and i.module.split(".")[0] == PACKAGE
    ]
    assert hidden == [], "imports under `if TYPE_CHECKING:` hide cycles: " + "; ".join(hidden)


def test_the_backbone_imports_no_service_and_not_the_dev_stack() -> None:
    services = {f"passend_{p.name}" for p in (ROOT / "services").iterdir() if p.is_dir()}
    assert "passend_intake" in services  # the services are found where they live
    above = [
        f"{name}:{i.line} imports {i.module}"
        for name in MODULES
        for i in imports_of(name)
        if i.module.startswith("passend_") and i.module.split(".")[0] not in BELOW
    ]
    assert above == []


# -- the checker itself ------------------------------------------------------------------


def test_a_cycle_is_named_from_start_to_start() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_type_checking_guards_are_seen() -> None:
    tree = ast.parse(
        "import typing\n"
        "if typing.TYPE_CHECKING:\n"
        "    from passend_backbone.x import y\n"
        "else:\n"
        "    import passend_backbone.z\n"
        "def f():\n"
        "    import passend_backbone.w\n"
    )
    seen = {
        (node.names[0].name, guarded)
        for node, guarded in _walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
    }
    assert seen == {
        ("typing", False),
        ("y", True),
        ("passend_backbone.z", False),
        ("passend_backbone.w", False),
    }
