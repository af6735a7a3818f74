"""``mlflow.entities.experiment_tag``, where MLflow defines :class:`~mlcask.entities.ExperimentTag`."""

from mlcask.entities.runs import ExperimentTag

__all__ = ["ExperimentTag"]
