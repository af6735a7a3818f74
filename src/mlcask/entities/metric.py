"""``mlflow.entities.metric``, where MLflow defines :class:`~mlcask.entities.Metric`."""

from mlcask.entities.runs import Metric

__all__ = ["Metric"]
