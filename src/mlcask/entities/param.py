"""``mlflow.entities.param``, where MLflow defines :class:`~mlcask.entities.Param`."""

from mlcask.entities.runs import Param

__all__ = ["Param"]
