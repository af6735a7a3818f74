"""``mlflow.entities.logged_model_tag``, where MLflow defines :class:`~mlcask.entities.LoggedModelTag`."""

from mlcask.entities.runs import LoggedModelTag

__all__ = ["LoggedModelTag"]
