"""``mlflow.entities.logged_model``, where MLflow defines :class:`~mlcask.entities.LoggedModel`."""

from mlcask.entities.runs import LoggedModel

__all__ = ["LoggedModel"]
