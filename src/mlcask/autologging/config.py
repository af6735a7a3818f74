"""Which autolog integrations are on, and with which arguments."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

_lock = threading.RLock()
_configs: dict[str, dict[str, Any]] = {}


def set_config(integration: str, config: dict[str, Any]) -> None:
    with _lock:
        _configs[integration] = dict(config)


def get_config(integration: str) -> dict[str, Any] | None:
    """The active arguments of ``integration``'s autolog, or None when it is off."""
    config = _configs.get(integration)
    return None if config is None or config.get("disable") else config


def is_enabled(integration: str) -> bool:
    return get_config(integration) is not None


def autologging_integration(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Decorator for a flavor's ``autolog(...)``: records its arguments (defaults included)
    under ``name`` and, for ``disable=True``, turns the integration off and removes its
    patches instead of calling the function."""

    def decorate(autolog_fn: Callable[..., None]) -> Callable[..., None]:
        signature = inspect.signature(autolog_fn)

        @functools.wraps(autolog_fn)
        def autolog(*args: Any, **kwargs: Any) -> None:
            from mlcask.autologging.patching import revert_patches

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
