"""``mlflow.entities.logged_model_status``, where MLflow defines :class:`~mlcask.entities.LoggedModelStatus`."""

from mlcask.entities.runs import LoggedModelStatus

__all__ = ["LoggedModelStatus"]
