"""MLflow's ``mlflow.store.model_registry`` search limits: the default pages of
``MlflowClient.search_registered_models`` and ``search_model_versions``."""

__all__ = ["SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT", "SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT"]

SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT = 100
SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT = 10000
