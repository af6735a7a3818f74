"""The package's import graph: no cycle (imports inside functions count), and imports point
down the layers of DESIGN.md."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mlcask"

# A module of the left layer never imports one of the right.
FORBIDDEN = [
    ("mlcask.types", ("mlcask.models", "mlcask.pyfunc", "mlcask.tracking", "mlcask.serving", "mlcask.server",
                      "mlcask.deployments")),
    ("mlcask.models", ("mlcask.pyfunc", "mlcask.tracking", "mlcask.serving", "mlcask.server", "mlcask.deployments")),
    # The model's own environments sit beside models/: pyfunc (spark_udf), serving and deployments use them.
    ("mlcask.environments", ("mlcask.pyfunc", "mlcask.tracking", "mlcask.serving", "mlcask.server",
                             "mlcask.deployments", "mlcask.evaluation", "mlcask.cli")),
    # pyfunc and the flavors call tracking for log_model (logging into a run), as in MLflow.
    ("mlcask.pyfunc", ("mlcask.serving", "mlcask.server", "mlcask.deployments")),
    ("mlcask.tracking", ("mlcask.evaluation", "mlcask.serving", "mlcask.server", "mlcask.deployments", "mlcask.cli")),
    ("mlcask.evaluation", ("mlcask.serving", "mlcask.server", "mlcask.ui", "mlcask.cli")),
    ("mlcask.serving", ("mlcask.server", "mlcask.deployments", "mlcask.cli")),
    # Managed endpoints are run by the server, which mounts them; they never reach up into it.
    ("mlcask.deployments", ("mlcask.server", "mlcask.ui", "mlcask.cli")),
    ("mlcask.server", ("mlcask.cli",)),
    # The web UI's assets know nothing of the server that serves them.
    ("mlcask.ui", ("mlcask.server", "mlcask.tracking", "mlcask.serving", "mlcask.cli")),
]

# Upward imports MLflow's API makes necessary, with the reason.
ALLOWED = {
    # mlflow.models.validate_serving_input loads the model to predict with it.
    "mlcask.models.serving_input -> mlcask.pyfunc",
}


def _modules() -> dict[str, Path]:
    found = {}
    for file in PACKAGE.rglob("*.py"):
        parts = file.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = file
    return found


def _imports(name: str, file: Path, modules: dict[str, Path]) -> set[str]:
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            candidates = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in modules:
                candidate = candidate.rpartition(".")[0]
            # A module importing its own package (``from mlcask.tracking import x``) is no edge to it.
            if candidate and candidate != name and not name.startswith(candidate + "."):
                targets.add(candidate)
    return targets


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, file, modules) for name, file in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle(graph):
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("layer, above", FORBIDDEN)
def test_imports_point_down(graph, layer, above):
    wrong = sorted(f"{name} -> {target}" for name, targets in graph.items()
                   if name == layer or name.startswith(layer + ".")
                   for target in targets if target.startswith(above))
    assert [edge for edge in wrong if edge not in ALLOWED] == []
