"""A working copy of MLflow's test folder that pytest can run against mlcask.

The copy (never the source folder) differs in three ways:

- every ``conftest.py`` of MLflow's suite is left out (they import MLflow internals); the harness's
  own conftest (``harness_conftest.py``) is written as ``tests/conftest.py``;
- each top-level import of every ``.py`` file is guarded: if it fails, the names it would bind are
  bound to placeholders (``placeholders.unavailable``), so one absent name costs only the tests
  that use it; so is each top-level class, and each decorated function, that mentions ``mlflow.``
  (``@mlflow.trace`` on a helper class must not cost the module's other tests); a test function
  lost that way is reported as a test that used the missing name;
- fixture statements that only isolate MLflow's internals (``rules.SCAFFOLDING_STATEMENTS``) become
  ``pass``;
- a ``pytest.ini`` (no options of MLflow's) and a ``sitecustomize.py`` that installs the
  ``mlflow -> mlcask`` alias in child Python processes too.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
GUARD_IMPORT = ("from mlflow_parity.placeholders import unavailable as __parity_unavailable, "
                "unavailable_definition as __parity_unavailable_definition\n")

SITECUSTOMIZE = """\
# Written by scripts/mlflow-parity: child processes see mlflow as mlcask too.
try:
    from mlflow_parity import alias as _parity_alias
    _parity_alias.install()
except Exception:  # the harness must never break an unrelated child process
    pass
"""

PYTEST_INI = """\
[pytest]
python_files = test_*.py
filterwarnings =
    ignore::DeprecationWarning
    ignore::FutureWarning
"""


def _guarded_alias(module: str, name: str, bound: str, indent: str, relative_level: int) -> str:
    dots = "." * relative_level
    source_module = f"{dots}{module}"
    as_part = f" as {bound}" if bound != name else ""
    return (f"{indent}try:\n"
            f"{indent}    from {source_module} import {name}{as_part}\n"
            f"{indent}except Exception as __parity_error:\n"
            f"{indent}    {bound} = __parity_unavailable({module!r}, {name!r}, __parity_error)\n")


def _guard(node: ast.stmt) -> str | None:
    """The guarded replacement of one top-level import statement, or None to keep it."""
    if isinstance(node, ast.ImportFrom):
        if node.module == "__future__" or any(a.name == "*" for a in node.names):
            return None
        module = node.module or ""
        return "".join(_guarded_alias(module, a.name, a.asname or a.name, "", node.level) for a in node.names)
    if isinstance(node, ast.Import):
        out = []
        for a in node.names:
            if a.asname:
                out.append(f"try:\n    import {a.name} as {a.asname}\n"
                           f"except Exception as __parity_error:\n"
                           f"    {a.asname} = __parity_unavailable({a.name!r}, None, __parity_error)\n")
            else:
                top = a.name.split(".")[0]
                out.append(f"try:\n    import {a.name}\n"
                           f"except Exception as __parity_error:\n"
                           f"    if {top!r} not in globals():\n"
                           f"        {top} = __parity_unavailable({top!r}, None, __parity_error)\n")
        return "".join(out)
    return None


def _has_multiline_string(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and n.lineno != n.end_lineno
               for n in ast.walk(node))


def _mentions_mlflow(node: ast.ClassDef | ast.FunctionDef, lines: list[str]) -> bool:
    heads = [*node.decorator_list, *getattr(node, "bases", [])]
    text = "".join("".join(lines[h.lineno - 1:h.end_lineno]) for h in heads)
    if isinstance(node, ast.ClassDef):
        text += "".join(lines[node.lineno - 1:node.end_lineno])
    return "mlflow." in text or "mlflow\n" in text


def _guard_definition(node: ast.stmt, lines: list[str]) -> str | None:
    """A top-level class, or a decorated function, that mentions ``mlflow.``: if defining it fails
    (a missing name in a decorator, base or class body), its name is bound to a placeholder."""
    if not isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.decorator_list:
        return None
    if not _mentions_mlflow(node, lines) or _has_multiline_string(node):
        return None
    start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
    body = "".join(lines[start:node.end_lineno])
    if not body.endswith("\n"):
        body += "\n"
    indented = "".join(("    " + line) if line.strip() else line for line in body.splitlines(keepends=True))
    return (f"try:\n{indented}except Exception as __parity_error:\n"
            f"    {node.name} = __parity_unavailable_definition(__name__, {node.name!r}, __parity_error)\n")


def guard_imports(source: str) -> str:
    """``source`` with each top-level import (and each top-level definition that mentions
    ``mlflow.``) guarded (see the module docstring)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines(keepends=True)
    replacements: list[tuple[int, int, str]] = []
    insert_at = 0
    for index, node in enumerate(tree.body):
        is_docstring = (index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                        and isinstance(node.value.value, str))
        if is_docstring or (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            insert_at = node.end_lineno or 0
            continue
        guarded = _guard(node)
        if guarded is not None:
            replacements.append((node.lineno - 1, node.end_lineno or node.lineno, guarded))
            continue
        guarded = _guard_definition(node, lines)
        if guarded is not None:
            start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
            replacements.append((start, node.end_lineno or node.lineno, guarded))
    if not replacements:
        return source
    for start, end, text in reversed(replacements):
        lines[start:end] = [text]
    lines.insert(insert_at, GUARD_IMPORT)
    return "".join(lines)


def drop_scaffolding(source: str) -> str:
    """``source`` with MLflow's internal-isolation statements (``rules.SCAFFOLDING_STATEMENTS``)
    replaced by ``pass``."""
    from mlflow_parity.rules import SCAFFOLDING_STATEMENTS

    return SCAFFOLDING_STATEMENTS.sub(lambda m: f"{m.group(1)}pass  # parity: dropped {m.group(2)}", source)


def _copy_tree(source_tests: Path, dest_tests: Path) -> None:
    for path in sorted(source_tests.rglob("*")):
        rel = path.relative_to(source_tests)
        if "__pycache__" in rel.parts:
            continue
        target = dest_tests / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.name == "conftest.py":
            continue
        elif path.suffix == ".py":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(drop_scaffolding(guard_imports(path.read_text(encoding="utf-8"))), encoding="utf-8")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def build(source: Path, dest: Path) -> Path:
    """Build the working copy of ``source`` (a folder holding MLflow's ``tests/``) in ``dest``.

    Returns ``dest``; ``dest/site`` is the folder to put on ``PYTHONPATH`` for children.
    """
    source_tests = source / "tests"
    if not source_tests.is_dir():
        raise FileNotFoundError(f"expected MLflow's test folder at {source_tests}, found nothing there")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    _copy_tree(source_tests, dest / "tests")
    (dest / "tests" / "conftest.py").write_text((HERE / "harness_conftest.py").read_text(encoding="utf-8"),
                                                encoding="utf-8")
    (dest / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    (dest / "site").mkdir()
    (dest / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    return dest
