"""``mlflow.entities.logged_model_parameter``, where MLflow defines :class:`~mlcask.entities.LoggedModelParameter`."""

from mlcask.entities.runs import LoggedModelParameter

__all__ = ["LoggedModelParameter"]
