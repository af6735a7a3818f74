"""MLflow's ``mlflow.utils.model_utils`` helpers that flavors and tests call, over
:class:`mlcask.models.model.Model`."""

from __future__ import annotations

import os
from typing import Any

from mlcask.exceptions import RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST, MlcaskException
from mlcask.models.model import Model

__all__ = ["FLAVOR_CONFIG_CODE", "_get_flavor_configuration", "_validate_and_prepare_target_save_path"]

FLAVOR_CONFIG_CODE = "code"
"""The key of a flavor's MLmodel section that names the model's code folder."""


def _get_flavor_configuration(model_path: str | os.PathLike[str], flavor_name: str) -> dict[str, Any]:
    """The ``flavor_name`` section of the MLmodel file of the model at ``model_path``; raises
    MLflow's RESOURCE_DOES_NOT_EXIST error when the model has no such flavor."""
    flavors = Model.load(model_path).flavors
    if flavor_name not in flavors:
        raise MlcaskException(f'Model does not have the "{flavor_name}" flavor', RESOURCE_DOES_NOT_EXIST)
    return flavors[flavor_name]


def _validate_and_prepare_target_save_path(path: str | os.PathLike[str]) -> None:
    """Create the folder a model is saved to; refuse (RESOURCE_ALREADY_EXISTS, MLflow's message) one
    that already exists and is not empty."""
    if os.path.exists(path) and any(os.scandir(path)):
        raise MlcaskException(f"Path '{path}' already exists and is not empty", RESOURCE_ALREADY_EXISTS)
    os.makedirs(path, exist_ok=True)
