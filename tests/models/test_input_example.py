import json

import numpy as np
import pandas as pd
import pytest

from mlcask.exceptions import InvalidArgumentError, MlcaskException, ModelFormatError
from mlcask.models import Model
from mlcask.models.input_example import InputExample, load_input_example


def saved(tmp_path, example):
    example = InputExample(example)
    example.save(tmp_path)
    return (json.loads((tmp_path / "input_example.json").read_text()),
            json.loads((tmp_path / "serving_input_example.json").read_text()), example.info)


def test_dataframe_is_saved_in_split_orient_without_index(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": [0.5, np.nan], "s": ["x", "y"]}, index=[10, 11])
    stored, serving, info = saved(tmp_path, df)
    assert stored == {"columns": ["a", "b", "s"], "data": [[1, 0.5, "x"], [2, None, "y"]]}
    assert serving == {"dataframe_split": stored}
    assert info == {"artifact_path": "input_example.json", "type": "dataframe", "pandas_orient": "split",
                    "serving_input_path": "serving_input_example.json"}


def test_serving_example_is_indented_like_mlflow(tmp_path):
    saved(tmp_path, pd.DataFrame({"a": [1]}))
    assert (tmp_path / "serving_input_example.json").read_text().startswith('{\n  "dataframe_split": {\n    "columns"')


def test_ndarray_and_dict_of_arrays_use_inputs(tmp_path):
    stored, serving, info = saved(tmp_path, np.array([[1.0, 2.0]]))
    assert stored == [[1.0, 2.0]] and serving == {"inputs": [[1.0, 2.0]]} and info["type"] == "ndarray"
    stored, serving, info = saved(tmp_path, {"a": np.array([1, 2]), "b": np.array([0.5, 1.5])})
    assert stored == {"a": [1, 2], "b": [0.5, 1.5]} and serving == {"inputs": stored}


def test_params_are_saved_beside_the_data(tmp_path):
    stored, serving, info = saved(tmp_path, (pd.DataFrame({"a": [1]}), {"k": 3, "arr": np.array([1.0])}))
    assert stored == {"inputs": {"columns": ["a"], "data": [[1]]}, "params": {"k": 3, "arr": [1.0]}}
    assert serving["params"] == {"k": 3, "arr": [1.0]}
    assert info["params"] == "true"


def test_json_objects_lists_and_scalars(tmp_path):
    assert saved(tmp_path, {"q": "hi", "n": 2})[2]["type"] == "json_object"
    assert saved(tmp_path, ["a", "b"])[1] == {"inputs": ["a", "b"]}
    assert saved(tmp_path, b"\x00\x01")[0] == "AAE="
    assert saved(tmp_path, 3.5)[0] == 3.5


@pytest.mark.parametrize(
    "example, message",
    [
        ({"a": np.array([1]), "b": 2}, "either only numpy arrays or no numpy arrays"),
        ([np.array([1])], "numpy arrays inside a list are not supported"),
        (object(), "input_example must be a pandas DataFrame"),
    ],
)
def test_unsupported_examples_are_refused(example, message):
    with pytest.raises(InvalidArgumentError, match=message):
        InputExample(example)


def test_load_round_trips_a_dataframe(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "s": ["x", "y"]})
    example = InputExample(df)
    example.save(tmp_path)
    model = Model(saved_input_example_info=example.info)
    pd.testing.assert_frame_equal(load_input_example(model, tmp_path), df)


def test_load_reports_a_missing_example_file(tmp_path):
    model = Model(saved_input_example_info={"artifact_path": "input_example.json", "type": "dataframe"})
    with pytest.raises(ModelFormatError, match="the file is missing"):
        load_input_example(model, tmp_path)


@pytest.mark.spark
def test_a_spark_dataframe_example_is_mlflows_error_for_every_flavor(spark, tmp_path, iris_classifier):
    import mlcask.sklearn

    X, model = iris_classifier
    example = spark.createDataFrame(X.head(3))
    with pytest.raises(MlcaskException, match="Examples can not be provided as Spark Dataframe"):
        mlcask.sklearn.save_model(model, tmp_path / "m", input_example=example)
    assert not (tmp_path / "m").exists()
