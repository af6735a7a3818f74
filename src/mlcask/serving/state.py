"""What the scoring app serves: one loaded model and what the server knows about it."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

# Flavors whose predict is a pure row-wise function of a table: safe to batch by default.
BATCHABLE_FLAVORS = ("sklearn", "xgboost", "lightgbm")


@dataclasses.dataclass
class ServedModel:
    """The model behind a scoring app (``app.state.served``), loaded once at startup."""

    name: str
    uri: str
    model: Any  # mlcask.pyfunc.PyFuncModel
    metadata: Any  # mlcask.models.Model
    flavors: dict[str, Any]
    serving_input_example: str | None
    signature: Any  # mlcask.models.ModelSignature | None
    batcher: Any = None  # mlcask.serving.batching.Batcher | None
    started_at: float = dataclasses.field(default_factory=time.time)
    version: str | None = None
    timeout: float = 60.0
    max_body_bytes: int = 50 * 1024 * 1024
    max_decoded_bytes: int = 200 * 1024 * 1024  # what a Parquet body may decode to
    body_timeout: float | None = 60.0  # seconds the whole request body may take to arrive

    @property
    def input_schema(self) -> Any:
        return self.signature.inputs if self.signature is not None else None

    @property
    def output_schema(self) -> Any:
        return self.signature.outputs if self.signature is not None else None

    @property
    def params_schema(self) -> Any:
        return getattr(self.signature, "params", None) if self.signature is not None else None

    @property
    def versions(self) -> list[str]:
        return [self.version] if self.version else []

    @property
    def builtin_flavor(self) -> str | None:
        """The built-in flavor (sklearn, xgboost, lightgbm) the model is served with, if any."""
        for flavor in BATCHABLE_FLAVORS:
            if flavor in self.flavors:
                return flavor
        return None
