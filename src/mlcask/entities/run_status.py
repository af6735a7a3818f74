"""``mlflow.entities.run_status``, where MLflow defines :class:`~mlcask.entities.RunStatus`."""

from mlcask.entities.runs import RunStatus

__all__ = ["RunStatus"]
