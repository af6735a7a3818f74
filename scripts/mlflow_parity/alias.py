"""``import mlflow`` and ``import mlflow.X.Y`` resolve to the ``mlcask`` / ``mlcask.X.Y`` module objects.

The finder sits first on ``sys.meta_path``. For ``mlflow.X.Y`` it imports ``mlcask.X.Y`` and hands
back that very object, so ``mlflow.sklearn is mlcask.sklearn`` and no mlcask module is ever loaded
twice. A name mlcask lacks is not found, so Python raises its usual
``ModuleNotFoundError: No module named 'mlflow.X'``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

ALIAS = "mlflow"
TARGET = "mlcask"


def target_name(fullname: str) -> str | None:
    """``mlflow.a.b`` -> ``mlcask.a.b``; None for a name outside the ``mlflow`` package."""
    if fullname == ALIAS:
        return TARGET
    if fullname.startswith(ALIAS + "."):
        return TARGET + fullname[len(ALIAS):]
    return None


def mlflow_name(name: str) -> str:
    """``mlcask.a.b`` -> ``mlflow.a.b`` (how a report names it); other names unchanged."""
    if name == TARGET or name.startswith(TARGET + "."):
        return ALIAS + name[len(TARGET):]
    return name


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.original_spec = getattr(module, "__spec__", None)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        # importlib stamped the alias spec on the module; the module keeps its own identity.
        module.__spec__ = self.original_spec


class MlflowAliasFinder(importlib.abc.MetaPathFinder):
    """Find ``mlflow`` and ``mlflow.*`` as the same-named ``mlcask`` modules."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        real = target_name(fullname)
        if real is None:
            return None
        module = sys.modules.get(real)
        if module is None:
            try:
                if importlib.util.find_spec(real) is None:
                    return None
            except ModuleNotFoundError:
                return None
            module = importlib.import_module(real)
        is_package = hasattr(module, "__path__")
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module), is_package=is_package)


def install() -> MlflowAliasFinder:
    """Put the finder first on ``sys.meta_path`` (once) and alias what is already imported."""
    for finder in sys.meta_path:
        if isinstance(finder, MlflowAliasFinder):
            return finder
    finder = MlflowAliasFinder()
    sys.meta_path.insert(0, finder)
    for name, module in list(sys.modules.items()):
        if name == TARGET or name.startswith(TARGET + "."):
            sys.modules.setdefault(mlflow_name(name), module)
    return finder


def uninstall() -> None:
    """Remove the finder and the ``mlflow`` entries it put in ``sys.modules``."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, MlflowAliasFinder)]
    for name in [n for n in sys.modules if n == ALIAS or n.startswith(ALIAS + ".")]:
        del sys.modules[name]
