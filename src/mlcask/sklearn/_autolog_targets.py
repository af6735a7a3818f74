"""Which estimator classes scikit-learn autologging logs ``fit`` for."""

from __future__ import annotations

# Data preparation is not a model: these log nothing on their own (as in MLflow).
EXCLUDED_MODULES = ("sklearn.preprocessing", "sklearn.impute", "sklearn.feature_extraction",
                    "sklearn.feature_selection")
EXCLUDED_CLASSES = ("sklearn.compose._column_transformer.ColumnTransformer",)

_targets: set[type] = set()  # estimator classes (and their subclasses) that autolog
_targeted: dict[type, bool] = {}  # the answer of is_targeted, per class


def excluded(cls: type) -> bool:
    """Whether ``cls`` is data preparation (never logged on its own)."""
    module = cls.__module__ or ""
    return module.startswith(EXCLUDED_MODULES) or f"{module}.{cls.__name__}" in EXCLUDED_CLASSES


def is_targeted(cls: type) -> bool:
    """Whether a ``fit`` of an instance of ``cls`` logs: a scikit-learn estimator class (one
    ``all_estimators()`` lists, Pipeline, a parameter search) or a subclass of one."""
    targeted = _targeted.get(cls)
    if targeted is None:
        targeted = _targeted[cls] = not excluded(cls) and any(klass in _targets for klass in cls.__mro__)
    return targeted


def add(classes: list[type]) -> list[type]:
    """Make ``classes`` targets; returns those that were not targets yet (the caller holds its lock)."""
    new = [cls for cls in classes if cls not in _targets]
    if new:
        _targets.update(new)
        _targeted.clear()
    return new


def clear() -> None:
    """No class is a target (autolog is being installed anew)."""
    _targets.clear()
    _targeted.clear()
