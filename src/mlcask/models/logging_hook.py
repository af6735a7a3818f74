"""``Model.log``: logging a model folder into a run, which the tracking layer does.

``mlcask.models`` knows nothing of tracking (DESIGN.md, layers). The one ``log_model``
path lives in :mod:`mlcask.tracking.model_logging`; it plugs in here through
:func:`register_model_logger`, as the store-backed URI schemes plug into
:mod:`mlcask.models.uri`. Until it has registered, this module imports it by name on first
use (no import edge from ``models`` up to ``tracking``) and uses its ``log_model``.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections.abc import Callable
from typing import Any

from mlcask.exceptions import InvalidArgumentError

# mlcask.models.model calls this module, so this one names its classes only through the
# arguments it is given (no import of model.py, not even for type checking: no cycle).
ModelLogger = Callable[..., Any]
# The module holding the one log_model path, imported by name on first use.
_PLUGIN = "mlcask.tracking.model_logging"
# The module that reads logged models from the tracking store (for ModelInfo's params, tags, metrics).
_LOGGED_MODELS = "mlcask.tracking.fluent_logged_models"
_logger: ModelLogger | None = None


def register_model_logger(logger: ModelLogger) -> None:
    """Set the function that logs a saved model into a run.

    It is called as ``logger(save, name=..., artifact_path=..., registered_model_name=...,
    params=..., tags=..., model_type=..., flavor=..., **more)`` where ``save(path,
    mlflow_model)`` writes the model folder and returns its :class:`ModelInfo`; ``more``
    holds the further :meth:`Model.log` arguments the logger's signature names.
    """
    global _logger
    _logger = logger


def _model_logger() -> ModelLogger:
    if _logger is None:
        module = importlib.import_module(_PLUGIN)
        if _logger is None:  # the plugin does not register itself (yet): use its log_model
            return module.log_model
    return _logger


def logged_model_of(model_id: str | None) -> Any:
    """The tracking record of logged model ``model_id`` from the current tracking store, or None
    (no id, or a store that does not have it: a model saved elsewhere)."""
    if not model_id:
        return None
    try:
        return importlib.import_module(_LOGGED_MODELS).get_logged_model(model_id)
    except Exception:  # noqa: BLE001 (any store error: the metadata stands without the record)
        return None


def _flavor_name(flavor: Any) -> str | None:
    name = getattr(flavor, "FLAVOR_NAME", None)
    if isinstance(name, str):
        return name
    module = getattr(flavor, "__name__", None)
    return module.rpartition(".")[2] if isinstance(module, str) else None


def log_with_flavor(model_class: type, info_class: type, flavor: Any, *, name: str | None, artifact_path: str | None,
                    registered_model_name: str | None, metadata: dict[str, Any] | None, resources: Any,
                    auth_policy: Any, prompts: list[str] | None, model_type: str | None,
                    params: dict[str, Any] | None, tags: dict[str, Any] | None, save_kwargs: dict[str, Any],
                    **more: Any) -> Any:
    """:meth:`Model.log`: save with ``flavor.save_model`` and log through the registered logger."""
    save_model = getattr(flavor, "save_model", None)
    if not callable(save_model):
        raise InvalidArgumentError(
            f"Model.log: flavor must be a flavor module with a save_model function (such as mlcask.sklearn), "
            f"got {type(flavor).__name__} {flavor!r}.")

    def save(path: str, mlflow_model: Any) -> Any:
        if not isinstance(mlflow_model, model_class):
            mlflow_model = model_class(**{k: v for k, v in mlflow_model.__dict__.items()
                                          if k in ("artifact_path", "run_id", "model_id")})
        for field, value in (("metadata", metadata), ("resources", resources), ("auth_policy", auth_policy),
                             ("prompts", prompts)):
            if value is not None:
                setattr(mlflow_model, field, value)
        result = save_model(path=path, mlflow_model=mlflow_model, **save_kwargs)
        if isinstance(result, info_class):
            return result
        return info_class.from_model(model_class.load(path), model_uri=str(path))  # an MLflow-style save_model

    logger = _model_logger()
    accepted = inspect.signature(logger).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    extra = {}
    for key, value in {**more, "prompts": prompts}.items():
        if takes_any or key in accepted:
            extra[key] = value
        elif key != "prompts" and value not in (None, 0, 300):
            warnings.warn(f"Model.log: {key}={value!r} is not supported by this mlcask version and is ignored.",
                          UserWarning, stacklevel=3)
    return logger(save, name=name, artifact_path=artifact_path, registered_model_name=registered_model_name,
                  params=params, tags=tags, model_type=model_type, flavor=_flavor_name(flavor), **extra)
