"""Autologging: one call, and every ``fit`` logs its params, metrics and model.

``mlcask.autolog`` is :func:`autolog` here (the package is named ``autologging`` so that
the function, as in MLflow, owns the name ``autolog``).

``mlcask.autolog()`` turns on every integration whose library is installed, now or when
it is imported later; ``mlcask.sklearn.autolog()``, ``mlcask.xgboost.autolog()``,
``mlcask.lightgbm.autolog()`` and ``mlcask.pyspark.ml.autolog()`` turn on one.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from mlcask.autologging.config import get_config, is_enabled
from mlcask.autologging.integration import autologging_integration

__all__ = ["autolog", "autologging_integration", "get_config", "is_enabled"]

# integration -> (the library it patches, the mlcask module with its autolog function)
INTEGRATIONS = {
    "sklearn": ("sklearn", "mlcask.sklearn"),
    "xgboost": ("xgboost", "mlcask.xgboost"),
    "lightgbm": ("lightgbm", "mlcask.lightgbm"),
    "pyspark.ml": ("pyspark.ml", "mlcask.pyspark.ml"),
}


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, str] | None = None,
    **integration_kwargs: Any,
) -> None:
    """Turn autologging on (or off, with ``disable=True``) for every supported library.

    Libraries already imported are patched now; the others when they are imported.
    Arguments an integration does not take are not passed to it; those that only some
    take (``max_tuning_runs``, ``log_post_training_metrics``, ``registered_model_name``)
    may be given here too.
    """
    import inspect

    common = dict(log_input_examples=log_input_examples, log_model_signatures=log_model_signatures,
                  log_models=log_models, log_datasets=log_datasets, disable=disable, exclusive=exclusive,
                  disable_for_unsupported_versions=disable_for_unsupported_versions, silent=silent,
                  extra_tags=extra_tags, **integration_kwargs)

    def enable(integration: str, module_name: str) -> None:
        try:
            flavor_autolog = importlib.import_module(module_name).autolog
            accepted = inspect.signature(flavor_autolog).parameters
            flavor_autolog(**{k: v for k, v in common.items() if k in accepted})
        except Exception as exc:  # one integration failing must not keep the others off (as in MLflow)
            if not silent:
                import warnings

                warnings.warn(f"mlcask autologging: could not turn {'off' if disable else 'on'} {integration} "
                              f"autologging ({type(exc).__name__}: {exc})", UserWarning, stacklevel=2)

    from mlcask.autologging.imports import when_imported

    for integration, (library, module_name) in INTEGRATIONS.items():
        # find_spec of a submodule ("pyspark.ml") imports its parent package: ask for the top one.
        if importlib.util.find_spec(library.partition(".")[0]) is None:
            continue
        when_imported(library, lambda _module, i=integration, m=module_name: enable(i, m))
