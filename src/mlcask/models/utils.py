"""MLflow's ``mlflow.models.utils`` helpers that flavors, user code and tests import, each the
mlcask piece that does the job: input examples (:mod:`mlcask.models.input_example`) and schema
enforcement (:mod:`mlcask.models.enforcement`)."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from mlcask.models.enforcement import enforce_params, enforce_schema
from mlcask.models.input_example import InputExample

if TYPE_CHECKING:
    from mlcask.models.model import Model
    from mlcask.types.params import ParamSchema
    from mlcask.types.schema import Schema

# MLflow logs its schema-enforcement warnings through ``mlflow.models.utils._logger``; mlcask's come
# from the enforcement module, so this is that module's logger (one logger, under both names).
_logger = logging.getLogger(enforce_schema.__module__)

__all__ = ["_Example", "_enforce_params_schema", "_enforce_schema", "_read_example", "_save_example",
           "load_serving_example"]

_Example = InputExample  # MLflow's name: an input example as its JSON files and MLmodel record


def _save_example(mlflow_model: Model, input_example: Any, path: str | os.PathLike[str]) -> InputExample | None:
    """Write ``input_example`` (and its serving payload) into the model folder ``path`` and record
    it in ``mlflow_model``; returns the example (None, and nothing written, for None)."""
    if input_example is None:
        return None
    example = InputExample(input_example)
    example.save(path)
    mlflow_model.saved_input_example_info = example.info
    return example


def _read_example(mlflow_model: Model, uri_or_path: str | os.PathLike[str]) -> Any:
    """The input example of the model at ``uri_or_path`` (a folder, ``runs:/`` or ``models:/`` URI)
    as ``mlflow_model`` records it; None when it records none."""
    return mlflow_model.load_input_example(uri_or_path)


def load_serving_example(model_uri_or_path: str | os.PathLike[str]) -> str | None:
    """The text of the serving input example (``serving_input_example.json``) of the model at
    ``model_uri_or_path`` (a folder, ``runs:/`` or ``models:/`` URI); None when it has none."""
    from mlcask.models.model import Model

    return Model.load(model_uri_or_path).get_serving_input(model_uri_or_path)


def _enforce_schema(pf_input: Any, input_schema: Schema | None, flavor: str | None = None) -> Any:
    """``pf_input`` checked against ``input_schema`` and converted to what the model takes
    (:func:`mlcask.models.enforcement.enforce_schema`); ``flavor`` is accepted for MLflow's
    signature (it only changes MLflow's handling of LLM flavors)."""
    return enforce_schema(pf_input, input_schema)


def _enforce_params_schema(params: dict[str, Any] | None, schema: ParamSchema | None) -> dict[str, Any]:
    """``params`` checked against the model's params ``schema``, defaults filled in; params the
    schema does not declare are dropped with a warning, as at ``predict`` time."""
    return enforce_params(params, schema, strict=False)
