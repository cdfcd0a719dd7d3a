"""Writes, or with ``--check`` verifies, the rules catalogue ``docs/rules.md`` from the rule tags.

    python -m passend_devstack.rules          # write docs/rules.md
    python -m passend_devstack.rules --check  # exit 1 if it is stale or a cited tag is undefined

Sources. The tags and their meanings come from the table in ``domain.md`` (W1..W31, B, S, R,
C), plus :data:`EXTRA_TAGS` for tags the code uses before ``domain.md`` lists them (TNO). The
design directory holding ``domain.md`` is ``$PASSEND_DESIGN_DIR``, else ``docs/design`` in the
repository, else ``../shared/design`` beside it; the seeds are in ``../seeds`` next to it, as
``domain.md`` says. W1..W31 are the numbered agreements of seed 000 (a line starting ``N.``;
the numbers must run 1..31 without a gap). Every other tag quotes the sentence given in
:data:`QUOTES`, which must occur in its seed (compared after joining words hyphenated across a
line break and collapsing white space), or generation fails.

Where tags are cited. Source: the ``.py`` files under ``services/*/passend_*`` and
``backbone/passend_backbone`` except test files; tests: every ``.py`` file under ``tests/``
except this module's own test, whose sample texts cite tags on purpose. Each citation is
attributed with :mod:`ast` to the innermost function or class around it (a comment block just
above a ``def``, a decorator, or a module- or class-level constant belongs to that name), else
to the module. Line numbers stay out of the catalogue so it changes only when a citation moves
between functions or files. The patterns, chosen to rather miss a citation than invent one:

- ``W<n>`` and ``TNO`` as whole words in a comment or any string (docstrings, messages):
  ``W2`` never matches inside ``W21`` or ``W2x``; a range ``W24-W26`` cites its two ends only.
- The single letters B, S, R and C only in rule positions:
  - a tag list ending in a colon at the start of a comment or of a line of a string:
    ``# R: ...``, ``\"\"\"W21, S: ...\"\"\"``;
  - a parenthesised list whose every item is a tag, a tag range, a tag with a level
    (``S 1-2``) or a word of two or more letters: ``(R)``, ``(W24, W25, R)``,
    ``(regiehouder, R)``, ``(B, S 1-2)``; never ``(A, B)``;
  - a string that is exactly the tag as the rule argument: the first argument of a refusal
    (``Refusal.conflict("R", ...)``, ``RuleViolation("S", ...)``, the second of
    ``Refusal(kind, "S", ...)``), a ``rule=``/``tag=`` keyword, a ``"rule"``/``"tag"`` entry
    of a dict, the ``rule``/``tag`` parameter of a function of the same module, a
    ``rule``/``tag`` column of ``pytest.mark.parametrize``, an assignment to ``rule``/``tag``,
    a comparison with ``x.rule``/``x["rule"]``, or an item of a literal list, tuple, set or
    dict keys that also holds a ``W<n>``/``TNO`` string.
- In tests also a test function's name: a ``w<n>`` or ``tno`` part of ``test_w25_w10_...``.

A value in a rule position shaped like a tag (``W<n>``, or one to four capitals) that is not
defined, and any ``W<n>`` outside W1..W31 in a text, is an undefined tag: generating and the
check fail naming its file and line. Other names a refusal gives as its rule (``idempotency``,
``concurrency``, ``tenant``, the norm ``NEN7513``) are no domain rules: the catalogue lists
them apart, as technical refusals.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import os
import re
import sys
import tokenize
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = Path("docs/rules.md")
# The generator's own test quotes sample sources that cite tags, undefined ones included.
OWN_TEST = Path("tests/unit/test_rules_catalogue.py")
COMMAND = "python -m passend_devstack.rules"

# Tags the code cites before domain.md has a row for them: tag -> (seed file, meaning).
EXTRA_TAGS: dict[str, tuple[str, str]] = {
    "TNO": (
        "003_f07f2212b64cfd03.txt",
        "Team NO (Nooit Opgeven): a stagnating route is escalated to the Team NO of the "
        "pupil's region, which decides what happens, the assignment and the provider",
    ),
}
# The sentence each tag other than W<n> stands for, quoted from its seed (checked on generation).
QUOTES: dict[str, str] = {
    "B": "Binnen het samenwerkingsverband zijn afspraken gemaakt over wat er minimaal aan "
    "basisondersteuning geregeld moet zijn in de scholen.",
    "S": "Een toelaatbaarheidsverklaring kan alleen aangevraagd worden door de school indien er "
    "gewerkt is middels een OPP.",
    "R": "Wanneer er jeugdhulp nodig is, betrekt de gezinsspecialist het wijkteam vroegtijdig en "
    "is de wijkteammedewerker de casusregisseur.",
    "TNO": "Dit team hakt de knoop door en laat aan het ondersteuningsteam weten wat het besluit "
    "is, welke opdracht wordt gegeven en welke aanbieder de ondersteuning biedt.",
    "C": "Kortom… ondersteuning is een gedragen verantwoordelijkheid door alle partners!",
}
# The order of the catalogue after W1..W31.
LETTER_ORDER = ("B", "S", "R", "TNO", "C")
SINGLE_LETTERS = frozenset("BSRC")
# Refusal types and constructors whose first argument is the rule.
REFUSAL_TYPES = frozenset(
    {"Refusal", "RuleViolation", "InvalidCommand", "StateConflict", "NotFound"}
)
REFUSAL_CONSTRUCTORS = frozenset({"not_found", "conflict", "forbidden", "invalid"})
RULE_NAMES = frozenset({"rule", "tag"})

_BOUND_L = r"(?<![A-Za-z0-9_])"
_BOUND_R = r"(?![A-Za-z0-9_])"
_WORD_TAG = re.compile(rf"{_BOUND_L}(W\d+|TNO){_BOUND_R}")
_ITEM = r"(?:W\d+(?:\s*[-–]\s*W\d+)?|TNO|[BSRC])"
_LEADING_LIST = re.compile(rf"\s*({_ITEM}(?:\s*,\s*{_ITEM})*)\s*:(?=\s|$)")
_LIST_TAG = re.compile(rf"{_BOUND_L}(W\d+|TNO|[BSRC]){_BOUND_R}")
_PARENS = re.compile(r"\(([^()\n]*)\)")
_PAREN_TAG = re.compile(r"(W\d+(?:\s*[-–]\s*W\d+)?|TNO|[BSRC])(?:\s+(?:levels?\s+)?\d+(?:-\d+)?)?")
_PAREN_WORD = re.compile(r".*[A-Za-z]{2,}.*")
_TAG_LIKE = re.compile(r"W\d+|[A-Z]{1,4}")
_RULE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_NAME_TAG = re.compile(r"w\d+|tno")


class CatalogueError(Exception):
    """The catalogue can't be generated: a source is missing or says something unexpected."""


