"""``mlflow.entities.view_type``, where MLflow defines :class:`~mlcask.entities.ViewType`."""

from mlcask.entities.runs import ViewType

__all__ = ["ViewType"]
