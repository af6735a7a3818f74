"""``mlflow.entities.experiment``, where MLflow defines :class:`~mlcask.entities.Experiment`."""

from mlcask.entities.runs import Experiment

__all__ = ["Experiment"]