@dataclass(frozen=True, order=True)
class Citation:
    """A tag (or a technical refusal's name) cited at a line, within a named function or class."""

    tag: str
    path: str
    line: int
    scope: str


@dataclass(frozen=True)
class Rule:
    """A tag with its meaning and the sentence of the seed it stands for."""

    tag: str
    meaning: str
    seed: str
    quote: str
    # Where the quote sits in a numbered seed: "Werkwijzer ..., *De hulpvraag*, agreement 3".
    place: str = ""
    # Whether the meaning is domain.md's, or EXTRA_TAGS' for a tag domain.md does not list yet.
    in_domain_md: bool = True


@dataclass
class Scan:
    """What one file cites: rule tags, and technical refusal names in rule positions."""

    tags: list[Citation] = field(default_factory=list)
    technical: list[Citation] = field(default_factory=list)


# --- the sources: domain.md and the seeds ---------------------------------------------------


def design_dir(root: Path = ROOT) -> Path:
    """The directory holding ``domain.md`` (see the module docstring for the search order)."""
    named = os.environ.get("PASSEND_DESIGN_DIR")
    candidates = [Path(named)] if named else [root / "docs/design", root.parent / "shared/design"]
    for candidate in candidates:
        if (candidate / "domain.md").is_file():
            return candidate
    raise CatalogueError(
        "domain.md not found in "
        + ", ".join(str(c) for c in candidates)
        + ": set PASSEND_DESIGN_DIR to the directory holding domain.md (its seeds in ../seeds)"
    )


