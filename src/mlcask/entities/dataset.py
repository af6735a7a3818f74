"""``mlflow.entities.dataset``, where MLflow defines :class:`~mlcask.entities.Dataset`."""

from mlcask.entities.runs import Dataset

__all__ = ["Dataset"]
