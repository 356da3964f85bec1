"""The import graph of `orchestration/` follows the pipeline: no import runs up a level, no cycle.

Standard library only (ast): every `import` and `from ... import` in every module, at module level
or inside a function (a lazy import is a dependency all the same), is an edge. A module's level is
the one of the longest prefix in LEVELS that names it. An edge may go down any number of levels or
stay on its own level; it may never go up. Independently, the module graph must have no cycle
(two modules of one level importing each other, or a package importing itself through its
`__init__`). `orchestration` never imports `tests` or `bench`.

Run it alone: `.venv/bin/python -m pytest tests/test_import_graph.py -q` (about a second).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "orchestration"

# Bottom to top. A tuple is one level: its members may import each other (but not in a cycle).
LEVELS: list[tuple[str, ...]] = [
    ("orchestration.core.paths",),  # where things are: no imports of ours
    ("orchestration.core.settings",),  # the settings, read from the environment once
    ("orchestration.core",),  # retention, the instance rule, offline pages, partitions, the warehouse resources
    ("orchestration.nyse_calendar",),  # kept where it is: `python -m orchestration.nyse_calendar`
    # one declaration per raw dataset, RawDataError; text rows typed by it without DuckDB (for a source)
    ("orchestration.raw.contract", "orchestration.raw.text_values"),
    ("orchestration.raw.sources",),  # demo, csv, live: frames, never the warehouse
    ("orchestration.raw",),  # the loader, the source resource, the raw assets
    ("orchestration.transform",),  # dbt: project, resource, assets, metadata, docs site
    ("orchestration.quality",),  # GX suites, checks, results pages, the gate's review of the instance
    ("orchestration.publish",),  # publication, exports, the publish asset
    ("orchestration.note",),  # the monthly note and its asset
    ("orchestration.automation",),  # the job, schedules, the note sensor
    ("orchestration.definitions",),  # assembles the stages: the one Definitions
    ("orchestration.cli",),  # make run / note / docs / ui
]

# Edges that are known to break the rule, each with what removes it. The test fails when an edge
# listed here no longer exists, so the list can only shrink. Empty when done.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _owner(name: str, known: dict[str, Path]) -> str | None:
    """The module (or package) `name` refers to: itself, or the nearest enclosing one we have."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(name: str, path: Path, known: dict[str, Path]) -> set[tuple[str, int]]:
    """(imported module, line) for every import of ours in `path`, resolved to modules we have.

    `from pkg import sub` is an edge to `pkg.sub` when that is a module, else to `pkg`;
    relative imports are resolved against `name`."""
    is_package = path.name == "__init__.py"
    edges = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                targets.append(candidate if candidate in known else base)
        for target in targets:
            if target.split(".")[0] in {"tests", "bench"}:
                edges.add((target, node.lineno))
            elif target.split(".")[0] == PACKAGE:
                owner = _owner(target, known)
                if owner and owner != name:
                    edges.add((owner, node.lineno))
    return edges


def level(name: str) -> int:
    """Index in LEVELS of the longest prefix naming `name`; the root package is below everything."""
    if name == PACKAGE:
        return -1
    best, best_length = None, -1
    for index, members in enumerate(LEVELS):
        for prefix in members:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    if best is None:
        raise AssertionError(f"{name} is in no level: add it to LEVELS in {Path(__file__).name}")
    return best


@pytest.fixture(scope="module")
def graph() -> dict[str, set[tuple[str, int]]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_module_has_a_level(graph):
    for name in graph:
        level(name)


def test_no_import_runs_up_a_level(graph):
    known = modules()
    upward, seen = [], set()
    for name, edges in sorted(graph.items()):
        for target, line in sorted(edges):
            if target.split(".")[0] in {"tests", "bench"}:
                upward.append(f"{known[name].relative_to(ROOT)}:{line} imports {target}")
                continue
            if level(target) > level(name):
                seen.add((name, target))
                if (name, target) not in KNOWN_VIOLATIONS:
                    upward.append(
                        f"{known[name].relative_to(ROOT)}:{line} {name} (level {level(name)}) imports "
                        f"{target} (level {level(target)})"
                    )
    stale = sorted(set(KNOWN_VIOLATIONS) - seen)
    assert not upward, "imports that run up the pipeline:\n" + "\n".join(upward)
    assert not stale, f"no longer violated, remove from KNOWN_VIOLATIONS: {stale}"


def test_no_import_cycle(graph):
    """Tarjan's strongly connected components over the module graph: every component is one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target, _ in graph.get(node, ()):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)
