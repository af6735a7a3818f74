"""ModelSignature and infer_signature: what a model takes, returns and accepts as params."""

from __future__ import annotations

import logging
from typing import Any

from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.types import AnyType, ColSpec, ParamSchema, Schema

__all__ = ["ModelSignature", "infer_signature"]

_logger = logging.getLogger(__name__)


class ModelSignature:
    """The schema of a model's inputs and outputs, and of its inference params."""

    def __init__(self, inputs: Schema | None = None, outputs: Schema | None = None,
                 params: ParamSchema | None = None) -> None:
        for label, value in (("inputs", inputs), ("outputs", outputs)):
            if value is not None and not isinstance(value, Schema):  # MLflow's exception and message
                raise TypeError(f"{label} must be either None, mlflow.models.signature.Schema, or a dataclass, got "
                                f"'{type(value).__name__}'")
        if params is not None and not isinstance(params, ParamSchema):
            raise TypeError(f"If params are provided, they must by of type mlflow.models.signature.ParamSchema, got "
                            f"'{type(params).__name__}'")
        if inputs is None and outputs is None and params is None:
            raise InvalidArgumentError("At least one of inputs, outputs or params must be provided")
        self.inputs = inputs
        self.outputs = outputs
        self.params = params
        # MLflow's marks: read from predict's type hints / from a TypeFromExample example
        self._is_signature_from_type_hint = False
        self._is_type_hint_from_example = False

    def to_dict(self) -> dict[str, str | None]:
        """The ``signature`` section of MLmodel: each part as a JSON string, or None."""
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": self.params.to_json() if self.params else None,
        }

    @classmethod
    def from_dict(cls, signature_dict: dict[str, Any]) -> ModelSignature:
        """Read the ``signature`` section of an MLmodel file (written by mlcask or MLflow)."""
        if not isinstance(signature_dict, dict):
            raise ModelFormatError(f"Malformed signature: expected a mapping, got {type(signature_dict).__name__}")
        inputs = Schema.from_json(x) if (x := signature_dict.get("inputs")) else None
        outputs = Schema.from_json(x) if (x := signature_dict.get("outputs")) else None
        params = ParamSchema.from_json(x) if (x := signature_dict.get("params")) else None
        if inputs is None and outputs is None and params is None:
            raise ModelFormatError("Malformed signature: it has no inputs, outputs or params")
        return cls(inputs, outputs, params)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ModelSignature) and self.inputs == other.inputs
                and self.outputs == other.outputs and self.params == other.params)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"inputs: \n  {self.inputs!r}\n"
                f"outputs: \n  {self.outputs!r}\n"
                f"params: \n  {self.params!r}\n")


def infer_signature(model_input: Any = None, model_output: Any = None,
                    params: dict[str, Any] | None = None) -> ModelSignature:
    """Infer a model signature from example input, the model's output for it, and params.

    Data that has no inferable schema gets ``Schema([ColSpec(AnyType())])`` with a logged
    warning, as in MLflow; params that cannot be typed raise InvalidArgumentError.
    """
    from mlcask.types.inference import InvalidDataForSignatureInferenceError, infer_param_schema, infer_schema

    schemas: dict[str, Schema | None] = {}
    for key, data in (("inputs", model_input), ("outputs", model_output)):
        if data is None:
            schemas[key] = None
            continue
        try:
            schemas[key] = infer_schema(data)
        except InvalidDataForSignatureInferenceError:
            raise
        except Exception as exc:
            _logger.warning(
                "Failed to infer schema for %s (%s). Setting schema to `Schema([ColSpec(type=AnyType())])` "
                "as default; data of AnyType is not checked at inference time.", key, exc,
            )
            schemas[key] = Schema([ColSpec(AnyType())])
    param_schema = infer_param_schema(params) if params else None
    return ModelSignature(schemas["inputs"], schemas["outputs"], param_schema)
