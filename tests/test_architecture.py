"""The shape of the code: imports point one way and form no cycle.

models_registry ← collectors ← predictor ← experiments / effbench. Every import statement
counts, including the ones inside functions (a lazy import is still a dependency: it only moves
the failure from import time to call time). Edges are between modules; importing a submodule
is not counted as importing its package's ``__init__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = {"models_registry": 0, "collectors": 1, "predictor": 2, "experiments": 3, "effbench": 3}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _graph() -> nx.DiGraph:
    modules = {_module_name(p): p for package in LAYERS for p in (REPO / package).rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                    + ([base] if base else []))
                # ``from pkg import sub`` imports the submodule ``pkg.sub`` when there is one
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            for target in targets:
                while target and target not in modules and "." in target:
                    target = target.rpartition(".")[0]
                if target in modules and target != name:
                    graph.add_edge(name, target)
    return graph


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    return _graph()


def test_no_upward_import(graph):
    upward = [(a, b) for a, b in graph.edges
              if LAYERS[a.split(".")[0]] < LAYERS[b.split(".")[0]]]
    assert not upward, f"imports against the layering: {upward}"


def test_predictor_imports_no_cli_code(graph):
    assert not [(a, b) for a, b in graph.edges
                if a.startswith("predictor") and b.startswith("effbench")]


def test_no_import_cycle(graph):
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, f"import cycles: {cycles[:5]}"


def test_the_graph_sees_lazy_imports(graph):
    """Guard against a test that cannot fail: a known lazy (function-level) import is an edge."""
    assert graph.has_edge("effbench.cli.predict", "predictor.service")
    assert graph.has_edge("predictor.service.auto", "predictor.evaluation")
