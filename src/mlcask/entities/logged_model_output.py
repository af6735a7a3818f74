"""``mlflow.entities.logged_model_output``, where MLflow defines :class:`~mlcask.entities.LoggedModelOutput`."""

from mlcask.entities.runs import LoggedModelOutput

__all__ = ["LoggedModelOutput"]