def normalise(text: str) -> str:
    """Seed text as one line: words hyphenated across a line break joined, white space single."""
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"(?<=[a-zà-ÿ])-[ \t]*\n\s*(?=[a-zà-ÿ])", "", text)
    return " ".join(text.split())


def domain_tags(domain_md: str) -> dict[str, tuple[str, str]]:
    """The tags of domain.md's source table: tag -> (seed file, what it is)."""
    tags: dict[str, tuple[str, str]] = {}
    in_table = False
    for line in domain_md.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == "tag":
            in_table = True
            continue
        if not in_table or len(cells) < 3 or set(cells[0]) <= set("-: "):
            continue
        tag, seed, meaning = (
            cell.strip("`") if i < 2 else cell for i, cell in enumerate(cells[:3])
        )
        numbered = re.fullmatch(r"W(\d+)\.\.W(\d+)", tag)
        if numbered:
            for n in range(int(numbered[1]), int(numbered[2]) + 1):
                tags[f"W{n}"] = (seed, meaning)
        elif _TAG_LIKE.fullmatch(tag):
            tags[tag] = (seed, meaning)
        else:
            raise CatalogueError(f"domain.md: tag {tag!r} in the source table is not understood")
    if not tags:
        raise CatalogueError("domain.md: no table with a 'tag' column found")
    return tags


