"""``mlflow.entities.run_inputs``, where MLflow defines :class:`~mlcask.entities.RunInputs`."""

from mlcask.entities.runs import RunInputs

__all__ = ["RunInputs"]
