"""PEP 562 lazy attributes, so ``import mlcask`` (and its packages) stays cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any


def lazy_attributes(package: str, namespace: dict[str, Any], exports: dict[str, str],
                    eager: Sequence[str] = ()) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__``/``__dir__`` that import ``exports`` (name -> module) on first use.

    A module path that equals ``package + "." + name`` exports the submodule itself.
    """
    names = sorted({*exports, *eager})

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        imported = importlib.import_module(module)
        value = imported if module == f"{package}.{name}" else getattr(imported, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__