def numbered_agreements(seed: str) -> tuple[str, dict[int, tuple[str, str]]]:
    """The seed's title and its numbered items: number -> (section heading, text)."""
    lines = seed.splitlines()
    title = next((line.strip() for line in lines if line.strip()), "")
    items: dict[int, tuple[str, list[str]]] = {}
    section = ""
    current: list[str] | None = None
    for line in lines:
        start = re.match(r"\s*(\d{1,2})\.\s+(\S.*)", line)
        if start:
            number = int(start[1])
            if number != len(items) + 1:
                raise CatalogueError(
                    f"seed: numbered item {number} follows item {len(items)}; expected "
                    f"{len(items) + 1} (the numbered agreements must run without a gap)"
                )
            current = [start[2]]
            items[number] = (section, current)
        elif re.fullmatch(r"[A-Z][^.:]{0,80}:", line.strip()):
            section, current = line.strip().rstrip(":"), None
        elif current is not None:
            current.append(line)
    return title, {n: (s, normalise("\n".join(text))) for n, (s, text) in items.items()}


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (up to a full stop followed by a capital, or the end)."""
    found = re.match(r"(.+?[.!?])(?=\s+[A-Z‘'(]|\s*$)", text)
    return found[1] if found else text


def load_rules(design: Path) -> dict[str, Rule]:
    """Every defined tag with its meaning and its quoted seed sentence, in catalogue order."""
    seeds = design.parent / "seeds"
    listed = domain_tags((design / "domain.md").read_text(encoding="utf-8"))
    defined = {**{t: v for t, v in EXTRA_TAGS.items() if t not in listed}, **listed}
    texts: dict[str, str] = {}
    for seed_name, _ in defined.values():
        if seed_name not in texts:
            path = seeds / seed_name
            if not path.is_file():
                raise CatalogueError(f"seed {path} named in domain.md does not exist")
            texts[seed_name] = path.read_text(encoding="utf-8")
    rules: dict[str, Rule] = {}
    numbered = sorted((t for t in defined if re.fullmatch(r"W\d+", t)), key=lambda t: int(t[1:]))
    if numbered:
        seed_name = defined[numbered[0]][0]
        title, items = numbered_agreements(texts[seed_name])
        if len(items) != len(numbered):
            raise CatalogueError(
                f"seed {seed_name} has {len(items)} numbered agreements; domain.md defines "
                f"{numbered[0]}..{numbered[-1]}"
            )
        for tag in numbered:
            section, text = items[int(tag[1:])]
            where = f"{title}, *{section}*" if section else title
            place = f"{where}, agreement {tag[1:]}"
            rules[tag] = Rule(tag, first_sentence(text), seed_name, text, place=place)
    others = [t for t in LETTER_ORDER if t in defined]
    others += sorted(t for t in defined if t not in rules and t not in others)
    for tag in others:
        seed_name, meaning = defined[tag]
        if tag not in QUOTES:
            raise CatalogueError(
                f"tag {tag} has no sentence to quote: add one from {seed_name} to QUOTES in "
                "passend_devstack/rules.py"
            )
        quote = normalise(QUOTES[tag])
        if quote not in normalise(texts[seed_name]):
            raise CatalogueError(
                f"the sentence quoted for {tag} does not occur in seed {seed_name}: {quote!r}"
            )
        rules[tag] = Rule(tag, meaning, seed_name, quote, in_domain_md=tag in listed)
    return rules


# --- where the code cites tags --------------------------------------------------------------


def text_tags(text: str) -> Iterator[tuple[str, int]]:
    """The tags cited in a comment's or string's ``text``, with their line offset in it."""
    for match in _WORD_TAG.finditer(text):
        yield match[1], text.count("\n", 0, match.start())
    for offset, line in enumerate(text.splitlines()):
        leading = _LEADING_LIST.match(line)
        if leading:
            for tag in _LIST_TAG.findall(leading[1]):
                if tag in SINGLE_LETTERS:
                    yield tag, offset
        for group in _PARENS.finditer(line):
            items = [item.strip() for item in group[1].split(",")]
            tagged = [_PAREN_TAG.fullmatch(item) for item in items]
            if not any(tagged) or not all(
                tag or _PAREN_WORD.fullmatch(item) for tag, item in zip(tagged, items, strict=True)
            ):
                continue
            for tag_match in tagged:
                if tag_match and tag_match[1] in SINGLE_LETTERS:
                    yield tag_match[1], offset


class _Scopes:
    """Which function, class or module-level constant each line of a module belongs to."""

    def __init__(self, tree: ast.Module, lines: Sequence[str]) -> None:
        self._lines = lines
        self._spans: list[tuple[int, int, str]] = []
        self._collect(tree.body, "", in_function=False)

    def _collect(self, body: Iterable[ast.stmt], prefix: str, *, in_function: bool) -> None:
        for stmt in body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = prefix + stmt.name
                first = min([stmt.lineno, *(d.lineno for d in stmt.decorator_list)])
                self._add(first, stmt, name)
                inner = in_function or not isinstance(stmt, ast.ClassDef)
                self._collect(stmt.body, name + ".", in_function=inner)
            elif not in_function and isinstance(stmt, ast.Assign | ast.AnnAssign):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if names:
                    self._add(stmt.lineno, stmt, prefix + names[0])
            else:
                for block in ("body", "orelse", "finalbody"):
                    nested = getattr(stmt, block, None)
                    if isinstance(nested, list):
                        self._collect(
                            (s for s in nested if isinstance(s, ast.stmt)),
                            prefix,
                            in_function=in_function,
                        )
                for handler in getattr(stmt, "handlers", []):
                    self._collect(handler.body, prefix, in_function=in_function)

    def _add(self, first: int, node: ast.stmt, name: str) -> None:
        # A comment block directly above a definition says something about it.
        while first > 1 and self._lines[first - 2].strip().startswith("#"):
            first -= 1
        self._spans.append((first, node.end_lineno or node.lineno, name))

    def name_at(self, line: int) -> str:
        """The innermost name whose lines hold ``line``, or ``(module)``."""
        around = [(start, -end, name) for start, end, name in self._spans if start <= line <= end]
        return max(around)[2] if around else "(module)"


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _called(func: ast.expr) -> tuple[str | None, str]:
    if isinstance(func, ast.Attribute):
        owner = func.value
        return (owner.id if isinstance(owner, ast.Name) else None), func.attr
    return None, func.id if isinstance(func, ast.Name) else ""


def _names(node: ast.expr) -> list[str | None]:
    if isinstance(node, ast.Tuple | ast.List):
        return [_string(element) for element in node.elts]
    text = _string(node)
    return [part.strip() for part in text.split(",")] if text is not None else []


def _is_rule_access(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr in RULE_NAMES
    return isinstance(node, ast.Subscript) and _string(node.slice) in RULE_NAMES


def rule_values(tree: ast.Module) -> Iterator[tuple[ast.Constant, bool]]:
    """String constants in a rule position, each with whether a refusal gives it (for the
    technical refusals, which are only taken from refusals, ``rule=`` and ``"rule":``)."""
    params: dict[str, list[int]] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = [*stmt.args.posonlyargs, *stmt.args.args]
            params[stmt.name] = [i for i, a in enumerate(arguments) if a.arg in RULE_NAMES]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield from _call_rule_values(node, params)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if _string(key) in RULE_NAMES and isinstance(value, ast.Constant):
                    yield value, _string(key) == "rule"
            yield from _with_numbered_siblings([k for k in node.keys if k is not None])
        elif isinstance(node, ast.List | ast.Tuple | ast.Set):
            yield from _with_numbered_siblings(node.elts)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            named = any(isinstance(t, ast.Name) and t.id in RULE_NAMES for t in targets)
            if named and isinstance(node.value, ast.Constant):
                yield node.value, False
        elif isinstance(node, ast.Compare) and len(node.comparators) == 1:
            left, right = node.left, node.comparators[0]
            for access, value in ((left, right), (right, left)):
                if _is_rule_access(access) and isinstance(value, ast.Constant):
                    yield value, False


def _call_rule_values(
    node: ast.Call, params: Mapping[str, list[int]]
) -> Iterator[tuple[ast.Constant, bool]]:
    owner, name = _called(node.func)
    args = node.args
    if name in REFUSAL_TYPES or (name in REFUSAL_CONSTRUCTORS and owner in REFUSAL_TYPES):
        if args and isinstance(args[0], ast.Constant) and args[0].value is not None:
            yield args[0], True
        elif name == "Refusal" and len(args) > 1 and isinstance(args[1], ast.Constant):
            yield args[1], True
    elif owner is None and name in params:
        for index in params[name]:
            argument = args[index] if index < len(args) else None
            if isinstance(argument, ast.Constant):
                yield argument, False
    elif name == "parametrize" and len(args) > 1 and isinstance(args[1], ast.List | ast.Tuple):
        columns = _names(args[0])
        for index, column in enumerate(columns):
            if column not in RULE_NAMES:
                continue
            for row in args[1].elts:
                if isinstance(row, ast.Tuple | ast.List) and index < len(row.elts):
                    value = row.elts[index]
                    if isinstance(value, ast.Constant):
                        yield value, False
    for keyword in node.keywords:
        if keyword.arg in RULE_NAMES and isinstance(keyword.value, ast.Constant):
            yield keyword.value, keyword.arg == "rule"


def _with_numbered_siblings(elements: Sequence[ast.expr]) -> Iterator[tuple[ast.Constant, bool]]:
    texts = [_string(element) for element in elements]
    if any(text is not None and _WORD_TAG.fullmatch(text) for text in texts):
        for element in elements:
            if isinstance(element, ast.Constant) and element.value in SINGLE_LETTERS:
                yield element, False


def scan(text: str, path: str, *, test: bool = False) -> Scan:
    """The tags ``text`` (the source of the file at ``path``) cites, each with its scope."""
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        raise CatalogueError(f"{path}:{exc.lineno}: can't be parsed: {exc.msg}") from exc
    scopes = _Scopes(tree, text.splitlines())
    found: set[tuple[str, int]] = set()
    technical: set[tuple[str, int]] = set()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            found |= {(t, token.start[0] + o) for t, o in text_tags(token.string.lstrip("#"))}
    for node in ast.walk(tree):
        value = _string(node)
        if value is not None:
            line = getattr(node, "lineno", 1)
            found |= {(t, line + o) for t, o in text_tags(value)}
        if test and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            parts = node.name.split("_")
            if parts[0] == "test":
                found |= {(p.upper(), node.lineno) for p in parts if _NAME_TAG.fullmatch(p)}
    for constant, from_refusal in rule_values(tree):
        rule = constant.value
        if not isinstance(rule, str):
            continue
        if _TAG_LIKE.fullmatch(rule):
            found.add((rule, constant.lineno))
        elif from_refusal and _RULE_NAME.fullmatch(rule):
            technical.add((rule, constant.lineno))
    return Scan(
        tags=sorted(Citation(t, path, n, scopes.name_at(n)) for t, n in found),
        technical=sorted(Citation(t, path, n, scopes.name_at(n)) for t, n in technical),
    )


def source_files(root: Path = ROOT) -> list[Path]:
    """The non-test Python sources of the services and the backbone, relative to ``root``."""
    packages = [
        p for p in root.glob("services/*/passend_*") if p.is_dir() and p.suffix != ".egg-info"
    ]
    packages.append(root / "backbone/passend_backbone")
    files = {
        path.relative_to(root)
        for package in packages
        for path in package.rglob("*.py")
        if not _is_test(path.relative_to(package))
    }
    return sorted(files)


def suite_files(root: Path = ROOT) -> list[Path]:
    """Every Python file under ``tests/`` but the generator's own test, relative to ``root``."""
    return sorted(
        p.relative_to(root)
        for p in (root / "tests").rglob("*.py")
        if p.relative_to(root) != OWN_TEST
    )


