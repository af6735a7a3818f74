"""MLflow's ``mlflow.utils.environment`` names that user code imports."""

from mlcask.models.environment import _mlflow_conda_env

__all__ = ["_mlflow_conda_env"]
