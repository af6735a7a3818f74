"""Datasets that turn into pyfunc inputs (and expected outputs): MLflow's
``mlflow.data.pyfunc_dataset_mixin``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["PyFuncConvertibleDatasetMixin", "PyFuncInputsOutputs"]


@dataclass
class PyFuncInputsOutputs:
    """What a pyfunc model takes (``inputs``) and, when the dataset has targets, what it should give."""

    inputs: Any
    outputs: Any = None


class PyFuncConvertibleDatasetMixin:
    """A dataset with :meth:`to_pyfunc`."""

    def to_pyfunc(self) -> PyFuncInputsOutputs:
        raise NotImplementedError