def _is_test(path: Path) -> bool:
    return (
        "tests" in path.parts
        or path.name == "conftest.py"
        or path.name.startswith("test_")
        or path.stem.endswith("_test")
    )


# --- the catalogue --------------------------------------------------------------------------


@dataclass
class Catalogue:
    """Everything the catalogue says, and the citations of tags nobody defined."""

    rules: dict[str, Rule]
    code: dict[str, list[Citation]]
    tests: dict[str, list[Citation]]
    technical: dict[str, list[Citation]]
    undefined: list[Citation]


def collect(root: Path = ROOT, design: Path | None = None) -> Catalogue:
    """Reads the sources and scans the code and the tests."""
    rules = load_rules(design or design_dir(root))
    code: dict[str, list[Citation]] = defaultdict(list)
    tests: dict[str, list[Citation]] = defaultdict(list)
    technical: dict[str, list[Citation]] = defaultdict(list)
    undefined: list[Citation] = []
    for files, into, is_test in (
        (source_files(root), code, False),
        (suite_files(root), tests, True),
    ):
        for path in files:
            found = scan((root / path).read_text(encoding="utf-8"), path.as_posix(), test=is_test)
            for citation in found.tags:
                (into[citation.tag] if citation.tag in rules else undefined).append(citation)
            if not is_test:
                for citation in found.technical:
                    technical[citation.tag].append(citation)
    return Catalogue(rules, dict(code), dict(tests), dict(technical), sorted(undefined))


