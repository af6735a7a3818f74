"""Importing a model's ``code/`` folder from source only.

Plain imports read ``__pycache__/*.pyc`` files when their header matches the source's
size and mtime, and a ``.pyc`` is outside the integrity manifest. So the folders of
model code get their own path-hook: modules there are compiled from the (verified)
``.py`` source every time, no bytecode is read or written, and nothing but ``.py``
files (no extension modules, no sourceless ``.pyc``) is importable from them.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from typing import Any

_roots: set[str] = set()


class SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compile from source; never consult or write a bytecode cache."""

    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)

    def set_data(self, path: str, data: bytes, *, _mode: int = 0o666) -> None:
        return None


def _is_model_code(path: str) -> bool:
    return any(path == root or path.startswith(root + os.sep) for root in _roots)


def _path_hook(path: str) -> importlib.machinery.FileFinder:
    if not _is_model_code(os.path.abspath(path or ".")):
        raise ImportError("not a model code folder")
    return importlib.machinery.FileFinder(path, (SourceOnlyLoader, importlib.machinery.SOURCE_SUFFIXES))


def add_source_only_path(folder: str) -> None:
    """Put ``folder`` first on ``sys.path``, imported through :class:`SourceOnlyLoader`."""
    folder = os.path.abspath(folder)
    if _path_hook not in sys.path_hooks:
        sys.path_hooks.insert(0, _path_hook)
    _roots.add(folder)
    for cached in [p for p in sys.path_importer_cache if _is_model_code(os.path.abspath(p or "."))]:
        del sys.path_importer_cache[cached]
    if folder not in sys.path:
        sys.path.insert(0, folder)
