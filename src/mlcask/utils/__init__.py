"""Helpers kept under MLflow's module names (``mlcask.utils.environment``)."""
