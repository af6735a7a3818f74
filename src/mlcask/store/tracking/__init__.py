"""MLflow's ``mlflow.store.tracking`` search limits: the default page of ``MlflowClient.search_runs``
and ``search_experiments``, and the largest page a store returns."""

from mlcask.tracking.validation import MAX_RESULTS_THRESHOLD

__all__ = ["SEARCH_MAX_RESULTS_DEFAULT", "SEARCH_MAX_RESULTS_THRESHOLD"]

SEARCH_MAX_RESULTS_DEFAULT = 1000
SEARCH_MAX_RESULTS_THRESHOLD = MAX_RESULTS_THRESHOLD
