"""Schema inference of Spark DataFrames (mlcask.types.spark_inference), through infer_schema and
infer_signature as MLflow users call them, and a Spark DataFrame at predict (its schema enforced on
a sample, as MLflow)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pandas as pd
import pytest

import mlcask
from mlcask.exceptions import InvalidArgumentError, InvalidInputError, MlcaskException
from mlcask.types import Array, ColSpec, DataType, Object, Property, Schema, infer_schema
from mlcask.types.schema import SparkMLVector

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark


def test_spark_dataframe_columns_are_typed_as_mlflow_types_them(spark):
    from pyspark.ml.linalg import Vectors
    from pyspark.sql import types as T

    schema = T.StructType([
        T.StructField("s", T.StringType()), T.StructField("n", T.LongType()), T.StructField("i", T.IntegerType()),
        T.StructField("x", T.DoubleType()), T.StructField("f", T.FloatType()), T.StructField("b", T.BooleanType()),
        T.StructField("d", T.DateType()), T.StructField("raw", T.BinaryType()),
        T.StructField("arr", T.ArrayType(T.LongType())),
        T.StructField("obj", T.StructType([T.StructField("a", T.StringType(), nullable=False),
                                           T.StructField("c", T.ArrayType(T.DoubleType()))])),
        T.StructField("objs", T.ArrayType(T.StructType([T.StructField("k", T.IntegerType())]))),
        T.StructField("m", T.MapType(T.StringType(), T.DoubleType())),
    ])
    df = spark.createDataFrame([("a", 1, 2, 1.0, 2.0, True, dt.date(2024, 1, 1), b"x", [1], ("q", [1.0]), [(1,)],
                                 {"p": 1.0}),
                                ("b", 2, 3, 2.0, 3.0, False, dt.date(2024, 1, 2), b"y", [], ("r", []), [],
                                 {"q": 2.0, "p": 3.0})], schema)
    with pytest.warns(UserWarning, match="integer"):  # MLflow's hint for integer columns, as for pandas
        inferred = infer_schema(df)
    expected = Schema([
        ColSpec(DataType.string, "s"), ColSpec(DataType.long, "n"), ColSpec(DataType.integer, "i"),
        ColSpec(DataType.double, "x"), ColSpec(DataType.float, "f"), ColSpec(DataType.boolean, "b"),
        ColSpec(DataType.datetime, "d"), ColSpec(DataType.binary, "raw"), ColSpec(Array(DataType.long), "arr"),
        ColSpec(Object([Property("a", DataType.string), Property("c", Array(DataType.double), required=False)]),
                "obj"),
        ColSpec(Array(Object([Property("k", DataType.integer, required=False)])), "objs"),
        ColSpec(Object([Property("p", DataType.double), Property("q", DataType.double)]), "m"),  # the keys seen
    ])
    assert inferred == expected
    assert inferred.input_names() == df.columns

    vectors = spark.createDataFrame([(Vectors.dense([1.0, 2.0]), "a")], ["features", "label"])
    signature = mlcask.models.infer_signature(vectors, pd.Series([0.5]))
    assert signature.inputs == Schema([ColSpec(SparkMLVector(), "features"), ColSpec(DataType.string, "label")])
    assert signature.inputs.to_dict()[0]["type"] == "sparkml_vector"


def test_spark_types_without_a_signature_type_are_refused(spark):
    from pyspark.sql import types as T

    from mlcask.types.spark_inference import spark_column_type, spark_frame_schema

    with pytest.raises(InvalidArgumentError, match="Unsupported Spark Type .*DecimalType"):
        spark_column_type(T.DecimalType(10, 2))
    with pytest.raises(MlcaskException, match="without data and column name"):
        spark_column_type(T.MapType(T.StringType(), T.LongType()))
    nested = spark.createDataFrame([({"a": {"b": 1}},)], "m map<string, map<string, int>>")
    with pytest.raises(MlcaskException, match="construct spark DataFrame with schema using StructType"):
        spark_frame_schema(nested)
    # infer_signature falls back to Any for data it cannot type (as for any other input)
    decimal = spark.sql("SELECT CAST(1 AS DECIMAL(10, 2)) AS d")
    assert mlcask.models.infer_signature(decimal).inputs == Schema([ColSpec(mlcask.types.AnyType())])


def test_a_spark_dataframe_is_enforced_on_a_sample_and_keeps_the_schema_columns(spark, tmp_path):
    import numpy as np

    from mlcask.models.utils import _enforce_schema
    from mlcask.types import TensorSpec

    df = spark.createDataFrame([(1.0, "a", (1, [2.0])), (2.0, "b", None)], "x double, s string, o struct<k: int, v: array<double>>")
    schema = Schema([ColSpec(DataType.double, "x"),
                     ColSpec(Object([Property("k", DataType.integer), Property("v", Array(DataType.double))]), "o")])
    enforced = _enforce_schema(df, schema)
    assert enforced.columns == ["x", "o"] and enforced.count() == 2  # still a Spark DataFrame, extra column dropped
    with pytest.raises(MlcaskException, match=r"Model is missing inputs \['y'\]"):
        _enforce_schema(df, Schema([ColSpec(DataType.double, "y")]))
    with pytest.raises(MlcaskException, match="Incompatible input types"):
        _enforce_schema(df, Schema([ColSpec(DataType.long, "s")]))
    longs = spark.createDataFrame([(1, 2)], "a long, b int")  # a long column is not an int, whatever its values
    with pytest.raises(MlcaskException, match=r"Incompatible input types for column a. Can not safely convert int64"):
        _enforce_schema(longs, Schema([ColSpec(DataType.integer, "a")]))
    assert _enforce_schema(longs, Schema([ColSpec(DataType.long, "b"), ColSpec(DataType.double, "a")])).columns == \
        ["a", "b"]
    with pytest.raises(InvalidInputError, match=r"a pyspark\.sql\.DataFrame is not accepted by predict; call "
                                                r"\.toPandas\(\) .*spark_udf \(the model takes tensors\)"):
        _enforce_schema(df, Schema([TensorSpec(np.dtype("float64"), (-1, 1))]))

    class Columns(mlcask.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return list(model_input.columns)

    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Columns(),
                             signature=mlcask.models.ModelSignature(inputs=Schema([ColSpec(DataType.double, "x")])))
    assert mlcask.pyfunc.load_model(tmp_path / "m").predict(df) == ["x"]


def test_other_inputs_name_their_type_qualified():
    from mlcask.models.utils import _enforce_schema

    class Frame:  # a class named like a DataFrame that is not one
        pass

    with pytest.raises(InvalidInputError, match=r"Found: .*test_spark_inference\..*Frame\b"):
        _enforce_schema(Frame(), Schema([ColSpec(DataType.double, "x")]))


def test_inference_does_not_import_pyspark():
    code = ("import sys, pandas as pd; from mlcask.types import infer_schema; import mlcask.models.enforcement; "
            "infer_schema(pd.DataFrame({'a': [1.0]})); assert 'pyspark' not in sys.modules, 'pyspark imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
