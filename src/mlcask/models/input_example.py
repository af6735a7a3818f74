"""Input examples: ``input_example.json`` and ``serving_input_example.json`` in MLflow's layout."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import Any

from mlcask.exceptions import InvalidArgumentError, MlcaskException, ModelFormatError

EXAMPLE_FILE_NAME = "input_example.json"


class InputExampleNotFoundError(MlcaskException, FileNotFoundError):
    """The model records an input example whose file is missing (an MlflowException, as MLflow's,
    and a FileNotFoundError)."""
SERVING_EXAMPLE_FILE_NAME = "serving_input_example.json"


def _is_pydantic_object(value: Any) -> bool:
    """A pydantic model instance (stored as its ``model_dump()``, as MLflow stores it)."""
    return callable(getattr(value, "model_dump", None)) and any(
        c.__module__.startswith("pydantic") for c in type(value).__mro__[1:])


def _to_jsonable(value: Any) -> Any:
    import numpy as np

    if _is_pydantic_object(value):
        return _to_jsonable(value.model_dump())
    if isinstance(value, np.ndarray):
        return [_to_jsonable(v) for v in value.tolist()] if value.dtype == object else _clean(value.tolist())
    if isinstance(value, np.generic):
        return _clean(value.item())
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    return _clean(value)


def _clean(value: Any) -> Any:
    """NaN has no JSON spelling: write it as null, as MLflow does for DataFrames."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, (bytes, bytearray, dt.datetime, dt.date)):
        return _to_jsonable(value)
    return value


def _dataframe_split(df: Any) -> dict[str, Any]:
    import pandas as pd

    columns = list(df.columns)
    data = [[_to_jsonable(v) if not (isinstance(v, float) and math.isnan(v)) and v is not pd.NaT else None
             for v in row] for row in df.itertuples(index=False, name=None)]
    if isinstance(df.columns, pd.RangeIndex) and columns == list(range(len(columns))):
        return {"data": data}
    return {"columns": [str(c) if not isinstance(c, str) else c for c in columns], "data": data}


def _sparse_kind(data: Any) -> str | None:
    """MLflow's example type of a scipy CSC or CSR matrix, else None."""
    name = type(data).__name__
    if not type(data).__module__.startswith("scipy.sparse") or not hasattr(data, "indptr"):
        return None
    if name.startswith("csc"):
        return "sparse_matrix_csc"
    return "sparse_matrix_csr" if name.startswith("csr") else None


def split_example_and_params(example: Any) -> tuple[Any, dict[str, Any] | None]:
    """MLflow's convention: a 2-tuple whose second item is a dict is (data, params)."""
    if isinstance(example, tuple) and len(example) == 2 and isinstance(example[1], dict):
        return example[0], example[1]
    return example, None


def refuse_spark_dataframe(data: Any) -> None:
    """MLflow's refusal of a Spark DataFrame as an example (collecting it could be huge). Only
    checked when pyspark is already loaded: an example cannot be a Spark DataFrame otherwise."""
    sql = sys.modules.get("pyspark.sql")
    if sql is not None and isinstance(data, sql.DataFrame):
        raise MlcaskException("Examples can not be provided as Spark Dataframe. Please make sure your example is of "
                              "a small size and turn it into a pandas DataFrame.")


