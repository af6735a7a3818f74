"""``mlflow.entities.source_type``, where MLflow defines :class:`~mlcask.entities.SourceType`."""

from mlcask.entities.runs import SourceType

__all__ = ["SourceType"]
