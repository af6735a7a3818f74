"""``NumpyDataset`` and ``from_numpy``: a dataset over numpy features (an array or a dict of arrays)
and optional targets, with MLflow's digest, tensor schema and profile."""

from __future__ import annotations

import json
import logging
from functools import cached_property
from typing import Any

from mlcask.data.dataset import Dataset
from mlcask.data.dataset_source import DatasetSource
from mlcask.data.dataset_source_registry import resolve
from mlcask.data.digest_utils import compute_numpy_digest
from mlcask.data.pyfunc_dataset_mixin import PyFuncConvertibleDatasetMixin, PyFuncInputsOutputs
from mlcask.data.schema import TensorDatasetSchema

__all__ = ["NumpyDataset", "from_numpy"]

_logger = logging.getLogger(__name__)


def _attribute(data: Any, name: str) -> Any:
    if isinstance(data, dict):
        return {key: _attribute(array, name) for key, array in data.items()}
    return getattr(data, name)


class NumpyDataset(Dataset, PyFuncConvertibleDatasetMixin):
    """Numpy features (and targets) as a dataset."""

    def __init__(self, features: Any, source: DatasetSource, targets: Any = None, name: str | None = None,
                 digest: str | None = None) -> None:
        self._features = features
        self._targets = targets
        super().__init__(source=source, name=name, digest=digest)

    def _compute_digest(self) -> str:
        return compute_numpy_digest(self._features, self._targets)

    @property
    def features(self) -> Any:
        return self._features

    @property
    def targets(self) -> Any:
        return self._targets

    @property
    def profile(self) -> dict[str, Any]:
        """Shapes, sizes and byte counts of the features (and targets)."""
        profile = {f"features_{attr}": _attribute(self._features, attr) for attr in ("shape", "size", "nbytes")}
        if self._targets is not None:
            profile.update({f"targets_{attr}": _attribute(self._targets, attr) for attr in ("shape", "size", "nbytes")})
        return profile

    @cached_property
    def schema(self) -> TensorDatasetSchema | None:
        from mlcask.types import infer_schema

        try:
            targets = infer_schema(self._targets) if self._targets is not None else None
            return TensorDatasetSchema(features=infer_schema(self._features), targets=targets)
        except Exception as exc:  # the dataset is still logged, without schema
            _logger.warning("Failed to infer schema for NumPy dataset. Exception: %s", exc)
            return None

    def to_pyfunc(self) -> PyFuncInputsOutputs:
        return PyFuncInputsOutputs(self._features, self._targets)

    def to_dict(self) -> dict[str, str]:
        fields = super().to_dict()
        schema = self.schema
        fields["schema"] = json.dumps(schema.to_dict()) if schema else None
        fields["profile"] = json.dumps(self.profile)
        return fields


def from_numpy(features: Any, source: str | DatasetSource | None = None, targets: Any = None,
               name: str | None = None, digest: str | None = None) -> NumpyDataset:
    """A dataset over numpy ``features`` (an array or a dict of arrays) and optional ``targets``.

    Parameters
    ----------
    features, targets
        The data: numpy arrays, or dicts of them.
    source
        Where it came from: a path or URI, a :class:`~mlcask.data.dataset_source.DatasetSource`, or
        None for the code that runs now.
    name, digest
        The dataset's name (default ``"dataset"``) and digest (default: computed from the data).
    """
    return NumpyDataset(features=features, source=resolve(source), targets=targets, name=name, digest=digest)
