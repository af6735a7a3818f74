"""MLflow's ``mlflow.utils.environment`` names that user code and tests import, each the piece of
:mod:`mlcask.models.environment` that does the job."""

from __future__ import annotations

from typing import Any

from mlcask.models.environment import (
    CONDA_ENV_FILE_NAME,
    CONSTRAINTS_FILE_NAME,
    MLFLOW_REQUIREMENT,
    PYTHON_ENV_FILE_NAME,
    REQUIREMENTS_FILE_NAME,
    _mlflow_conda_env,
    pip_deps_of_conda_env,
)

__all__ = [
    "_CONDA_ENV_FILE_NAME", "_CONSTRAINTS_FILE_NAME", "_PYTHON_ENV_FILE_NAME", "_REQUIREMENTS_FILE_NAME",
    "_generate_mlflow_version_pinning", "_get_pip_deps", "_mlflow_conda_env",
]

_CONDA_ENV_FILE_NAME = CONDA_ENV_FILE_NAME
_REQUIREMENTS_FILE_NAME = REQUIREMENTS_FILE_NAME
_CONSTRAINTS_FILE_NAME = CONSTRAINTS_FILE_NAME
_PYTHON_ENV_FILE_NAME = PYTHON_ENV_FILE_NAME


def _generate_mlflow_version_pinning() -> str:
    """The ``mlflow==<version>`` requirement mlcask writes into a model's environment (the MLflow
    release whose model format it writes)."""
    return MLFLOW_REQUIREMENT


def _get_pip_deps(conda_env: dict[str, Any] | None) -> list[str]:
    """The pip requirements of a conda environment dict (``[]`` for None or none listed)."""
    return [] if conda_env is None else pip_deps_of_conda_env(conda_env)
