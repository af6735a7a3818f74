"""``mlflow.entities.run_outputs``, where MLflow defines :class:`~mlcask.entities.RunOutputs`."""

from mlcask.entities.runs import RunOutputs

__all__ = ["RunOutputs"]
