"""infer_schema and infer_param_schema for every kind of input (MLflow's results, hard-coded)."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from mlcask.exceptions import InvalidArgumentError
from mlcask.types import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
    infer_param_schema,
    infer_schema,
)


@pytest.fixture(autouse=True)
def _quiet_integer_hint():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def col(t, name=None, required=True):
    return ColSpec(t, name, required)


# -- DataFrames ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "expected"), [
    (np.array([1.0, 2.0]), DataType.double),
    (np.array([1, 2]), DataType.long),
    (np.array([1, 2], dtype=np.int32), DataType.integer),
    (np.array([1, 2], dtype=np.int16), DataType.integer),
    (np.array([1, 2], dtype=np.uint8), DataType.integer),
    (np.array([1, 2], dtype=np.uint32), DataType.long),
    (np.array([1, 2], dtype=np.float32), DataType.float),
    (np.array([1, 2], dtype=np.float16), DataType.float),
    (np.array([True, False]), DataType.boolean),
    (["a", "b"], DataType.string),
    (pd.Series(["a", "b"], dtype=object), DataType.string),
    ([b"a", b"b"], DataType.binary),
    (pd.to_datetime(["2020-01-01", "2020-01-02"]), DataType.datetime),
    (pd.Categorical(["u", "v"]), DataType.string),
    (pd.array([1, 2], dtype="Int64"), DataType.long),
    (pd.Series([1, 2], dtype=object), DataType.long),
    (pd.Series([1.5, 2], dtype=object), DataType.double),
])
def test_dataframe_column_types(values, expected):
    schema = infer_schema(pd.DataFrame({"c": values}))
    assert schema == Schema([col(expected, "c")])


def test_dataframe_keeps_column_order_names_and_json():
    df = pd.DataFrame({"mean radius": [1.0], "count": [3], "label": ["x"]})
    assert infer_schema(df).to_json() == (
        '[{"type": "double", "name": "mean radius", "required": true}, '
        '{"type": "long", "name": "count", "required": true}, '
        '{"type": "string", "name": "label", "required": true}]'
    )


@pytest.mark.parametrize(("values", "expected_type"), [
    ([1.0, np.nan], DataType.double),
    ([1, None], DataType.double),  # pandas makes an int column with a missing value float64
    (["x", None], DataType.string),
    (pd.to_datetime(["2020-01-01", None]), DataType.datetime),
    (pd.array([1, None], dtype="Int64"), DataType.long),
    (pd.array([True, None], dtype="boolean"), DataType.boolean),
    (pd.Series([True, None], dtype=object), DataType.boolean),
])
def test_missing_values_make_a_column_optional(values, expected_type):
    assert infer_schema(pd.DataFrame({"c": values})) == Schema([col(expected_type, "c", required=False)])


def test_nan_check_covers_every_column_of_a_float_frame():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [np.nan, 1.0], "c": [3.0, np.nan]})
    assert [s.required for s in infer_schema(df).inputs] == [True, False, False]
    df["d"] = [1, 2]  # mixed dtypes take the per-column path
    assert [s.required for s in infer_schema(df).inputs] == [True, False, False, True]


def test_object_columns_of_missing_or_nested_values():
    df = pd.DataFrame({
        "none": pd.Series([None, None], dtype=object),
        "nan_str": pd.Series([np.nan, np.nan], dtype="str"),
        "lists": [[1, 2], [3]],
        "dicts": [{"x": 1}, {"x": 2, "y": "s"}],
    })
    assert infer_schema(df) == Schema([
        col(AnyType(), "none", required=False),
        col(AnyType(), "nan_str", required=False),
        col(Array("long"), "lists"),
        col(Object([Property("x", "long"), Property("y", "string", required=False)]), "dicts"),
    ])


def test_mixed_object_column_cannot_be_inferred():
    with pytest.raises(InvalidArgumentError, match="Failed to infer schema for pandas.Series"):
        infer_schema(pd.DataFrame({"a": pd.Series([1, "x"], dtype=object)}))


def test_unsupported_dtypes_are_refused():
    with pytest.raises(InvalidArgumentError, match="Unsupported numpy data type 'uint64'"):
        infer_schema(pd.DataFrame({"a": np.array([1], dtype=np.uint64)}))
    with pytest.raises(InvalidArgumentError, match="kind 'm'"):
        infer_schema(pd.DataFrame({"a": pd.to_timedelta([1], unit="s")}))


def test_integer_labels_are_kept_as_integers():
    assert infer_schema(pd.DataFrame(np.zeros((1, 2)))).to_json() == \
        '[{"type": "double", "name": 0, "required": true}, {"type": "double", "name": 1, "required": true}]'


def test_integer_columns_emit_mlflows_hint():
    with pytest.warns(UserWarning, match="Integer columns cannot represent missing values"):
        infer_schema(pd.DataFrame({"a": [1]}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        infer_schema(pd.DataFrame({"a": [1.0]}))
        infer_schema(np.array([1]))  # tensors: no hint


# -- Series ----------------------------------------------------------------------------------------


def test_series_named_and_unnamed():
    assert infer_schema(pd.Series([1.0, 2.0])) == Schema([col(DataType.double)])
    assert infer_schema(pd.Series([1, 2], name="target")) == Schema([col(DataType.long, "target")])
    assert infer_schema(pd.Series(["a", None], name="t")) == Schema([col(DataType.string, "t", required=False)])


# -- numpy -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("array", "dtype", "shape"), [
    (np.zeros((3, 4), dtype=np.float32), "float32", (-1, 4)),
    (np.arange(3), "int64", (-1,)),
    (np.zeros((2, 3, 4)), "float64", (-1, 3, 4)),
    (np.array(["a", "bb"]), "str", (-1,)),
    (np.array([b"a", b"bb"]), "bytes", (-1,)),
    (np.array(["a", 1], dtype=object), "object", (-1,)),
])
def test_ndarray_becomes_an_unnamed_tensor(array, dtype, shape):
    assert infer_schema(array) == Schema([TensorSpec(np.dtype(dtype), shape)])


def test_dict_of_arrays_becomes_named_tensors():
    schema = infer_schema({"a": np.zeros((2, 3)), "b": np.array(["x"])})
    assert schema.to_json() == (
        '[{"name": "a", "type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}, '
        '{"name": "b", "type": "tensor", "tensor-spec": {"dtype": "str", "shape": [-1]}}]'
    )


def test_sparse_matrix_becomes_a_tensor():
    from scipy.sparse import csr_matrix

    assert infer_schema(csr_matrix(np.eye(3, dtype=np.float32))) == Schema([TensorSpec(np.dtype("float32"), (-1, 3))])


# -- dicts, lists, scalars ------------------------------------------------------------------------------


def test_dict_of_values_gives_one_column_per_key():
    schema = infer_schema({"a": 1, "b": "x", "c": 1.5, "d": None, "e": [1, 2], "f": ["a", None],
                           "g": {"k": 1}, "h": b"x", "i": True})
    assert schema == Schema([
        col(DataType.long, "a"), col(DataType.string, "b"), col(DataType.double, "c"),
        col(AnyType(), "d", required=False), col(Array("long"), "e"), col(Array("string"), "f", required=False),
        col(Object([Property("k", "long")]), "g"), col(DataType.binary, "h"), col(DataType.boolean, "i"),
    ])


def test_dict_with_non_string_keys_is_refused():
    with pytest.raises(InvalidArgumentError, match="keys are not all strings"):
        infer_schema({1: "a"})


def test_list_of_dicts_gives_columns_with_requiredness():
    schema = infer_schema([{"a": 1, "b": "x"}, {"a": 2, "c": None}, {"a": 3, "b": "y", "c": 1.5}])
    assert schema == Schema([col(DataType.long, "a"), col(DataType.string, "b", required=False),
                             col(DataType.double, "c", required=False)])


def test_list_of_nested_dicts_merges_objects():
    schema = infer_schema([{"q": {"x": 1, "y": ["a"]}}, {"q": {"x": 2}}])
    assert schema == Schema([col(Object([Property("x", "long"), Property("y", Array("string"), False)]), "q")])


@pytest.mark.parametrize(("data", "expected"), [
    (["a", "b"], DataType.string),
    (["a", None], DataType.string),
    ([1, 2], DataType.long),
    ([1.5, 2.5], DataType.double),
    ([True, False], DataType.boolean),
    ([[1, 2], [3]], Array("long")),
    ([], DataType.string),  # MLflow's choice for an empty list
    (5, DataType.long),
    (1.5, DataType.double),
    ("hello", DataType.string),
    (b"x", DataType.binary),
    (True, DataType.boolean),
    (np.float32(1), DataType.float),
    (np.int32(1), DataType.integer),
    (dt.datetime(2020, 1, 1), DataType.datetime),
    (dt.date(2020, 1, 1), DataType.datetime),
    (None, AnyType()),
])
def test_lists_and_scalars_give_one_unnamed_column(data, expected):
    assert infer_schema(data) == Schema([col(expected)])


@pytest.mark.parametrize(("data", "message"), [
    ([1, 2.0], "same type"),
    ([1, "a"], "same type"),
    ({1, 2}, "Failed to infer schema"),
    (object, "Failed to infer schema"),
])
def test_uninferable_data_is_refused(data, message):
    with pytest.raises(InvalidArgumentError, match=message):
        infer_schema(data)


# -- params ---------------------------------------------------------------------------------------------


def test_infer_param_schema_for_every_supported_kind():
    schema = infer_param_schema({
        "k": 3, "f": 0.5, "s": "x", "b": True, "l": [1, 2], "ls": ["a"], "d": dt.datetime(2020, 1, 1, 3),
        "ld": [dt.date(2020, 1, 1)], "np32": np.float32(0.5), "arr": np.array([1.5]), "e": [],
        "o": {"a": 1},
    })
    assert schema == ParamSchema([
        ParamSpec("k", "long", 3), ParamSpec("f", "double", 0.5), ParamSpec("s", "string", "x"),
        ParamSpec("b", "boolean", True), ParamSpec("l", "long", [1, 2], (-1,)), ParamSpec("ls", "string", ["a"], (-1,)),
        ParamSpec("d", "datetime", dt.datetime(2020, 1, 1, 3)), ParamSpec("ld", "datetime", [dt.date(2020, 1, 1)], (-1,)),
        ParamSpec("np32", "float", 0.5), ParamSpec("arr", "double", [1.5], (-1,)),
        ParamSpec("e", "datetime", [], (-1,)),  # MLflow types an empty list as datetime
        ParamSpec("o", Object([Property("a", "long")]), {"a": 1}),
    ])


def test_infer_param_schema_default_is_a_copy():
    value = [1, 2]
    schema = infer_param_schema({"l": value})
    value.append(3)
    assert schema.params[0].default == [1, 2]


@pytest.mark.parametrize(("params", "message"), [
    ({"b": b"x"}, r"\('b', b'x', MlflowException\(\"Binary type is not supported"),
    ({"n": None}, r"\('n', None, MlflowException\('Expected parameters to be 1D array or scalar, got NoneType'\)\)"),
    ({"m": [[1]]}, "got 2D array"),
    ({"x": [1, "a"]}, "item 0: Can not safely convert `<class 'int'>` to `DataType.string` for value `1`"),
    ({"t": (1, 2)}, "got tuple"),
])
def test_infer_param_schema_errors(params, message):
    with pytest.raises(InvalidArgumentError, match=message):
        infer_param_schema(params)


def test_infer_param_schema_lists_every_bad_param():
    with pytest.raises(InvalidArgumentError) as info:
        infer_param_schema({"a": None, "ok": 1, "b": b"x"})
    message = str(info.value)
    assert message.startswith("Failed to infer schema for parameters: [('a', None, MlflowException(")
    assert "), ('b', b'x', MlflowException(" in message and message.endswith("))]") and "'ok'" not in message


def test_infer_param_schema_needs_a_dict():
    with pytest.raises(InvalidArgumentError, match="Expected parameters to be dict, got list"):
        infer_param_schema([1])


# -- MLflow's public message names ---------------------------------------------------------------------


@pytest.mark.parametrize("data", [
    ["a", 1], ["a", ["b", "c"]], [{"a": 1, "b": "c"}, {"a": 1, "b": ["a", "b"]}],
])
def test_mixed_list_raises_mlflows_multiple_types_message(data):
    from mlcask.types.utils import MULTIPLE_TYPES_ERROR_MSG

    assert MULTIPLE_TYPES_ERROR_MSG.startswith("Expected all values in the list to be of the same type.")
    assert "Array(AnyType())" in MULTIPLE_TYPES_ERROR_MSG
    with pytest.raises(InvalidArgumentError) as info:
        infer_schema(data)
    assert MULTIPLE_TYPES_ERROR_MSG in str(info.value)


def test_param_errors_list_name_value_and_error_as_mlflow_does():
    with pytest.raises(InvalidArgumentError) as info:
        infer_param_schema({"a": "ok", "b": (1, 2, 3), "d": [[1, 2], [3, 4]]})
    assert str(info.value) == (
        "Failed to infer schema for parameters: ["
        "('b', (1, 2, 3), MlflowException('Expected parameters to be 1D array or scalar, got tuple')), "
        "('d', [[1, 2], [3, 4]], MlflowException('Expected parameters to be 1D array or scalar, got 2D array'))]"
    )
