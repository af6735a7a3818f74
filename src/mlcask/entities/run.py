"""``mlflow.entities.run``, where MLflow defines :class:`~mlcask.entities.Run`."""

from mlcask.entities.runs import Run

__all__ = ["Run"]
