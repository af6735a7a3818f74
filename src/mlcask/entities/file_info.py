"""``mlflow.entities.file_info``, where MLflow defines :class:`~mlcask.entities.FileInfo`."""

from mlcask.entities.runs import FileInfo

__all__ = ["FileInfo"]