def undefined_problems(catalogue: Catalogue) -> list[str]:
    """One line per citation of a tag that neither domain.md nor EXTRA_TAGS defines."""
    known = _tag_summary(catalogue.rules)
    return [
        f"{c.path}:{c.line}: cites {c.tag}, which is not a defined rule tag ({known}; "
        "tags come from domain.md, or EXTRA_TAGS in passend_devstack/rules.py)"
        for c in catalogue.undefined
    ]


def render(catalogue: Catalogue) -> str:
    """The catalogue as Markdown: an overview, then a section per tag, then the leftovers."""
    rules = catalogue.rules
    out = [_HEADER, "## Overview", "", "| tag | meaning | cited in code | cited in tests |"]
    out.append("|---|---|---|---|")
    for tag, rule in rules.items():
        code, tests = _count(catalogue.code.get(tag, [])), _count(catalogue.tests.get(tag, []))
        out.append(f"| [{tag}](#{tag.lower()}) | {_cell(rule.meaning)} | {code} | {tests} |")
    out.append("")
    for tag, rule in rules.items():
        out += [f"## {tag}", ""]
        if rule.place:
            out.append(f"{rule.place} (seed `{rule.seed}`):")
        else:
            source = "domain.md" if rule.in_domain_md else "not yet in domain.md"
            out += [f"{rule.meaning} ({source}).", "", f"Seed `{rule.seed}`:"]
        out += ["", f"> {rule.quote}", ""]
        out += _places("Cited in code", catalogue.code.get(tag, []))
        out += _places("Cited in tests", catalogue.tests.get(tag, []))
    uncited = [f"[{tag}](#{tag.lower()})" for tag in rules if tag not in catalogue.code]
    out += ["## Not cited in code", "", ", ".join(uncited) or "Every tag is cited.", ""]
    out += ["## Technical refusals", "", _TECHNICAL_INTRO, ""]
    for name in sorted(catalogue.technical, key=lambda n: (n.lower(), n)):
        out += _places(f"`{name}`", catalogue.technical[name])
    return "\n".join(out).rstrip("\n") + "\n"


