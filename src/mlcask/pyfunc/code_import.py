"""Importing a model's ``code/`` folder from the verified bytes, never from disk by path.

MLflow puts a model's ``code/`` on ``sys.path``, so every later import (a lazy one during
``predict`` too) reads whatever files that path holds by then, and plain imports read
``__pycache__/*.pyc`` files, which no manifest covers. mlcask instead hands the sources it
read and verified through the pinned model folder to a meta-path finder: those modules
are compiled from those bytes, nothing under the folder is importable otherwise (no
bytecode, no extension modules, no file added later), and the folder never goes on
``sys.path``. As on ``sys.path``, the code of the model loaded last comes first.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType


class _VerifiedSourceLoader(importlib.abc.InspectLoader):
    def __init__(self, source: bytes, filename: str, is_package: bool) -> None:
        self._source = source
        self._filename = filename
        self._is_package = is_package

    def get_source(self, fullname: str) -> str:
        return importlib.util.decode_source(self._source)

    def get_code(self, fullname: str):  # noqa: ANN201 (a code object)
        return compile(self._source, self._filename, "exec", dont_inherit=True)

    def is_package(self, fullname: str) -> bool:
        return self._is_package

    def get_filename(self, fullname: str) -> str:
        return self._filename


class VerifiedCodeFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of one model's ``code/`` folder in memory.

    ``modules`` maps a module name to (source bytes, file name shown in tracebacks, is a
    package); ``packages`` maps each package name to its folder, for ``__path__``.
    """

    def __init__(self, root: str, modules: Mapping[str, tuple[bytes, str, bool]], packages: Mapping[str, str]):
        self.root = root
        self.modules = dict(modules)
        self.packages = dict(packages)

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        found = self.modules.get(fullname)
        if found is None:
            parent = fullname.rpartition(".")[0]
            if parent in self.packages and fullname not in self.packages:
                raise ModuleNotFoundError(f"No module named {fullname!r}: the model's code folder '{self.root}' "
                                          "holds no such verified source.", name=fullname)
            if fullname not in self.packages:
                return None
            found = (b"", self.packages[fullname], True)  # a folder without __init__.py
        source, filename, is_package = found
        spec = importlib.util.spec_from_loader(fullname, _VerifiedSourceLoader(source, filename, is_package),
                                               origin=filename, is_package=is_package)
        spec.has_location = True
        if is_package:
            spec.submodule_search_locations = [self.packages[fullname]]
        return spec


def _module_name(relative: str) -> tuple[str, bool] | None:
    """``pkg/sub.py`` -> ("pkg.sub", False); ``pkg/__init__.py`` -> ("pkg", True); None if not importable."""
    parts = relative.removesuffix(".py").split("/")
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts), is_package


def install_verified_code(root: str, sources: Mapping[str, bytes]) -> VerifiedCodeFinder:
    """Make the ``.py`` ``sources`` (paths relative to the code folder ``root``) importable.

    Each folder holding sources is a package (``__init__.py`` or not), as on ``sys.path``.
    """
    modules: dict[str, tuple[bytes, str, bool]] = {}
    packages: dict[str, str] = {}
    for relative, source in sources.items():
        named = _module_name(relative)
        if named is None:
            continue
        name, is_package = named
        filename = f"{root}/{relative}"
        modules[name] = (source, filename, is_package)
        parts = name.split(".") if is_package else name.split(".")[:-1]
        for depth in range(1, len(parts) + 1):
            packages.setdefault(".".join(parts[:depth]), f"{root}/{'/'.join(parts[:depth])}")
    finder = VerifiedCodeFinder(root, modules, packages)
    sys.meta_path[:] = [f for f in sys.meta_path if not (isinstance(f, VerifiedCodeFinder) and f.root == root)]
    position = next((i for i, f in enumerate(sys.meta_path)
                     if isinstance(f, VerifiedCodeFinder) or f is importlib.machinery.PathFinder), len(sys.meta_path))
    sys.meta_path.insert(position, finder)
    importlib.invalidate_caches()
    return finder
