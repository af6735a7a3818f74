"""Azure ML's ``{"input_data": ...}`` payload: read by the one codec as the MLflow form it stands for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlcask
from mlcask.exceptions import InvalidInputError
from mlcask.serving import codec
from mlcask.types import ColSpec, Schema, TensorSpec

COLUMNS = Schema([ColSpec("double", "a"), ColSpec("long", "b")])
TENSOR = Schema([TensorSpec(np.dtype("float32"), (-1, 3))])
NAMED = Schema([TensorSpec(np.dtype("int64"), (-1, 2), "tokens"), TensorSpec(np.dtype("int64"), (-1, 2), "mask")])


def _same(left, right) -> None:
    if isinstance(left, pd.DataFrame):
        pd.testing.assert_frame_equal(left, right)
    elif isinstance(left, dict):
        assert left.keys() == right.keys()
        for key in left:
            _same(left[key], right[key])
    else:
        assert type(left) is type(right) and np.asarray(left).dtype == np.asarray(right).dtype
        np.testing.assert_array_equal(left, right)


@pytest.mark.parametrize(("azure", "mlflow", "schema"), [
    ({"columns": ["a", "b"], "index": [1], "data": [[1.5, 2]]},
     {"dataframe_split": {"columns": ["a", "b"], "index": [1], "data": [[1.5, 2]]}}, COLUMNS),
    ({"columns": ["a", "b"], "data": [[1.5, 2], [3.0, 4]]},
     {"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, 2], [3.0, 4]]}}, COLUMNS),
    ([[1, 2, 3], [4, 5, 6]], {"inputs": [[1, 2, 3], [4, 5, 6]]}, TENSOR),
    ({"tokens": [[0, 655]], "mask": [[0, 1]]}, {"inputs": {"tokens": [[0, 655]], "mask": [[0, 1]]}}, NAMED),
    ({"a": [1.5, 2.5], "b": [1, 2]}, {"inputs": {"a": [1.5, 2.5], "b": [1, 2]}}, COLUMNS),
    ([{"a": 1.5, "b": 2}], {"inputs": [{"a": 1.5, "b": 2}]}, COLUMNS),
])
def test_each_azure_form_reads_as_its_mlflow_form(azure, mlflow, schema):
    for params in (None, {"temperature": 0.5}):
        extra = {"params": params} if params else {}
        data, got_params = codec.parse_payload({"input_data": azure, **extra}, schema)
        expected, expected_params = codec.parse_payload({**mlflow, **extra}, schema)
        _same(data, expected)
        assert got_params == expected_params == params


@pytest.mark.parametrize(("payload", "message"), [
    ({"input_data": None}, "'input_data' is null"),
    ({"input_data": []}, "'input_data' holds no rows to predict on."),
    ({"input_data": [[1, 2], [1]]}, "'input_data[1]' has 1 values, but 'input_data[0]' has 2"),
    ({"input_data": {"columns": ["a"], "data": [[1, 2]]}}, "'input_data.data[0]' has 2 values, but there are the 1"),
    ({"input_data": {"columns": ["a", "a"], "data": [[1, 2]]}}, "'input_data.columns' names 'a' twice"),
    ({"input_data": {"columns": ["a"], "index": [0, 1], "data": [[1]]}}, "'input_data.index' must be a list of one"),
    ({"input_data": {"tokens": [[1], [1, 2]]}}, "'input_data': a named input is not a rectangular array"),
    ({"input_data": [[1, 2]], "inputs": [[1, 2]]}, "exactly one of the keys ['dataframe_split', 'dataframe_records', "
                                                    "'instances', 'inputs', 'input_data']"),
    ({"input_data": [[1, 2]], "extra": 1}, "got keys ['extra', 'input_data']"),
    ({"input_data": [[1, 2]], "params": [1]}, "'params' must be a JSON object"),
])
def test_refusals_name_input_data(payload, message):
    with pytest.raises(InvalidInputError) as info:
        codec.parse_payload(payload, COLUMNS)
    assert message in info.value.message


def test_azure_form_and_mlflow_payload():
    assert codec.azure_form({"columns": ["a"], "data": [[1]]}) == "dataframe_split"
    assert codec.azure_form({"columns": ["a"], "index": [0], "data": [[1]]}) == "dataframe_split"
    assert codec.azure_form({"data": [[1]]}) == "inputs"  # a named tensor called 'data'
    assert codec.azure_form({"columns": ["a"], "data": [[1]], "x": [1]}) == "inputs"
    assert codec.azure_form([[1]]) == "inputs"
    payload = {"input_data": [[1]], "params": {"k": 1}}
    assert codec.mlflow_payload(payload) == {"inputs": [[1]], "params": {"k": 1}}
    plain = {"inputs": [[1]]}
    assert codec.mlflow_payload(plain) is plain
    assert "input_data" in codec.INPUT_KEYS


def test_served_models_take_input_data(tmp_path, serve_model, iris):
    from sklearn.linear_model import LogisticRegression

    from mlcask.models import infer_signature
    from mlcask.models.signature import ModelSignature

    X, y = iris
    model = LogisticRegression(max_iter=300).fit(X, y)
    mlcask.sklearn.save_model(model, tmp_path / "iris", signature=infer_signature(X, model.predict(X)))
    rows = X.head(3)
    expected = model.predict(rows).tolist()

    class Sum(mlcask.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            if isinstance(model_input, dict):
                return {k: np.asarray(v).sum(axis=1) for k, v in model_input.items()}
            return np.asarray(model_input).sum(axis=1) * (params or {}).get("scale", 1)

    from mlcask.types import ParamSchema, ParamSpec

    mlcask.pyfunc.save_model(tmp_path / "tensor", python_model=Sum(), signature=ModelSignature(
        inputs=TENSOR, params=ParamSchema([ParamSpec("scale", "long", 1)])))
    mlcask.pyfunc.save_model(tmp_path / "named", python_model=Sum(), signature=ModelSignature(inputs=NAMED))
    with serve_model(tmp_path / "iris") as live:
        split = {"columns": list(X.columns), "index": [10, 11, 12], "data": rows.to_numpy().tolist()}
        for body in ({"input_data": split}, {"input_data": {k: v for k, v in split.items() if k != "index"}},
                     {"input_data": rows.to_dict(orient="list")}):
            r = live.client.post("/invocations", json=body)
            assert r.status_code == 200 and r.json() == {"predictions": expected}, r.text
        r = live.client.post("/invocations", json={"input_data": {"columns": ["nope"], "data": [[1.0]]}})
        assert r.status_code == 400 and "missing inputs" in r.json()["message"]
        r = live.client.post("/invocations", json={"input_data": []})
        assert r.status_code == 400 and r.json() == {"error_code": "BAD_REQUEST",
                                                     "message": "'input_data' holds no rows to predict on."}
        assert "input_data" in [f["title"] for f in live.client.get("/openapi.json").json()["components"]
                                ["schemas"]["InvocationsRequest"]["oneOf"]]
    with serve_model(tmp_path / "tensor") as live:
        r = live.client.post("/invocations", json={"input_data": [[1, 2, 3], [4, 5, 6]], "params": {"scale": 2}})
        assert r.status_code == 200 and r.json() == {"predictions": [12.0, 30.0]}, r.text
    with serve_model(tmp_path / "named") as live:
        r = live.client.post("/invocations", json={"input_data": {"tokens": [[1, 2]], "mask": [[0, 1]]}})
        assert r.status_code == 200 and r.json() == {"predictions": {"tokens": [3], "mask": [1]}}, r.text


def test_openapi_describes_input_data_for_each_kind_of_signature(sklearn_model_dir, tmp_path):
    from openapi_spec_validator import validate

    from mlcask.serving.app import load_served_model
    from mlcask.serving.openapi import openapi_document

    doc = openapi_document(load_served_model(str(sklearn_model_dir)))
    validate(doc)
    schemas = doc["components"]["schemas"]
    forms = {f["title"]: f for f in schemas["InvocationsRequest"]["oneOf"]}
    assert forms["input_data"]["properties"]["input_data"] == {"$ref": "#/components/schemas/InputData"}
    azure = schemas["InputData"]
    assert "Azure ML" in azure["description"]
    split = azure["oneOf"][0]
    assert split["required"] == ["columns", "data"] and split["properties"]["columns"]["items"]["enum"][0] \
        == "sepal_length"
    from mlcask.serving.openapi import _request_forms

    assert "list" in _request_forms(TENSOR)["InputData"]["description"]
    assert _request_forms(NAMED)["InputData"]["oneOf"][0]["required"] == ["tokens", "mask"]
    assert "Azure ML" in _request_forms(None)["InputData"]["description"]
