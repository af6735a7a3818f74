"""spark_udf's result types and conversions, without Spark jobs: inference from output schemas,
DDL parsing and checks, and one batch of predictions turned into what a pandas UDF returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlcask.exceptions import MlcaskException
from mlcask.types import Array, ColSpec, DataType, Map, Object, Property, Schema, TensorSpec

pytest.importorskip("pyspark")
pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("spark")]  # DDL parsing needs a session

from pyspark.sql import types as T  # noqa: E402

from mlcask.pyfunc.spark_results import to_spark_values  # noqa: E402
from mlcask.pyfunc.spark_types import infer_result_type, parse_result_type  # noqa: E402


def test_result_type_inferred_from_the_output_schema():
    one = Schema([ColSpec(DataType.long, "label")])
    assert infer_result_type(one) == T.LongType()
    several = Schema([ColSpec(DataType.long, "label"), ColSpec(Array(DataType.double), "scores"),
                      ColSpec(Map(DataType.string), "tags"),
                      ColSpec(Object([Property("x", DataType.float), Property("when", DataType.datetime)]), "point")])
    assert infer_result_type(several).simpleString() == (
        "struct<label:bigint,scores:array<double>,tags:map<string,string>,point:struct<when:timestamp,x:float>>")
    assert infer_result_type(Schema([TensorSpec(np.dtype("float32"), (-1,))])).simpleString() == "array<float>"
    assert infer_result_type(Schema([TensorSpec(np.dtype("float64"), (-1, 3))])).simpleString() == "array<double>"
    assert infer_result_type(Schema([TensorSpec(np.dtype("int32"), (-1, 2, 2))])).simpleString() == \
        "array<array<int>>"
    # A fixed first dimension is part of a row's shape (MLflow's tests): (2,) is a flat array per
    # row, (2, 3) a 2x3 array per row, as is (-1, 2, 3); in a struct, one field per tensor.
    fixed = Schema([TensorSpec(np.dtype("int64"), (2,), "r1"), TensorSpec(np.dtype("float64"), (2, 3), "r2"),
                    TensorSpec(np.dtype("float64"), (-1, 2, 3), "r3"), TensorSpec(np.dtype("float64"), (4, 2, 3), "r4")])
    assert infer_result_type(fixed).simpleString() == (
        "struct<r1:array<bigint>,r2:array<array<double>>,r3:array<array<double>>,r4:array<array<array<double>>>>")
    with pytest.raises(MlcaskException, match=r"Only 1D, 2D or 3D tensors.*\(-1, 1, 2, 3\)"):
        infer_result_type(Schema([TensorSpec(np.dtype("float64"), (-1, 1, 2, 3))]))


def test_result_types_parse_from_ddl_and_bool_is_boolean():
    assert parse_result_type("bool") == T.BooleanType()
    assert parse_result_type("array<array<long>>").simpleString() == "array<array<bigint>>"
    assert parse_result_type("a int, b array<string>").simpleString() == "struct<a:int,b:array<string>>"
    assert parse_result_type(T.MapType(T.StringType(), T.DoubleType())).simpleString() == "map<string,double>"
    with pytest.raises(MlcaskException, match=r"Invalid 'spark_udf' result type: MapType\(IntegerType"):
        parse_result_type("map<int, double>")


def test_primitive_results_take_the_leftmost_compatible_column():
    frame = pd.DataFrame({"name": ["x", "y"], "count": np.array([1, 2], dtype="int32"), "score": [0.5, 1.5]})
    assert to_spark_values(frame, T.LongType()).tolist() == [1, 2]  # int32 fits in a long
    assert to_spark_values(frame, T.IntegerType()).dtype == np.int32
    assert to_spark_values(frame, T.DoubleType()).tolist() == [1.0, 2.0]
    assert to_spark_values(frame, T.StringType()).tolist() == ["x", "y"]
    assert to_spark_values(frame, T.ArrayType(T.DoubleType())).map(list).tolist() == [[1.0, 0.5], [2.0, 1.5]]
    assert to_spark_values(np.array([1.0, 2.5]), T.StringType()).tolist() == ["1.0", "2.5"]
    assert to_spark_values(np.array([[0.25, 0.75]]), T.FloatType()).tolist() == [0.25]
    with pytest.raises(MlcaskException, match=r"did not produce any values compatible with the requested type "
                                              r"'IntegerType\(\)'. Consider requesting udf with StringType"):
        to_spark_values(np.array([1, 2], dtype="int64"), T.IntegerType())
    with pytest.raises(MlcaskException, match="compatible with the requested type 'BooleanType"):
        to_spark_values(frame, T.BooleanType())


def test_struct_results_by_field_name_or_by_position():
    struct = parse_result_type("p0 double, p1 double")
    by_position = to_spark_values(np.array([[0.25, 0.75], [0.5, 0.5]]), struct)
    assert by_position.to_dict("list") == {"p0": [0.25, 0.5], "p1": [0.75, 0.5]}
    named = pd.DataFrame({"p1": [1, 2], "p0": [3, 4], "other": ["a", "b"]})
    assert to_spark_values(named, struct).to_dict("list") == {"p0": [3.0, 4.0], "p1": [1.0, 2.0]}
    with pytest.raises(MlcaskException, match=r"no column 'p1' .* it has columns \['p0'\]"):
        to_spark_values(pd.DataFrame({"p0": [1.0]}), struct)
    nested = parse_result_type("label string, scores array<double>, extra struct<k: int>")
    rows = pd.DataFrame({"label": ["a", None], "scores": [[1, 2], None], "extra": [{"k": 1}, {"k": 2}]})
    out = to_spark_values(rows, nested)
    assert out.label.tolist() == ["a", None]
    assert out.scores[0].tolist() == [1.0, 2.0] and out.scores[1] is None  # a missing array is null
    assert out.extra.tolist() == [{"k": 1}, {"k": 2}]


def test_struct_values_from_tuples_and_rows():
    from pyspark.sql import Row

    element = parse_result_type("array<struct<a: long, b: string>>")
    rows = [[(1, "x"), Row(b="y", a=2)], [], None, [Row(3, "z")]]  # tuples and unnamed Rows by position
    out = to_spark_values(pd.Series(rows), element)
    assert out.tolist() == [[{"a": 1, "b": "x"}, {"a": 2, "b": "y"}], [], None, [{"a": 3, "b": "z"}]]
    # a dict output (one column of lists): its column, not its column names
    assert to_spark_values({"pairs": [[(1, "x")], []]}, element).tolist() == [[{"a": 1, "b": "x"}], []]
    struct = parse_result_type("pair struct<x: double, y: double>, n long")
    frame = to_spark_values(pd.DataFrame({"pair": [(1, 2), None], "n": [1, 2]}), struct)
    assert frame.pair.tolist() == [{"x": 1.0, "y": 2.0}, None]
    with pytest.raises(MlcaskException, match=r"has 2 fields, but the model's prediction has a tuple of 3 values"):
        to_spark_values(pd.Series([[(1, "x", 3)]]), element)
    with pytest.raises(MlcaskException, match=r"Unsupported result type <class 'str'>, expected dict, tuple"):
        to_spark_values(pd.Series([["ab"]]), element)


def test_nested_arrays_and_dict_outputs():
    cube = np.arange(8, dtype="float64").reshape(2, 2, 2)
    out = to_spark_values(cube, parse_result_type("array<array<double>>"))
    assert [[list(inner) for inner in row] for row in out] == cube.tolist()
    with pytest.raises(MlcaskException, match=r"array<double> takes an array here.*float64.*one array level less"):
        to_spark_values(np.array([[0.25, 0.75]]), parse_result_type("array<array<double>>"))
    assert to_spark_values({"a": [1, 2], "b": [3, 4]}, T.ArrayType(T.LongType())).map(list).tolist() == \
        [[1, 3], [2, 4]]


def test_arrow_batches_become_the_dataframe_pandas_udfs_would_give():
    import datetime as dt

    import pyarrow as pa

    from mlcask.pyfunc.spark_arrow import arrow_frame, arrow_values, struct_frame

    plain = arrow_frame((pa.array([1.5, None]), pa.array([1, None], pa.int32()), pa.array(["x", None])),
                        ["a", "b", "c"], "UTC")
    assert plain.a.tolist()[0] == 1.5 and np.isnan(plain.a.tolist()[1])
    assert plain.b.dtype == np.float64  # an integer column with nulls, as in pandas UDFs
    when = pa.array([dt.datetime(2026, 1, 1, 12)], pa.timestamp("us", tz="UTC"))
    mixed = arrow_frame((when, pa.array([{"k": 1.0}], pa.map_(pa.string(), pa.float64())),
                         pa.array([{"x": 1, "y": "a"}]), pa.array([[1.0, 2.0]])),
                        ["when", "tags", "point", "values"], "Europe/Paris")
    assert mixed.when[0] == pd.Timestamp("2026-01-01 13:00")  # session time zone, no zone
    assert mixed.tags[0] == {"k": 1.0} and mixed.point[0] == {"x": 1, "y": "a"}
    assert mixed["values"][0].tolist() == [1.0, 2.0]
    fields = struct_frame(pa.array([{"a": 1.0, "b": "u"}, {"a": 2.0, "b": "v"}]), "UTC")
    assert fields.to_dict("list") == {"a": [1.0, 2.0], "b": ["u", "v"]}
    assert arrow_values(pd.Series(["1", None], dtype=object)).to_pylist() == ["1", None]
    assert arrow_values(pd.Series(np.array([1, 2], dtype="int32"))).type == pa.int32()
