"""The decorator that makes a flavor's ``autolog(...)`` an integration: its arguments recorded,
its patches reverted on each call, ``disable=True`` honoured."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

from mlcask.autologging.config import set_config
from mlcask.autologging.patching import revert_patches

__all__ = ["autologging_integration"]

_lock = threading.RLock()  # one autolog(...) call at a time: revert, record, patch


def autologging_integration(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Decorator for a flavor's ``autolog(...)``: records its arguments (defaults included)
    under ``name`` and, for ``disable=True``, turns the integration off and removes its
    patches instead of calling the function."""

    def decorate(autolog_fn: Callable[..., None]) -> Callable[..., None]:
        signature = inspect.signature(autolog_fn)

        @functools.wraps(autolog_fn)
        def autolog(*args: Any, **kwargs: Any) -> None:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            config = dict(bound.arguments)
            with _lock:
                revert_patches(name)
                set_config(name, config)
                if config.get("disable"):
                    return
                autolog_fn(**config)

        return autolog

    return decorate
