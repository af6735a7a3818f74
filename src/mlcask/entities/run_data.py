"""``mlflow.entities.run_data``, where MLflow defines :class:`~mlcask.entities.RunData`."""

from mlcask.entities.runs import RunData

__all__ = ["RunData"]
