"""``mlflow.entities.dataset_input``, where MLflow defines :class:`~mlcask.entities.DatasetInput`."""

from mlcask.entities.runs import DatasetInput

__all__ = ["DatasetInput"]
