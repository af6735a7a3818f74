"""``mlflow.entities.logged_model_input``, where MLflow defines :class:`~mlcask.entities.LoggedModelInput`."""

from mlcask.entities.runs import LoggedModelInput

__all__ = ["LoggedModelInput"]
