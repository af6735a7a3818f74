"""Run a callback when a module is imported (now, if it already is)."""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import threading
from collections.abc import Callable
from typing import Any

_hooks: dict[str, list[Callable[[Any], None]]] = {}
_lock = threading.Lock()


class _LoaderWrapper(importlib.abc.Loader):
    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        for hook in _hooks.pop(module.__name__, []):
            hook(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)


class _PostImportFinder(importlib.abc.MetaPathFinder):
    _busy = threading.local()

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in _hooks or getattr(self._busy, "name", None) == fullname:
            return None
        self._busy.name = fullname
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy.name = None
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _LoaderWrapper(spec.loader)
        return spec


_finder = _PostImportFinder()


def when_imported(module_name: str, hook: Callable[[Any], None]) -> None:
    """Call ``hook(module)`` once ``module_name`` is imported: now if it already is."""
    module = sys.modules.get(module_name)
    if module is not None:
        hook(module)
        return
    with _lock:
        _hooks.setdefault(module_name, []).append(hook)
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
