"""The one-way flow: data_contracts → features → models → pipelines → serving → cli.

Walks every import of every module (at the top and inside functions) with `ast`, so a backward
arrow cannot hide in a function body."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("data_contracts", "features", "models", "pipelines", "serving", "cli")
RANK = {room: i for i, room in enumerate(ROOMS)}


def _modules() -> dict[str, Path]:
    out = {}
    for room in ROOMS:
        for f in sorted((ROOT / room).rglob("*.py")):
            parts = f.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported project module, line, inside a function?) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, nested) for a in child.names if a.name.split(".")[0] in RANK)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0 and child.module.split(".")[0] in RANK:
                found.append((child.module, child.lineno, nested))
                found.extend((f"{child.module}.{a.name}", child.lineno, nested) for a in child.names
                             if f"{child.module}.{a.name}" in MODULES)
            visit(child, inner)

    visit(tree, False)
    return found


def test_every_room_exists():
    for room in ROOMS:
        assert (ROOT / room / "__init__.py").is_file(), room


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_backward_arrow(module):
    room = module.split(".")[0]
    backward = [(imp, line) for imp, line, _ in _imports(MODULES[module]) if RANK[imp.split(".")[0]] > RANK[room]]
    assert not backward, f"{module} imports a room above it: {backward}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not m.startswith("cli")))
def test_no_project_import_inside_a_function(module):
    """Below the command, our own modules are imported at the top (a nested import would hide a cycle).
    The command's modules import lazily on purpose, so `iprisk --help` does not load MLflow and LightGBM."""
    nested = [(imp, line) for imp, line, inside in _imports(MODULES[module]) if inside]
    assert not nested, f"{module} imports project modules inside functions: {nested}"


def test_module_import_graph_has_no_cycle():
    graph = {m: {imp for imp, _, _ in _imports(p) if imp in MODULES and imp != m} for m, p in MODULES.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " → ".join(stack[stack.index(n):] + [n]))
            if n not in state:
                dfs(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            dfs(m)


def test_package_graph_points_one_way():
    edges = {(m.split(".")[0], imp.split(".")[0]) for m, p in MODULES.items() for imp, _, _ in _imports(p)}
    assert all(RANK[a] >= RANK[b] for a, b in edges), sorted(e for e in edges if RANK[e[0]] < RANK[e[1]])
