import json

import numpy as np
import pandas as pd
import pytest

import mlcask
from mlcask.exceptions import InvalidArgumentError, InvalidInputError
from mlcask.models import (
    Model,
    convert_input_example_to_serving_input,
    infer_signature,
    set_signature,
    validate_serving_input,
)
from mlcask.models.serving_input import parse_serving_input


def test_dataframe_split_and_records():
    data, params = parse_serving_input({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2.5]]}})
    pd.testing.assert_frame_equal(data, pd.DataFrame({"a": [1], "b": [2.5]}))
    assert params is None
    data, _ = parse_serving_input('{"dataframe_records": [{"a": 1}, {"a": 2}], "params": {"k": 1}}')
    assert list(data["a"]) == [1, 2]


def test_inputs_and_instances():
    data, params = parse_serving_input({"inputs": [[1.0, 2.0]], "params": {"k": 3}})
    np.testing.assert_array_equal(data, np.array([[1.0, 2.0]]))
    assert params == {"k": 3}
    data, _ = parse_serving_input({"instances": {"a": [1, 2], "b": [0.5, 1.5]}})
    assert set(data) == {"a", "b"} and data["a"].dtype.kind == "i"


@pytest.mark.parametrize(
    "payload, message",
    [
        ("{not json", "not valid JSON: Expecting property name"),
        ("[1, 2]", "must be a JSON object .* got a JSON list"),
        ({"inputs": [1], "instances": [1]}, r"exactly one of the keys .* got keys \['inputs', 'instances'\]"),
        ({"data": [1]}, r"exactly one of the keys"),
        ({"inputs": [1], "params": [1]}, "'params' must be a JSON object, got list"),
        ({"dataframe_split": [[1]]}, "'dataframe_split' must be an object with 'data'"),
        ({"dataframe_split": {"data": [[1]], "rows": 1}}, r"unknown keys \['rows'\]"),
        ({"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}, r"row 0 has 1 values, but there are 2 columns"),
        ({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [1]]}}, r"row 1 has 1 values"),
        ({"dataframe_split": {"columns": ["a"], "data": []}}, "'dataframe_split' holds no rows"),
        ({"dataframe_records": []}, "'dataframe_records' holds no rows"),
        ({"instances": {"a": [], "b": []}}, "'instances' holds no rows"),
        ({"inputs": []}, "'inputs' holds no rows"),
        ({"dataframe_records": {"a": 1}}, "must be a list of objects"),
        ({"inputs": [[1, 2], [3]]}, "not a rectangular array"),
    ],
)
def test_malformed_payloads_are_refused(payload, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_serving_input(payload)


def test_saved_serving_example_scores_through_validate_serving_input(tmp_path, xgb_classifier, breast_cancer):
    X, y = breast_cancer
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m", input_example=X.head(2))
    serving = (tmp_path / "m" / "serving_input_example.json").read_text()
    assert serving == convert_input_example_to_serving_input(X.head(2))
    predictions = validate_serving_input(str(tmp_path / "m"), serving)
    np.testing.assert_array_equal(predictions, xgb_classifier.predict(X.head(2)))


def test_set_signature_rewrites_only_the_signature(tmp_path, xgb_classifier, breast_cancer):
    X, y = breast_cancer
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    before = Model.load(tmp_path / "m")
    signature = infer_signature(X, y)
    set_signature(str(tmp_path / "m"), signature)
    after = Model.load(tmp_path / "m")
    assert after.signature == signature
    assert after.model_uuid == before.model_uuid and after.flavors == before.flavors
    assert sorted(p.name for p in (tmp_path / "m").iterdir() if p.name.startswith(".")) == []
    with pytest.raises(InvalidArgumentError, match="signature must be a ModelSignature"):
        set_signature(str(tmp_path / "m"), json.dumps({"inputs": []}))


def test_float_schema_reads_rows_as_one_array_with_the_same_result():
    from mlcask.types import ColSpec, Schema

    schema = Schema([ColSpec("double", "a"), ColSpec("double", "b")])
    payload = {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2.5], [3, 4]]}}
    fast, _ = parse_serving_input(payload, schema)
    general, _ = parse_serving_input(payload)
    assert fast.dtypes.tolist() == ["float64", "float64"]
    assert fast.to_numpy().tolist() == general.to_numpy(dtype=float).tolist() == [[1.0, 2.5], [3.0, 4.0]]
    with_null, _ = parse_serving_input({"dataframe_split": {"columns": ["a", "b"], "data": [[1, None]]}}, schema)
    assert with_null["b"].tolist() == [None] or with_null["b"].isna().all()
