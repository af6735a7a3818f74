"""``mlflow.entities.lifecycle_stage``, where MLflow defines :class:`~mlcask.entities.LifecycleStage`."""

from mlcask.entities.runs import LifecycleStage

__all__ = ["LifecycleStage"]
