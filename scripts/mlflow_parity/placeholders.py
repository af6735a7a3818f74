"""What a guarded import binds when the name it asked for cannot be imported.

``stage`` rewrites each top-level ``from mlflow.x import a`` of MLflow's test files into a guarded
form: when ``a`` is absent, ``a`` is bound to a placeholder made here. While a module is being
imported (collection) a placeholder is lenient: attribute access, calls and subscripts give further
placeholders, so a module that merely *mentions* a missing name still collects and its other
tests run. While a test runs, any use of a placeholder records the name in :data:`TOUCHED` and
raises :class:`NameUnavailable`; the plugin reads :data:`TOUCHED` to classify the test by the name
it needed (see ``rules``), whatever the test did with the exception.

A placeholder is a class (an ``Exception`` subclass whose metaclass records every use) so that it
also works where a test puts it in ``pytest.raises``, ``isinstance`` or a class's bases.
"""

from __future__ import annotations

import threading
from typing import Any

# "collect" while modules are imported and while fixtures set up or tear down (lenient: a fixture
# that only touches an absent name does not fail the test), "run" while a test's call runs.
MODE = {"value": "collect"}
# Names used during the current test: (dotted name, category, why it is unavailable).
TOUCHED: list[tuple[str, str, str]] = []
# Names used while a module was imported or a fixture ran (these do not raise).
IMPORT_TIME: list[tuple[str, str, str]] = []
_lock = threading.Lock()


class NameUnavailable(Exception):
    """Raised when a test uses a name that its guarded import could not bind."""

    def __init__(self, name: str, category: str, why: str) -> None:
        super().__init__(f"{name} is not available ({category}): {why}")
        self.name = name
        self.category = category


def _record(cls: type, what: str) -> None:
    entry = (cls._parity_name, cls._parity_category, cls._parity_why)
    with _lock:
        if MODE["value"] == "run":
            TOUCHED.append(entry)
        else:
            IMPORT_TIME.append(entry)


class _PlaceholderMeta(type):
    """Every use of the class records it; at test time the use raises."""

    def _use(cls, what: str, child: str | None = None) -> Any:
        _record(cls, what)
        if MODE["value"] == "run":
            raise NameUnavailable(cls._parity_name, cls._parity_category, cls._parity_why)
        return make(cls._parity_name if child is None else f"{cls._parity_name}.{child}",
                    cls._parity_category, cls._parity_why)

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return cls._use("attribute", name)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._use("call")

    def __getitem__(cls, key: Any) -> Any:
        return cls._use("subscript")

    def __iter__(cls) -> Any:
        return iter([cls._use("iteration")])

    def __len__(cls) -> int:
        cls._use("len")
        return 0

    def __contains__(cls, item: Any) -> bool:
        cls._use("in")
        return False

    def __instancecheck__(cls, instance: Any) -> bool:
        _record(cls, "isinstance")
        return False

    def __subclasscheck__(cls, subclass: Any) -> bool:
        _record(cls, "issubclass")
        return False

    def __repr__(cls) -> str:
        return f"<unavailable {cls._parity_name} ({cls._parity_category})>"


def _operator(symbol: str) -> Any:
    def use(cls: Any, *other: Any) -> Any:
        return cls._use(symbol)
    return use


for _dunder in ("add", "radd", "sub", "rsub", "mul", "rmul", "truediv", "rtruediv", "floordiv", "rfloordiv",
                "mod", "rmod", "pow", "rpow", "and", "rand", "or", "ror", "neg", "pos", "abs", "invert",
                "lt", "le", "gt", "ge", "index", "int", "float"):
    setattr(_PlaceholderMeta, f"__{_dunder}__", _operator(_dunder))


def make(name: str, category: str, why: str) -> type:
    """A placeholder for ``name``; ``category`` is one of ``rules.CATEGORIES``."""
    short = name.rsplit(".", 1)[-1] or "unavailable"
    return _PlaceholderMeta(short, (Exception,), {
        "_parity_name": name, "_parity_category": category, "_parity_why": why,
    })


def is_placeholder(value: Any) -> bool:
    return isinstance(value, _PlaceholderMeta)


def unavailable(module: str, name: str | None, error: BaseException) -> type:
    """The placeholder a guarded import binds for ``module.name`` after ``error``."""
    from mlflow_parity.rules import import_category

    dotted = module if name is None else f"{module}.{name}"
    return make(dotted, import_category(dotted, error), f"{type(error).__name__}: {error}")


# Test functions whose definition failed: (module, name, category, why).
LOST_DEFINITIONS: list[tuple[str, str, str, str]] = []


def unavailable_definition(module: str, name: str, error: BaseException) -> type:
    """The placeholder bound to a top-level class or function whose definition raised ``error``."""
    from mlflow_parity.rules import error_name_category

    dotted, category = error_name_category(error)
    LOST_DEFINITIONS.append((module, name, dotted, category))
    return make(dotted, category, f"{type(error).__name__}: {error}")


def set_aside_helper(name: str, category: str, why: str) -> type:
    """A placeholder standing in for one of MLflow's test helpers that the harness sets aside."""
    return make(name, category, why)


def start_test() -> None:
    with _lock:
        TOUCHED.clear()
        IMPORT_TIME.clear()


def start_call() -> None:
    MODE["value"] = "run"


def end_call() -> None:
    MODE["value"] = "collect"


def end_test() -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(names used by the test's call, names used by its fixtures)."""
    MODE["value"] = "collect"
    with _lock:
        touched, in_fixtures = list(TOUCHED), list(IMPORT_TIME)
        TOUCHED.clear()
        IMPORT_TIME.clear()
    return touched, in_fixtures