_HEADER = f"""\
# Passend rules catalogue

Generated by `{COMMAND}` from the rule tags cited in the code, the
tag table of `domain.md` and the seed documents it names; do not edit by hand.
`{COMMAND} --check` fails when this page is stale or when the code
cites a tag nobody defined. How a citation is recognised: the docstring of
`devstack/passend_devstack/rules.py`.

Each tag's section quotes the seed sentence the tag stands for (in Dutch, as written) and names
the source files and functions that cite the tag (in a docstring, a comment, a message or as
the rule of a refusal), then the tests that cite it. Line numbers are left out on purpose: the
page changes only when a citation moves between functions or files.
"""
_TECHNICAL_INTRO = (
    "Refusals whose rule names no domain tag but a property of the system (or a norm), by name; "
    "where they are given:"
)


def _places(title: str, citations: Sequence[Citation]) -> list[str]:
    by_file: dict[str, set[str]] = defaultdict(set)
    for citation in citations:
        by_file[citation.path].add(citation.scope)
    if not by_file:
        return [f"**{title}:** none.", ""]
    lines = [f"**{title}:**", ""]
    for path, scopes in sorted(by_file.items()):
        names = ", ".join(_scope(s) for s in sorted(scopes, key=_scope_order))
        lines.append(f"- `{path}`: {names}")
    return [*lines, ""]


def _scope(scope: str) -> str:
    return scope if scope == "(module)" else f"`{scope}`"


def _scope_order(scope: str) -> tuple[bool, str]:
    return scope != "(module)", scope


def _count(citations: Sequence[Citation]) -> str:
    files = len({c.path for c in citations})
    places = len({(c.path, c.scope) for c in citations})
    if not places:
        return "-"
    return f"{places} in {files} file{'s' if files != 1 else ''}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _tag_summary(rules: Mapping[str, Rule]) -> str:
    numbered = [t for t in rules if re.fullmatch(r"W\d+", t)]
    letters = [t for t in rules if t not in numbered]
    parts = [f"{numbered[0]}..{numbered[-1]}"] if numbered else []
    return ", ".join(parts + letters)


# --- checking and writing -------------------------------------------------------------------


def check(root: Path = ROOT, design: Path | None = None) -> list[str]:
    """Why ``docs/rules.md`` is not current (empty when it is): undefined tags, or a stale page."""
    catalogue = collect(root, design)
    problems = undefined_problems(catalogue)
    if problems:
        return problems
    wanted = render(catalogue)
    path = root / CATALOGUE
    if not path.exists():
        return [f"{CATALOGUE} is missing: run `{COMMAND}` and commit the result"]
    on_disk = path.read_text(encoding="utf-8")
    if on_disk == wanted:
        return []
    diff = list(
        difflib.unified_diff(
            on_disk.splitlines(), wanted.splitlines(), "committed", "generated", lineterm="", n=1
        )
    )
    shown = diff[:40] + ([f"... ({len(diff) - 40} more diff lines)"] if len(diff) > 40 else [])
    return [f"{CATALOGUE} is stale: run `{COMMAND}` and commit the result", *shown]


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if docs/rules.md is not current"
    )
    args = parser.parse_args(argv)
    root = ROOT
    if not (root / "services").is_dir():
        print(f"{root} is not a source checkout: install the dev stack editable", file=sys.stderr)
        return 2
    try:
        if args.check:
            problems = check(root)
            if problems:
                print("The rules catalogue is not current:", *problems, sep="\n", file=sys.stderr)
            return 1 if problems else 0
        catalogue = collect(root)
        problems = undefined_problems(catalogue)
        if problems:
            print("Nothing written:", *problems, sep="\n", file=sys.stderr)
            return 1
        path = root / CATALOGUE
        text = render(catalogue)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            return 0
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
        print(f"wrote {CATALOGUE}")
        return 0
    except CatalogueError as exc:
        print(f"rules catalogue: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
