"""Tracking: runs, params, metrics, artifacts, logged models and the model registry."""

from mlcask._lazy import lazy_attributes

_EXPORTS = {
    **{name: f"mlcask.tracking.{name}" for name in ("client", "context", "fluent")},  # mlflow.tracking.fluent...
    "MlcaskClient": "mlcask.tracking.client",
    "MlflowClient": "mlcask.tracking.client",
    "set_tracking_uri": "mlcask.tracking.context",
    "get_tracking_uri": "mlcask.tracking.context",
    "is_tracking_uri_set": "mlcask.tracking.context",
    "set_registry_uri": "mlcask.tracking.context",
    "get_registry_uri": "mlcask.tracking.context",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS)
