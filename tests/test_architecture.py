"""The rules of the house (../shared/ARCHITECTURE.md), read off the source with Python's own parser:
modules stay under 500 lines, no stage imports another stage's private modules, and no import circles.

Each rule is checked against the real package and, to show the checker itself can fail, against a small
package written here that breaks it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sekimori"
MAX_LINES = 500
# The stages, bottom to top; a stage imports only stages below it (and model). Faces sit on top.
STAGES = ("model", "ingest", "store", "detect", "graph", "respond", "report", "govern")
FACES = ("cli", "web", "demo")
SHARED = ("plugins",)  # package-level helpers every stage may use


def modules(root: Path) -> Iterator[tuple[str, Path]]:
    """(dotted name, path) of every module under ``root`` (a package folder)."""
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def imports(name: str, path: Path) -> Iterator[tuple[str, int, bool]]:
    """(imported module, line, runs at run time) of every import in a module; an import under
    ``if TYPE_CHECKING:`` is for the type checker only. ``from a.b import c`` gives both ``a.b.c`` (in case
    it is a module) and ``a.b``; ``resolve`` keeps what exists."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    for node in ast.walk(tree):
        runs = id(node) not in typing_only
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, runs
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                yield f"{module}.{alias.name}", node.lineno, runs
            yield module, node.lineno, runs


def resolve(target: str, known: set[str]) -> str | None:
    """The module ``target`` names: itself if it is one, else the nearest enclosing known module."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


def top_unit(module: str) -> str:
    """The stage, face or shared module a module belongs to: ``sekimori.graph.build`` -> ``graph``;
    the command-line modules at the package root (``sekimori.cli_*``) belong to the ``cli`` face."""
    parts = module.split(".")
    if len(parts) == 1:
        return ""
    return "cli" if parts[1].startswith("cli") else parts[1]


def private_imports(root: Path) -> list[str]:
    """Imports of a stage's module other than its ``__init__`` by code outside that stage."""
    known = {name for name, _ in modules(root)}
    found = []
    for name, path in modules(root):
        unit = top_unit(name)
        for target, line, _runs in imports(name, path):
            if not target.startswith(root.name + "."):
                continue
            module = resolve(target, known)
            if module is None:
                continue
            owner = top_unit(module)
            if owner in STAGES and owner != unit and module != f"{root.name}.{owner}":
                found.append(f"{path.relative_to(root.parent)}:{line} imports {module}")
    return sorted(set(found))


def import_cycles(root: Path) -> list[list[str]]:
    """Circles among modules through every import that runs, at module level or inside a function (a
    deferred import is still a dependency); only imports under ``if TYPE_CHECKING`` do not count."""
    known = {name for name, _ in modules(root)}
    edges: dict[str, set[str]] = {name: set() for name in known}
    for name, path in modules(root):
        for target, _line, runs in imports(name, path):
            module = resolve(target, known) if target.startswith(root.name) else None
            # Importing a.b.c runs a/__init__ and a/b/__init__ first: those are imported too.
            while runs and module and module != root.name:
                if module != name and not name.startswith(module + "."):
                    edges[name].add(module)
                module = module.rpartition(".")[0]
    # Tarjan's strongly connected components: every component of more than one module is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return circles


def long_modules(root: Path) -> list[str]:
    found = []
    for _name, path in modules(root):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            found.append(f"{path.relative_to(root.parent)}: {lines} lines")
    return found


def test_no_module_over_500_lines():
    assert long_modules(PACKAGE) == []


def test_no_stage_imports_another_stages_private_module():
    assert private_imports(PACKAGE) == []


def test_no_import_circles():
    assert import_cycles(PACKAGE) == []


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A package that breaks every rule once."""
    root = tmp_path / "sekimori"
    files = {
        "__init__.py": "",
        "graph/__init__.py": "from sekimori.graph.build import build\n__all__ = ['build', 'blast']\n",
        "graph/build.py": "from sekimori.graph import paths\n" + "x = 1\n" * 600,
        "graph/paths.py": "from sekimori.graph.build import build\n",
        "respond/__init__.py": "",
        "respond/scope.py": (
            "from sekimori.graph.build import host_key\n"
            "from sekimori.graph import build_graph\n"
            "def later():\n    from sekimori.graph import paths\n"
        ),
        "respond/case.py": "def later():\n    from sekimori.respond.timeline import x\n",
        "respond/timeline.py": "from sekimori.respond.case import y\n",
        "respond/ok.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import scope\n",
        "cli_x.py": "import sekimori.respond.scope\n",
        "cli/__init__.py": "from sekimori.cli_y import y_app\n",
        "cli/common.py": "",
        "cli_y.py": "from sekimori.cli.common import fail\n",
    }
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def test_the_checks_catch_what_they_are_for(broken: Path):
    assert long_modules(broken) == ["sekimori/graph/build.py: 601 lines"]
    assert shadowed_exports(broken) == ["sekimori.graph.build"]
    assert private_imports(broken) == [
        "sekimori/cli_x.py:1 imports sekimori.respond.scope",
        "sekimori/respond/scope.py:1 imports sekimori.graph.build",
        "sekimori/respond/scope.py:4 imports sekimori.graph.paths",
    ]
    assert import_cycles(broken) == [
        ["sekimori.cli", "sekimori.cli_y"],  # through the package's __init__
        ["sekimori.graph.build", "sekimori.graph.paths"],
        ["sekimori.respond.case", "sekimori.respond.timeline"],
    ]


def shadowed_exports(root: Path) -> list[str]:
    """A stage's exported name that is also one of its submodules (``sekimori.detect.watch``) is replaced by
    that module once anything imports it: the export works alone and breaks in a larger program."""
    clashes = []
    for stage in STAGES:
        init = root / stage / "__init__.py"
        if not init.exists():
            continue
        tree = ast.parse(init.read_text(encoding="utf-8"))
        exported = next(
            (
                ast.literal_eval(node.value)
                for node in tree.body
                if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            ),
            [],
        )
        submodules = {p.stem for p in (root / stage).glob("*.py")} | {
            p.parent.name for p in (root / stage).glob("*/__init__.py")
        }
        clashes += [f"{root.name}.{stage}.{name}" for name in exported if name in submodules]
    return clashes


def test_no_public_name_is_shadowed_by_a_submodule():
    assert shadowed_exports(PACKAGE) == []
