"""``mlflow.entities.run_info``, where MLflow defines :class:`~mlcask.entities.RunInfo`."""

from mlcask.entities.runs import RunInfo

__all__ = ["RunInfo"]
