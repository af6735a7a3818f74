"""``TensorDatasetSchema``: the schema of a numpy dataset (features and targets), stored as MLflow
stores it: ``{"mlflow_tensorspec": {"features": <schema JSON>, "targets": <schema JSON or null>}}``."""

from __future__ import annotations

from typing import Any

from mlcask.exceptions import InvalidArgumentError
from mlcask.types import Schema

__all__ = ["TensorDatasetSchema"]


class TensorDatasetSchema:
    """The features' schema and, optionally, the targets' schema of a dataset."""

    def __init__(self, features: Schema, targets: Schema | None = None) -> None:
        if not isinstance(features, Schema):
            raise InvalidArgumentError(f"features must be mlflow.types.Schema, got '{type(features)}'")
        if targets is not None and not isinstance(targets, Schema):
            raise InvalidArgumentError(f"targets must be either None or mlflow.types.Schema, got '{type(targets)}'")
        self.features = features
        self.targets = targets

    def to_dict(self) -> dict[str, Any]:
        return {"mlflow_tensorspec": {"features": self.features.to_json(),
                                      "targets": self.targets.to_json() if self.targets is not None else None}}

    @classmethod
    def from_dict(cls, schema_dict: dict[str, Any]) -> TensorDatasetSchema:
        if "mlflow_tensorspec" not in schema_dict:
            raise InvalidArgumentError("TensorDatasetSchema dictionary is missing expected key 'mlflow_tensorspec'")
        spec = schema_dict["mlflow_tensorspec"]
        targets = spec.get("targets")
        return cls(Schema.from_json(spec["features"]), Schema.from_json(targets) if targets is not None else None)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TensorDatasetSchema) and self.features == other.features
                and self.targets == other.targets)

    def __repr__(self) -> str:
        return f"features:\n  {self.features!r}\ntargets:\n  {self.targets!r}\n"
