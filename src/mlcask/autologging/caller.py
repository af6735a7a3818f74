"""The name the user's code gives a value (post-training metric keys: ``accuracy_test_df``)."""

from __future__ import annotations

import inspect
from types import FrameType
from typing import Any

__all__ = ["variable_name"]


def variable_name(value: Any, fallback: str, frame: FrameType | None) -> str:
    """The caller's name for ``value``: going up from ``frame`` past every frame that received it
    as an argument, the first local variable bound to it (MLflow's rule), else ``fallback``."""
    if value is None:
        return fallback
    try:
        while frame is not None:
            info = inspect.getargvalues(frame)
            arguments = [info.locals.get(name) for name in info.args]
            arguments += list(info.locals.get(info.varargs, ())) if info.varargs else []
            arguments += list(info.locals.get(info.keywords, {}).values()) if info.keywords else []
            if any(argument is value for argument in arguments):
                frame = frame.f_back
                continue
            return next((name for name, local in frame.f_locals.items() if local is value), fallback)
    except Exception:  # frames of odd callers (C extensions, debuggers): no name
        return fallback
    return fallback
