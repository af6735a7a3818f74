"""``mlflow.config``: process-wide settings (the tracking and registry URIs, asynchronous logging)."""

from __future__ import annotations

from mlcask._lazy import lazy_attributes

_EXPORTS = {
    "MLFLOW_ENABLE_ASYNC_LOGGING": "mlcask.environment_variables",
    "enable_async_logging": "mlcask.tracking.async_logging",
    "get_registry_uri": "mlcask.tracking.context",
    "get_tracking_uri": "mlcask.tracking.context",
    "is_tracking_uri_set": "mlcask.tracking.context",
    "set_registry_uri": "mlcask.tracking.context",
    "set_tracking_uri": "mlcask.tracking.context",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS)
