"""``mlflow.entities.run_tag``, where MLflow defines :class:`~mlcask.entities.RunTag`."""

from mlcask.entities.runs import RunTag

__all__ = ["RunTag"]
