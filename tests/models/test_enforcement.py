"""enforce_schema and enforce_params: every accepted input shape, conversion and refusal."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from mlcask.exceptions import InvalidInputError
from mlcask.models.enforcement import enforce_params, enforce_schema
from mlcask.types import Array, ColSpec, DataType, Object, ParamSchema, ParamSpec, Property, Schema, TensorSpec


def cols(*specs):
    return Schema([ColSpec(*s) if isinstance(s, tuple) else s for s in specs])


@pytest.fixture
def abc():
    return cols(("long", "a"), ("double", "b"), ("string", "c", False))


# -- column-based: matching columns ------------------------------------------------------------------


def test_no_schema_passes_anything_through():
    data = object()
    assert enforce_schema(data, None) is data


def test_matching_frame_is_returned_as_is():
    schema = cols(*[("double", f"c{i}") for i in range(30)])
    df = pd.DataFrame(np.random.rand(1, 30), columns=[f"c{i}" for i in range(30)])
    assert enforce_schema(df, schema) is df
    assert enforce_schema(df, schema) is df  # and again, from the cached plan


def test_matching_mixed_frame_with_string_column_is_returned_as_is():
    schema = cols(("double", "x"), ("string", "s"), ("long", "n"), ("boolean", "b"))
    df = pd.DataFrame({"x": [1.0], "s": ["a"], "n": [1], "b": [True]})
    assert enforce_schema(df, schema) is df


def test_columns_are_reordered_and_extras_dropped(abc):
    df = pd.DataFrame({"x": [0, 0], "c": ["s", "t"], "b": [1.5, 2.5], "a": [1, 2]}, index=[10, 11])
    out = enforce_schema(df, abc)
    assert out.columns.tolist() == ["a", "b", "c"]
    assert out.index.tolist() == [10, 11]
    assert out["a"].tolist() == [1, 2] and out["b"].tolist() == [1.5, 2.5] and out["c"].tolist() == ["s", "t"]
    assert df.columns.tolist() == ["x", "c", "b", "a"]  # the caller's frame is untouched


def test_missing_optional_column_is_fine(abc):
    out = enforce_schema(pd.DataFrame({"b": [1.0], "a": [1]}), abc)
    assert out.columns.tolist() == ["a", "b"]


def test_all_missing_required_columns_are_listed(abc):
    df = pd.DataFrame({"c": ["s"], "x": [0]})
    with pytest.raises(InvalidInputError) as info:
        enforce_schema(df, abc)
    assert str(info.value) == ("Model is missing inputs ['a', 'b']. Note that there were extra inputs: ['x']. "
                               "(missing required input columns ['a', 'b']; the input has columns ['c', 'x']).")


def test_missing_columns_without_extras(abc):
    with pytest.raises(InvalidInputError, match=r"^Model is missing inputs \['b'\]\. \(missing required input "
                                                r"columns \['b'\]; the input has columns \['a'\]\)\.$"):
        enforce_schema(pd.DataFrame({"a": [1]}), abc)


def test_duplicated_input_column_is_refused(abc):
    df = pd.DataFrame([[1, 2, 3.0]], columns=["a", "a", "b"])
    with pytest.raises(InvalidInputError, match="Input columns 'a' appear more than once"):
        enforce_schema(df, abc)


def test_conversion_does_not_touch_the_callers_frame():
    schema = cols(("double", "a"), ("double", "b"))
    df = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    out = enforce_schema(df, schema)
    assert out["a"].dtype == np.float64 and out["a"].tolist() == [1.0, 2.0]
    assert df["a"].dtype == np.int64


def test_mixed_conversions_keep_every_column():
    schema = cols(("double", "a"), ("string", "s"), ("integer", "i"))
    df = pd.DataFrame({"i": [1, 2], "s": ["x", "y"], "a": np.array([1, 2], dtype=np.int32)})
    out = enforce_schema(df, schema)
    assert out.dtypes.tolist()[::2] == [np.dtype("float64"), np.dtype("int32")]
    assert out.to_dict("list") == {"a": [1.0, 2.0], "s": ["x", "y"], "i": [1, 2]}


# -- column-based: other inputs ------------------------------------------------------------------------


def test_ndarray_and_rows_are_matched_by_position():
    schema = cols(("long", "a"), ("double", "b"))
    out = enforce_schema(np.array([[1, 2], [3, 4]]), schema)
    assert out.columns.tolist() == ["a", "b"] and out["b"].dtype == np.float64
    out = enforce_schema([[1, 2.5]], schema)
    assert out.to_dict("list") == {"a": [1], "b": [2.5]}


def test_unnamed_input_of_the_wrong_width_is_refused(abc):
    with pytest.raises(InvalidInputError) as info:
        enforce_schema(np.array([[1, 2.0]]), abc)
    assert "missing required input columns ['a', 'b']; the input has columns [0, 1]" in str(info.value)
    assert "matched to the model's columns by position only when it has exactly 3 columns" in str(info.value)


def test_list_of_strings_feeds_a_single_string_column():
    out = enforce_schema(["a", "b"], cols(("string", "text")))
    assert out["text"].tolist() == ["a", "b"]


def test_scalar_feeds_a_single_column():
    assert enforce_schema("hello", cols(("string", "text")))["text"].tolist() == ["hello"]
    assert enforce_schema(3, cols(("double", "x")))["x"].tolist() == [3.0]


def test_series_named_and_unnamed():
    schema = cols(("double", "x"))
    assert enforce_schema(pd.Series([1.0, 2.0], name="x"), schema)["x"].tolist() == [1.0, 2.0]
    assert enforce_schema(pd.Series([1.0]), schema).columns.tolist() == ["x"]
    with pytest.raises(InvalidInputError, match=r"missing required input columns \['x'\]"):
        enforce_schema(pd.Series([1.0], name="y"), schema)


def test_dict_of_scalars_is_one_row(abc):
    out = enforce_schema({"a": 1, "b": 2.0, "c": "s"}, abc)
    assert out.to_dict("list") == {"a": [1], "b": [2.0], "c": ["s"]}


def test_dict_of_lists_is_columns(abc):
    out = enforce_schema({"a": [1, 2], "b": np.array([2.0, 3.0])}, abc)
    assert out.to_dict("list") == {"a": [1, 2], "b": [2.0, 3.0]}


def test_dict_of_uneven_lists_is_refused(abc):
    with pytest.raises(InvalidInputError, match="the input dict could not be read as one"):
        enforce_schema({"a": [1, 2], "b": [1.0]}, abc)


def test_dict_for_a_schema_with_array_columns_is_one_row():
    schema = cols((Array("long"), "ids"), ("double", "w"))
    out = enforce_schema({"ids": [1, 2, 3], "w": 0.5}, schema)
    assert len(out) == 1 and out["ids"][0] == [1, 2, 3]


def test_list_of_dicts_is_rows(abc):
    out = enforce_schema([{"a": 1, "b": 2.0}, {"b": 3.0, "a": 2, "z": 0}], abc)
    assert out.to_dict("list") == {"a": [1, 2], "b": [2.0, 3.0]}


@pytest.mark.parametrize(("data", "message"), [
    (object(), "got an input of type object"),
    (np.zeros((1, 2, 3)), r"3-D array of shape \(1, 2, 3\)"),
])
def test_unsupported_containers_are_refused(abc, data, message):
    with pytest.raises(InvalidInputError, match=message):
        enforce_schema(data, abc)


def test_compound_columns_pass_through():
    obj = Object([Property("k", "long")])
    schema = cols((obj, "meta"), (Array("string"), "tags"))
    df = pd.DataFrame({"meta": [{"k": 1}], "tags": [["a"]]})
    assert enforce_schema(df, schema) is df


# -- column-based: type conversions ---------------------------------------------------------------------


@pytest.mark.parametrize(("values", "t", "dtype", "expected"), [
    (np.array([1, 2], dtype=np.int32), "long", "int64", [1, 2]),
    (np.array([1, 2], dtype=np.uint8), "integer", "int32", [1, 2]),
    (np.array([1, -2]), "integer", "int32", [1, -2]),  # int64 whose values fit int32
    (np.array([5, 2**53]), "double", "float64", [5.0, 2.0**53]),
    (np.array([1, 2], dtype=np.int32), "double", "float64", [1.0, 2.0]),
    (np.array([3, 4]), "float", "float32", [3.0, 4.0]),
    (np.array([1.5], dtype=np.float32), "double", "float64", [1.5]),
    (pd.Series([1.5, 2], dtype=object), "double", "float64", [1.5, 2.0]),
    (pd.Series([1, 2], dtype=object), "long", "int64", [1, 2]),
    (pd.Series([Decimal("1.5")], dtype=object), "double", "float64", [1.5]),
    (pd.array([1, 2], dtype="Int64"), "long", "int64", [1, 2]),
    (pd.array([True, False], dtype="boolean"), "boolean", "bool", [True, False]),
    (pd.Series([True, False], dtype=object), "boolean", "bool", [True, False]),
    (pd.to_datetime(["2020-01-01"]), "datetime", "datetime64[ns]", [pd.Timestamp("2020-01-01")]),
    (np.array([1, 2], dtype=np.uint64), "long", "int64", [1, 2]),
    (["2020-01-02"], "datetime", "datetime64[ns]", [pd.Timestamp("2020-01-02")]),
    (pd.Series([dt.date(2020, 1, 3)], dtype=object), "datetime", "datetime64[ns]", [pd.Timestamp("2020-01-03")]),
])
def test_safe_conversions(values, t, dtype, expected):
    out = enforce_schema(pd.DataFrame({"c": values}), cols((t, "c")))
    assert out["c"].dtype == np.dtype(dtype)
    assert out["c"].tolist() == expected


def test_int_column_with_missing_values_for_double_becomes_nan():
    out = enforce_schema(pd.DataFrame({"c": pd.array([1, None], dtype="Int64")}), cols(("double", "c")))
    assert out["c"].dtype == np.float64 and out["c"].isna().tolist() == [False, True]


@pytest.mark.parametrize(("values", "t", "message"), [
    ([1.0, None], "long",
     "Column 'c': expected type long, got float64 with missing values (NaN). Hint: the type mismatch is likely "
     "caused by missing values."),
    ([1.5, None], "long", "Column 'c': expected type long, got float64; floats are not converted to integers"),
    ([1.5, 2.0], "long", "Column 'c': expected type long, got float64; floats are not converted to integers"),
    ([1.0, 2.0], "integer", "Column 'c': expected type integer, got float64; floats are not converted"),
    (np.array([2**40]), "integer",
     "Column 'c': expected type integer, got int64 with values outside the integer range [-2147483648, 2147483647]"),
    (np.array([2**53 + 1]), "double", "Column 'c': expected type double, got int64 with values beyond +/-2**53"),
    (np.array([2**24 + 1]), "float", "Column 'c': expected type float, got int64 with values beyond +/-2**24"),
    (np.array([2**63], dtype=np.uint64), "long",
     "Column 'c': expected type long, got uint64 with values outside the long range"),
    ([1.5], "float", "Column 'c': expected type float, got float64; converting float64 to float (32-bit) would lose"),
    ([True], "double", "Column 'c': expected type double, got bool; booleans are not converted to numbers"),
    (["1.5"], "double", "Column 'c': expected type double, got str"),
    (pd.Series(["x", 1], dtype=object), "double", "Column 'c': expected type double, got object holding mixed-integer values"),
    (pd.array([1, None], dtype="Int64"), "long", "Column 'c': expected type long, got Int64 with missing values (NA)"),
    ([1, 2], "string", "Column 'c': expected type string, got int64"),
    ([1.0], "binary", "Column 'c': expected type binary, got float64"),
    ([1, 0], "boolean", "Column 'c': expected type boolean, got int64; numbers and strings are not converted to booleans"),
    (pd.Series(["True", None], dtype=object), "boolean", "Column 'c': expected type boolean, got str"),
    (pd.Series([True, 1], dtype=object), "boolean",
     "Column 'c': expected type boolean, got object holding mixed-integer values; only True/False (or None) are accepted"),
    (pd.array([True, None], dtype="boolean"), "boolean", "Column 'c': expected type boolean, got boolean with missing values (NA)"),
    (["nope"], "datetime", "Column 'c': expected type datetime, got str values that cannot be read as datetimes"),
    (pd.to_datetime(["2020-01-01"]).tz_localize("UTC"), "datetime",
     "Column 'c': expected type datetime, got datetime64[us, UTC]; only timezone-naive datetimes are accepted"),
    ([1, 2], "datetime", "Column 'c': expected type datetime, got int64"),
])
def test_unsafe_conversions_are_refused(values, t, message):
    with pytest.raises(InvalidInputError) as info:
        enforce_schema(pd.DataFrame({"c": values}), cols((t, "c")))
    # MLflow's lead sentence (what users match), then the precise reason
    assert str(info.value).startswith(("Incompatible input types for column c. Can not safely convert ",
                                       "Failed to convert column c from type "))
    assert message in str(info.value)


def test_bools_with_none_stay_object_for_a_boolean_column():
    out = enforce_schema(pd.DataFrame({"b": pd.Series([True, None], dtype=object)}), cols(("boolean", "b")))
    assert out["b"].tolist() == [True, None]


def test_object_string_and_bytes_columns_are_accepted():
    schema = cols(("string", "s"), ("binary", "raw"))
    df = pd.DataFrame({"s": pd.Series(["x"], dtype=object), "raw": [b"\x00"]})
    assert enforce_schema(df, schema) is df


# -- column-based, unnamed schema --------------------------------------------------------------------------


def test_unnamed_schema_checks_by_position_and_drops_extra_columns():
    schema = cols(("double",), ("double",))
    out = enforce_schema(pd.DataFrame({"p": [1], "q": [2.0], "r": ["x"]}), schema)
    assert out.columns.tolist() == ["p", "q"]
    assert out.dtypes.tolist() == [np.dtype("float64")] * 2
    df = pd.DataFrame(np.zeros((1, 2)))
    assert enforce_schema(df, schema) is df


def test_unnamed_schema_refusals_name_the_position():
    schema = cols(("double",), ("long",))
    with pytest.raises(InvalidInputError, match=r"^Incompatible input types for column 1\. Can not safely convert "
                                                r"float64 to int64\. Column at position 1: expected type long"):
        enforce_schema(np.array([[1.0, 2.5]]), schema)
    with pytest.raises(InvalidInputError, match="The model signature declares 2 inputs  but the provided value only "
                                                "has 1 inputs"):
        enforce_schema([[1.0]], schema)


# -- tensors ---------------------------------------------------------------------------------------------


@pytest.fixture
def t2():
    return Schema([TensorSpec(np.dtype("float64"), (-1, 2))])


def test_matching_array_is_returned_as_is(t2):
    arr = np.zeros((3, 2))
    assert enforce_schema(arr, t2) is arr


@pytest.mark.parametrize("array", [np.array([[1, 2]]), np.array([[1, 2]], dtype=np.int32),
                                   np.array([[1, 2]], dtype=np.float32)])
def test_lossless_tensor_casts(t2, array):
    out = enforce_schema(array, t2)
    assert out.dtype == np.float64 and out.tolist() == [[1.0, 2.0]]


@pytest.mark.parametrize(("array", "message"), [
    (np.array([[True, False]]), "Input tensor: expected dtype float64, got bool. Only conversions that keep"),
    (np.array([["a", "b"]]), "Input tensor: expected dtype float64, got <U1"),
    (np.zeros((1, 3)), r"Input tensor: expected shape \(-1, 2\), got \(1, 3\)"),
    (np.zeros(2), r"Input tensor: expected shape \(-1, 2\), got \(2,\)"),
])
def test_tensor_refusals(t2, array, message):
    with pytest.raises(InvalidInputError, match=message):
        enforce_schema(array, t2)


def test_float64_array_for_a_float32_tensor_is_refused():
    schema = Schema([TensorSpec(np.dtype("float32"), (-1,))])
    with pytest.raises(InvalidInputError, match="expected dtype float32, got float64"):
        enforce_schema(np.zeros(2), schema)


def test_string_tensor_accepts_any_width():
    schema = Schema([TensorSpec(np.dtype("str"), (-1,))])
    arr = np.array(["a", "bbb"])
    assert enforce_schema(arr, schema) is arr


def test_list_input_for_a_tensor(t2):
    assert enforce_schema([[1, 2]], t2).tolist() == [[1.0, 2.0]]


def test_dataframe_input_for_an_unnamed_tensor(t2):
    out = enforce_schema(pd.DataFrame({"a": [1, 3], "b": [2, 4]}), t2)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(InvalidInputError, match=r"a DataFrame with 3 columns can only feed a tensor of shape \(-1, 3\)"):
        enforce_schema(pd.DataFrame({"a": [1], "b": [2], "c": [3]}), t2)
    with pytest.raises(InvalidInputError, match="the input DataFrame is empty"):
        enforce_schema(pd.DataFrame(), t2)


def test_dataframe_column_of_scalars_or_lists_for_a_tensor():
    one = Schema([TensorSpec(np.dtype("float32"), (-1, 1))])
    assert enforce_schema(pd.DataFrame({"x": [1.0, 2.0]}), one).tolist() == [[1.0], [2.0]]
    assert enforce_schema(pd.DataFrame({"x": [[1, 2], [3, 4]]}), Schema([TensorSpec(np.dtype("float32"), (-1, 2))])).dtype == np.float32
    with pytest.raises(InvalidInputError, match=r"holds scalars, which fit a tensor of shape \(-1,\) or \(-1, 1\) only"):
        enforce_schema(pd.DataFrame({"x": [1.0]}), Schema([TensorSpec(np.dtype("float64"), (-1, 3))]))
    with pytest.raises(InvalidInputError, match=r"could not be stacked into shape \(-1, 3\)"):
        enforce_schema(pd.DataFrame({"x": [[1, 2], [3, 4]]}), Schema([TensorSpec(np.dtype("float64"), (-1, 3))]))
    with pytest.raises(InvalidInputError, match="expected dtype int64, got float64"):
        enforce_schema(pd.DataFrame({"x": [1.5]}), Schema([TensorSpec(np.dtype("int64"), (-1,))]))


@pytest.fixture
def named():
    return Schema([TensorSpec(np.dtype("float32"), (-1,), "a"), TensorSpec(np.dtype("int64"), (-1, 2), "b")])


def test_named_tensors_from_a_dict(named):
    a, b = np.array([1.0], dtype=np.float32), np.array([[1, 2]])
    out = enforce_schema({"b": b, "a": a, "extra": 1}, named)
    assert list(out) == ["a", "b"] and out["a"] is a and out["b"] is b


def test_named_tensors_missing_are_all_listed(named):
    with pytest.raises(InvalidInputError) as info:
        enforce_schema({"z": np.zeros(1)}, named)
    assert str(info.value) == ("Model is missing inputs ['a', 'b']. Note that there were extra inputs: ['z']. "
                               "(missing required input tensors ['a', 'b']; the input has ['z']).")


def test_named_tensor_refusal_names_the_tensor(named):
    with pytest.raises(InvalidInputError, match=r"^Shape of input \(1, 3\) does not match expected shape \(-1, 2\)\. "
                                                r"Tensor 'b': expected shape \(-1, 2\), got \(1, 3\)"):
        enforce_schema({"a": np.zeros(1, dtype=np.float32), "b": np.zeros((1, 3), dtype=np.int64)}, named)
    with pytest.raises(InvalidInputError, match="Tensor 'a': expected a numpy array, got str"):
        enforce_schema({"a": "x", "b": np.zeros((1, 2), dtype=np.int64)}, named)


def test_named_tensors_from_a_dataframe(named):
    out = enforce_schema(pd.DataFrame({"a": [1.0], "b": [[1, 2]]}), named)
    assert out["a"].dtype == np.float32 and out["b"].tolist() == [[1, 2]]


def test_single_named_tensor_takes_a_bare_array():
    schema = Schema([TensorSpec(np.dtype("float64"), (-1, 2), "x")])
    arr = np.zeros((1, 2))
    assert enforce_schema(arr, schema)["x"] is arr


def test_wrong_container_for_tensors(named, t2):
    with pytest.raises(InvalidInputError, match=r"This model takes named tensors \['a', 'b'\]"):
        enforce_schema([1, 2], named)
    with pytest.raises(InvalidInputError, match="This model takes a numpy array .* got an input of type dict"):
        enforce_schema({"a": np.zeros((1, 2))}, t2)


def test_ragged_object_arrays_pass():
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.zeros(2), np.zeros(3)
    assert enforce_schema(ragged, Schema([TensorSpec(np.dtype("float64"), (-1, -1))])) is ragged
    assert enforce_schema(ragged, Schema([TensorSpec(np.dtype("O"), (-1,))])) is ragged


def test_sparse_matrix_for_a_tensor(t2):
    from scipy.sparse import csr_matrix

    m = csr_matrix(np.eye(2))
    assert enforce_schema(m, t2) is m
    with pytest.raises(InvalidInputError, match=r"expected shape \(-1, 2\), got \(3, 3\)"):
        enforce_schema(csr_matrix(np.eye(3)), t2)


# -- params ---------------------------------------------------------------------------------------------------


@pytest.fixture
def params_schema():
    return ParamSchema([
        ParamSpec("k", "long", 3), ParamSpec("temperature", "double", 0.5),
        ParamSpec("stops", "string", ["\n"], (-1,)), ParamSpec("when", "datetime", dt.datetime(2020, 1, 1)),
        ParamSpec("greedy", "boolean", False),
    ])


def test_defaults_are_filled_in(params_schema):
    assert enforce_params(None, params_schema) == {
        "k": 3, "temperature": 0.5, "stops": ["\n"], "when": dt.datetime(2020, 1, 1), "greedy": False,
    }


def test_given_params_are_converted_safely(params_schema):
    out = enforce_params({"k": np.int32(7), "temperature": 1, "stops": np.array(["a", "b"]),
                          "when": "2021-02-03T04:05:06", "greedy": np.bool_(True)}, params_schema)
    assert out == {"k": 7, "temperature": 1.0, "stops": ["a", "b"], "when": dt.datetime(2021, 2, 3, 4, 5, 6),
                   "greedy": True}
    assert type(out["k"]) is int and type(out["temperature"]) is float and type(out["greedy"]) is bool


def test_none_value_is_passed_as_none(params_schema):
    assert enforce_params({"k": None}, params_schema)["k"] is None


def test_every_invalid_param_is_reported(params_schema):
    with pytest.raises(InvalidInputError) as info:
        enforce_params({"k": 1.5, "temperature": "hot", "stops": "x", "greedy": 1, "when": 5}, params_schema)
    message = str(info.value)
    assert message.startswith("Invalid parameters found: {")  # MLflow's: a set of (name, error)
    for part in ("'k': long (default: 3), error: Can not safely convert `<class 'float'>` to `DataType.long` for "
                 "value `1.5`",
                 "'temperature': double (default: 0.5), error: Can not safely convert `<class 'str'>`",
                 "Value must be a 1D array with shape (-1,) for param 'stops': string",
                 "'when'", "Failed to convert value `5` from type `<class 'int'>` to `DataType.datetime`",
                 "'greedy': boolean (default: False), error: Can not safely convert `<class 'int'>`"):
        assert part in message


def test_array_param_items_are_checked(params_schema):
    with pytest.raises(InvalidInputError, match="error: item 1: Can not safely convert `<class 'int'>` to "
                                                "`DataType.string` for value `2`"):
        enforce_params({"stops": ["a", 2]}, params_schema)
    with pytest.raises(InvalidInputError, match=r"Value must be a 1D array with shape \(-1,\) for param 'stops'.* "
                                                r"received list with ndim 2"):
        enforce_params({"stops": [["a"]]}, params_schema)


def test_unknown_params_are_refused_by_default(params_schema):
    with pytest.raises(InvalidInputError) as info:
        enforce_params({"k": 1, "top_p": 0.9, "seed": 1}, params_schema)
    assert str(info.value) == ("Unknown params ['top_p', 'seed']; this model accepts "
                               "['k', 'temperature', 'stops', 'when', 'greedy'].")


def test_unknown_params_are_dropped_with_a_warning_when_not_strict(params_schema, caplog):
    with caplog.at_level(logging.WARNING, logger="mlcask.models.enforcement"):
        out = enforce_params({"k": 1, "top_p": 0.9}, params_schema, strict=False)
    assert "top_p" not in out and out["k"] == 1
    assert "Unrecognized params ['top_p'] are ignored for inference" in caplog.text


def test_params_for_a_model_without_params_schema():
    assert enforce_params(None, None) == {}
    assert enforce_params({}, None) == {}
    with pytest.raises(InvalidInputError, match=r"This model's signature declares no params, so it accepts none; "
                                                r"got params \['k'\]"):
        enforce_params({"k": 1}, None)


def test_params_without_schema_dropped_when_not_strict(caplog):
    with caplog.at_level(logging.WARNING, logger="mlcask.models.enforcement"):
        assert enforce_params({"k": 1}, None, strict=False) == {}
    assert "This model does not define a params schema. Ignoring provided params: ['k']" in caplog.text


def test_params_must_be_a_dict(params_schema):
    with pytest.raises(InvalidInputError, match="Parameters must be a dictionary. Got type 'list'."):
        enforce_params([1], params_schema)


def test_non_string_keys_are_read_as_strings():
    schema = ParamSchema([ParamSpec("1", "long", 0)])
    assert enforce_params({1: 5}, schema) == {"1": 5}


def test_object_params_are_checked_and_passed_unchanged():
    obj = Object([Property("a", "long"), Property("b", Array("double"), required=False)])
    schema = ParamSchema([ParamSpec("cfg", obj, {"a": 1})])
    value = {"a": 2, "b": [1.0]}
    assert enforce_params({"cfg": value}, schema)["cfg"] is value
    with pytest.raises(InvalidInputError, match="'cfg'.* error: object is missing properties \\['a'\\]"):
        enforce_params({"cfg": {"b": [1.0]}}, schema)
    with pytest.raises(InvalidInputError, match="error: property 'a': Can not safely convert `<class 'str'>` to "
                                                "`DataType.long` for value `x`"):
        enforce_params({"cfg": {"a": "x"}}, schema)


def test_datatype_objects_are_usable_as_param_types():
    assert enforce_params({"x": 1}, ParamSchema([ParamSpec("x", DataType.float, 0.0)])) == {"x": 1.0}


def test_list_of_dicts_for_a_single_unnamed_map_column_keeps_every_key():
    import json

    from mlcask.models.enforcement import enforce_schema
    from mlcask.types import Schema

    schema = Schema.from_json(json.dumps([{"type": "map", "values": {"type": "string"}, "required": True}]))
    frame = enforce_schema([{"a": "1", "b": "2"}, {"a": "3", "b": "4"}], schema)
    assert frame.shape == (2, 1)
    assert frame.iloc[:, 0].tolist() == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


@pytest.mark.parametrize("label", [["a"], {"a": 1}, {1, 2}])
def test_unhashable_column_labels_are_refused_clearly(label):
    import pandas as pd

    from mlcask.exceptions import InvalidInputError
    from mlcask.models.enforcement import enforce_schema
    from mlcask.types import ColSpec, Schema

    schema = Schema([ColSpec("double", "a"), ColSpec("double", "b")])
    frame = pd.DataFrame([[1.0, 2.0]])
    frame.columns = pd.Index([label, "b"], dtype=object)
    with pytest.raises(InvalidInputError, match=f"label 0 is {type(label).__name__}.*expects columns"):
        enforce_schema(frame, schema)


# -- MLflow 3.17 parity: dtypes kept, lead sentences -------------------------------------------------------


def test_object_string_column_stays_object_when_other_columns_are_converted():
    schema = cols(("string", "g"), ("double", "d"), ("binary", "f"))
    df = pd.DataFrame({"f": [b"x"], "d": np.array([1], dtype=np.int32), "g": ["x"]}, dtype=object)
    df["d"] = df["d"].astype(np.int32)
    out = enforce_schema(df, schema)
    assert out.dtypes.to_dict() == {"g": np.dtype("O"), "d": np.dtype("float64"), "f": np.dtype("O")}
    assert out.to_dict("list") == {"g": ["x"], "d": [1.0], "f": [b"x"]}
    df.index = [7]  # a non-default index is kept, not realigned into NaNs
    out = enforce_schema(df, schema)
    assert out.index.tolist() == [7] and out.to_dict("list") == {"g": ["x"], "d": [1.0], "f": [b"x"]}


def test_ragged_dict_is_refused_with_mlflows_sentence_first():
    with pytest.raises(InvalidInputError) as info:
        enforce_schema({"a": [1], "b": [1, 2]}, cols(("long", "a"), ("long", "b")))
    assert str(info.value).startswith("This model contains a column-based signature, which suggests a DataFrame "
                                      "input. There was an error casting the input data to a DataFrame: ")
    assert "the input dict could not be read as one" in str(info.value)


def test_zero_d_string_arrays_make_one_row_of_object_columns():
    schema = cols(("string", "a"), ("string", "b"))
    out = enforce_schema({"a": np.array("x"), "b": np.array("y")}, schema)
    assert out.dtypes.tolist() == [np.dtype("O"), np.dtype("O")] and out.to_dict("list") == {"a": ["x"], "b": ["y"]}
    with pytest.raises(InvalidInputError, match="^This model contains a column-based signature"):
        enforce_schema({"a": np.array(1), "b": np.array(2)}, cols(("long", "a"), ("long", "b")))


def test_a_list_that_does_not_fit_an_unnamed_tensor_is_refused_with_mlflows_sentence():
    schema = Schema([TensorSpec(np.dtype("float32"), (-1, 3))])
    assert enforce_schema([np.ones(3, dtype=np.float32)], schema).shape == (1, 3)  # a list that fits is taken
    with pytest.raises(InvalidInputError) as info:
        enforce_schema([[1.0, 2.0, 3.0]], schema)  # float64 values
    message = str(info.value)
    assert message.startswith("This model contains a tensor-based model signature with no input names, which "
                              "suggests a numpy array input or a pandas dataframe input with proper column values, "
                              "but an input of type <class 'list'> was found.")
    assert "expected dtype float32, got float64" in message
    with pytest.raises(InvalidInputError, match="but an input of type <class 'dict'> was found"):
        enforce_schema({"x": np.zeros((1, 3), dtype=np.float32)}, schema)


def test_a_named_tensor_given_a_bad_list_or_a_non_array_is_refused_with_mlflows_sentence():
    schema = Schema([TensorSpec(np.dtype("int64"), (-1, 2), "a")])
    assert enforce_schema({"a": [[1, 2]]}, schema)["a"].dtype == np.int64
    lead = ("This model contains a tensor-based model signature with input names, which suggests a dictionary input "
            "mapping input name to a numpy array, but a dict with value type {} was found.")
    with pytest.raises(InvalidInputError) as info:
        enforce_schema({"a": [[1, 2, 3]]}, schema)
    assert str(info.value).startswith(lead.format("<class 'list'>")) and "expected shape (-1, 2)" in str(info.value)
    with pytest.raises(InvalidInputError) as info:
        enforce_schema({"a": 5}, schema)
    assert str(info.value).startswith(lead.format("<class 'int'>"))
    assert "Tensor 'a': expected a numpy array, got int" in str(info.value)
