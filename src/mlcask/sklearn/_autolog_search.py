"""Parameter searches (``GridSearchCV``, ``RandomizedSearchCV``, any ``BaseSearchCV``) under
autolog: the search's run gets ``best_<param>`` params, ``best_cv_score`` and
``cv_results.csv``; its best candidates by rank become FINISHED child runs (tag
``mlflow.parentRunId``) with their params and mean/std scores as metrics, as in MLflow.
"""

from __future__ import annotations

import logging
import time
from numbers import Number
from typing import Any

from mlcask.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

_logger = logging.getLogger("mlcask.sklearn.autolog")


def is_search(estimator: Any) -> bool:
    from sklearn.model_selection._search import BaseSearchCV

    return isinstance(estimator, BaseSearchCV)


def best_params(search: Any) -> dict[str, Any]:
    """``best_<param>`` for each of the search's best parameters."""
    return {f"best_{name}": value for name, value in getattr(search, "best_params_", {}).items()}


def _rank_column(results: Any, warn: Any, max_tuning_runs: int) -> str:
    if "rank_test_score" in results.columns:
        return "rank_test_score"
    column = next(c for c in results.columns if "rank_test_" in c)
    warn(f"the {max_tuning_runs} best candidates become child runs by the ordering in {column!r}; "
         "pass max_tuning_runs=None to log every candidate.")
    return column


def _params_contained(row_params: dict[str, Any], params: dict[str, Any] | None) -> bool:
    if not params:
        return False
    try:
        return all(name in params and bool(params[name] == value) for name, value in row_params.items())
    except Exception:  # values that do not compare to a bool (arrays)
        return False


def log_child_runs(client: Any, parent: Any, search: Any, max_tuning_runs: int | None, dataset: Any,
                   child_tags: dict[str, str], best_estimator_params: dict[str, Any] | None,
                   best_model_id: str | None, params_to_log: Any, warn: Any) -> int:
    """One FINISHED child run per best candidate of ``search.cv_results_``; returns how many."""
    import pandas as pd

    from mlcask.data import dataset_input
    from mlcask.entities import Metric, RunStatus

    results = pd.DataFrame(search.cv_results_)
    if max_tuning_runs is None:
        best = results
    else:
        best = results.nsmallest(max_tuning_runs, _rank_column(results, warn, max_tuning_runs))
        kept = min(max_tuning_runs, len(results))
        _logger.info("Logging %d of %d parameter search candidates as child runs.", kept, len(results))
    seed = search.estimator
    base_params = seed.get_params(deep=not is_search(seed))
    start = parent.info.start_time
    end = int(time.time() * 1000)
    inputs = [dataset_input(dataset, "train")] if dataset is not None else None
    dataset_name = dataset.name if dataset is not None else None
    dataset_digest = dataset.digest if dataset is not None else None
    for _, row in best.iterrows():
        row_params = row.get("params", {}) or {}
        model_id = best_model_id if _params_contained(row_params, best_estimator_params) else None
        metrics = [Metric(str(key), float(value), end, 0, model_id, dataset_name, dataset_digest)
                   for key, value in row.items()
                   if not str(key).startswith(("param", "split")) and isinstance(value, Number)]
        child = client.create_run(parent.info.experiment_id, start_time=start,
                                  tags={**child_tags, MLFLOW_PARENT_RUN_ID: parent.info.run_id})
        run_id = child.info.run_id
        params_to_log(client, run_id, {**base_params, **row_params}, metrics=metrics)
        if inputs:
            client.log_inputs(run_id, datasets=inputs)
        client.set_terminated(run_id, RunStatus.FINISHED, end_time=end)
    return len(best)


def log_cv_results(client: Any, run_id: str, search: Any) -> None:
    """``cv_results_`` as the run's ``cv_results.csv`` artifact."""
    import pandas as pd

    client.log_text(run_id, pd.DataFrame(search.cv_results_).to_csv(index=False), "cv_results.csv")
