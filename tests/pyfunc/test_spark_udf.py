"""mlcask.pyfunc.spark_udf on the session's local[2] SparkSession: how the udf takes columns,
the result types, params, the model loaded once per worker, and errors on the driver.

Each test runs one or two small Spark jobs (several udf columns in one select)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

import mlcask
from mlcask.exceptions import MlcaskException
from mlcask.models import infer_signature

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.random((60, 3)), columns=["a", "b", "c"])


@pytest.fixture(scope="module")
def regressor(frame, tmp_path_factory):
    """A linear regression saved with a column signature (output: one double column)."""
    from sklearn.linear_model import LinearRegression

    y = pd.Series(frame.a * 2 + frame.b - frame.c, name="y")
    model = LinearRegression().fit(frame, y)
    path = tmp_path_factory.mktemp("spark") / "regressor"
    mlcask.sklearn.save_model(model, path, signature=infer_signature(frame, y))
    return model, path


class LoadCounter(mlcask.pyfunc.PythonModel):
    """Writes its process id to a file at each load; predicts a + OFFSET (from the environment)."""

    def __init__(self, log: str) -> None:
        self.log = log

    def load_context(self, context):
        with open(self.log, "a") as handle:
            handle.write(f"{os.getpid()}\n")

    def predict(self, context, model_input, params=None):
        return model_input["a"] + float(os.environ.get("SPARK_UDF_TEST_OFFSET", "0"))


def test_columns_struct_and_no_arguments_name_inputs_from_the_signature(spark, frame, regressor):
    from pyspark.sql.functions import col, struct

    model, path = regressor
    udf = mlcask.pyfunc.spark_udf(spark, str(path))
    assert udf.returnType.simpleString() == "double"  # inferred from the output column
    # Renamed Spark columns: the udf names its arguments from the signature, by position.
    df = spark.createDataFrame(frame.rename(columns={"a": "x", "b": "y", "c": "z"}))
    out = df.select(udf("x", "y", "z").alias("by_position"),
                    udf(struct(col("z").alias("c"), col("x").alias("a"), col("y").alias("b"))).alias("by_struct"),
                    ).toPandas()
    expected = model.predict(frame)
    np.testing.assert_allclose(out.by_position, expected)
    np.testing.assert_allclose(out.by_struct, expected)
    named = spark.createDataFrame(frame).select(udf().alias("p")).toPandas()
    np.testing.assert_allclose(named.p, expected)


def test_model_loads_once_per_python_worker_with_extra_env(spark, frame, tmp_path):
    log = tmp_path / "loads.txt"
    path = tmp_path / "counter"
    mlcask.pyfunc.save_model(path, python_model=LoadCounter(str(log)),
                             signature=infer_signature(frame, frame.a.rename("out")))
    udf = mlcask.pyfunc.spark_udf(spark, str(path), extra_env={"SPARK_UDF_TEST_OFFSET": "10"})
    driver_loads = log.read_text().split()
    assert driver_loads == [str(os.getpid())]  # the driver loaded it once, to check it
    # 12 partitions of 5 rows, each its own Arrow batch, over local[2]'s reused Python workers.
    df = spark.createDataFrame(frame).repartition(12)
    out = df.select("a", udf("a", "b", "c").alias("p")).toPandas()
    np.testing.assert_allclose(out.p, out.a + 10)
    worker_loads = log.read_text().split()[1:]
    # Each Python worker loaded it once, however many of the 12 tasks it ran (Spark keeps a few
    # idle workers from earlier jobs, so there may be more workers than cores).
    assert worker_loads and len(worker_loads) == len(set(worker_loads)) < 12, worker_loads
    assert "SPARK_UDF_TEST_OFFSET" not in os.environ


def test_too_few_columns_fail_on_the_driver_naming_the_missing_ones(spark, regressor):
    udf = mlcask.pyfunc.spark_udf(spark, str(regressor[1]))
    with pytest.raises(MlcaskException, match=r"missing required columns.*Missing: \['c'\]"):
        udf("a", "b")