class InputExample:
    """An input example converted to MLflow's two JSON files and its MLmodel record."""

    def __init__(self, example: Any) -> None:
        import numpy as np
        import pandas as pd

        self.inference_data, self.inference_params = split_example_and_params(example)
        refuse_spark_dataframe(self.inference_data)
        data = self.inference_data.model_dump() if _is_pydantic_object(self.inference_data) else self.inference_data
        self.info: dict[str, Any] = {"artifact_path": EXAMPLE_FILE_NAME}
        serving: dict[str, Any] | None
        if isinstance(data, pd.Series):
            data = data.to_frame()
            self.inference_data = data
        if isinstance(data, pd.DataFrame):
            stored: Any = _dataframe_split(data)
            serving = {"dataframe_split": stored}
            self.info.update(type="dataframe", pandas_orient="split" if "columns" in stored else "values")
        elif isinstance(data, np.ndarray):
            stored = _to_jsonable(data)
            serving = {"inputs": stored}
            self.info["type"] = "ndarray"
        elif isinstance(data, dict):
            arrays = [isinstance(v, np.ndarray) for v in data.values()]
            if any(arrays) and not all(arrays):
                raise InvalidArgumentError(
                    "input_example: a dict must hold either only numpy arrays or no numpy arrays; "
                    f"got arrays for {[k for k, a in zip(data, arrays) if a]} and other values for "
                    f"{[k for k, a in zip(data, arrays) if not a]}."
                )
            stored = _to_jsonable(data)
            serving = {"inputs": stored}
            self.info["type"] = "ndarray" if arrays and all(arrays) else "json_object"
        elif isinstance(data, list):
            if any(isinstance(v, np.ndarray) for v in data):
                raise InvalidArgumentError("input_example: numpy arrays inside a list are not supported; "
                                           "pass a dict of arrays or one array.")
            stored = _to_jsonable(data)
            serving = {"inputs": stored}
            self.info["type"] = "json_object"
        elif _sparse_kind(data) is not None:  # scipy CSC/CSR, stored as MLflow stores them
            self.info["type"] = _sparse_kind(data)
            stored = {"data": _to_jsonable(data.data), "indices": data.indices.tolist(),
                      "indptr": data.indptr.tolist(), "shape": list(data.shape)}
            serving = {"inputs": _to_jsonable(data.toarray())}
        elif np.isscalar(data) or isinstance(data, (dt.datetime, dt.date)):
            stored = _to_jsonable(data)
            serving = {"inputs": stored}
            self.info["type"] = "json_object"
        else:
            raise InvalidArgumentError(
                "input_example must be a pandas DataFrame or Series, a numpy array, a scipy CSC/CSR matrix, a dict, "
                f"a list, a scalar or a (data, params) tuple; got {type(data).__name__}."
            )
        if self.inference_params is not None:
            self.info["params"] = "true"
            params = _to_jsonable(self.inference_params)
            stored = {"inputs": stored, "params": params}
            serving = {**serving, "params": params}
        self.json_input_example = json.dumps(stored)
        self.json_serving_input = json.dumps(serving, indent=2)
        self.info["serving_input_path"] = SERVING_EXAMPLE_FILE_NAME

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        (folder / EXAMPLE_FILE_NAME).write_text(self.json_input_example)
        (folder / SERVING_EXAMPLE_FILE_NAME).write_text(self.json_serving_input)


def load_input_example(model: Any, folder: str | Path) -> Any:
    """The model's saved input example as data (DataFrame, ndarray, dict, ...), or None."""
    import numpy as np
    import pandas as pd

    info = model.saved_input_example_info
    if not info:
        return None
    file = Path(folder) / info.get("artifact_path", EXAMPLE_FILE_NAME)
    try:
        content = json.loads(file.read_text())
    except FileNotFoundError:
        raise ModelFormatError(f"The model's MLmodel records an input example at '{file}', "
                               "but the file is missing.") from None
    except json.JSONDecodeError as exc:
        raise ModelFormatError(f"Malformed input example '{file}': {exc}") from None
    if info.get("params"):
        content = content["inputs"]
    kind = info.get("type")
    if kind == "dataframe":
        frame = pd.DataFrame(content["data"], columns=content.get("columns"))
        schema = model.get_input_schema()
        if schema is not None and not schema.is_tensor_spec() and schema.has_input_names():
            from mlcask.models.enforcement import enforce_schema

            try:
                return enforce_schema(frame, schema)
            except Exception:
                return frame
        return frame
    if kind in ("sparse_matrix_csc", "sparse_matrix_csr"):
        from scipy import sparse

        build = sparse.csc_matrix if kind == "sparse_matrix_csc" else sparse.csr_matrix
        try:
            return build((content["data"], content["indices"], content["indptr"]), shape=tuple(content["shape"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"Malformed sparse input example '{file}': {exc}") from None
    if kind == "ndarray":
        schema = model.get_input_schema()
        if isinstance(content, dict):
            return {k: np.asarray(v) for k, v in content.items()}
        array = np.asarray(content)
        if schema is not None and schema.is_tensor_spec() and len(schema.inputs) == 1:
            array = array.astype(schema.inputs[0].type, copy=False)
        return array
    return content


def load_input_example_params(model: Any, folder: str | Path) -> dict[str, Any] | None:
    """The params saved with the model's input example (a ``(data, params)`` example), or None."""
    info = model.saved_input_example_info
    if not info or not info.get("params"):
        return None
    file = Path(folder) / info.get("artifact_path", EXAMPLE_FILE_NAME)
    try:
        content = json.loads(file.read_text())
    except FileNotFoundError:
        raise InputExampleNotFoundError(f"[Errno 2] No such file or directory: '{file}'") from None
    except json.JSONDecodeError as exc:
        raise ModelFormatError(f"Malformed input example '{file}': {exc}") from None
    params = content.get("params") if isinstance(content, dict) else None
    return params if isinstance(params, dict) else None
