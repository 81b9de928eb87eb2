"""zoo's modules import one another without a circle, counting imports inside functions too (a lazy import hides a
circle from Python but not from the reader), and the checkpoint and pretrained modules import in any order."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("zoo", "datamodules")


def module_files() -> dict[str, Path]:
    """``{dotted module name: path}`` for every module of zoo's packages."""
    modules = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ``modules`` that ``name`` imports anywhere in its source (``from a import b`` counts as
    ``a.b`` when that is a module, else as ``a``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
    return {module for module in found if module in modules and module != name}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of ``graph`` as ``[a, b, ..., a]``, or [] when there is none (depth-first search)."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" once fully explored
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = "open"
        path.append(node)
        for successor in sorted(graph[node]):
            if state.get(successor) == "open":
                return path[path.index(successor):] + [successor]
            if successor not in state and (cycle := visit(successor)):
                return cycle
        state[node] = "done"
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_no_module_imports_in_a_circle():
    modules = module_files()
    graph = {name: imported(name, path, modules) for name, path in modules.items()}
    assert {"zoo.checkpoint", "zoo.locate", "zoo.pretrained.index"} <= graph.keys()
    assert "zoo.locate" in graph["zoo.checkpoint"] and "zoo.pretrained" in graph["zoo.locate"]
    assert find_cycle(graph) == [], "import circle: " + " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_lazy_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


@pytest.mark.parametrize("order", [
    ("zoo.checkpoint", "zoo.pretrained"),
    ("zoo.pretrained", "zoo.checkpoint"),
    ("zoo.pretrained.hub", "zoo.locate", "zoo.checkpoint"),
    ("zoo.locate", "zoo.pretrained.download", "zoo.errors"),
])
def test_modules_import_in_any_order_in_a_fresh_interpreter(order):
    code = "; ".join(f"import {module}" for module in order) + "; import zoo; zoo.load; zoo.pretrained.pull"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
