"""Which autolog integrations are on, and with which arguments."""

from __future__ import annotations

import threading
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
