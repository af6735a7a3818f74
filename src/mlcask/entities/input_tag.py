"""``mlflow.entities.input_tag``, where MLflow defines :class:`~mlcask.entities.InputTag`."""

from mlcask.entities.runs import InputTag

__all__ = ["InputTag"]
