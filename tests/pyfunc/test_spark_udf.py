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


@pytest.fixture(scope="module")
def classifier(frame, tmp_path_factory):
    """A logistic regression, saved twice: predicting labels, and predict_proba (a 2-D array)."""
    from sklearn.linear_model import LogisticRegression

    y = (frame.a + frame.b > 1).astype("int64").rename("label")
    model = LogisticRegression().fit(frame, y)
    root = tmp_path_factory.mktemp("spark-classifier")
    mlcask.sklearn.save_model(model, root / "labels", signature=infer_signature(frame, y))
    mlcask.sklearn.save_model(model, root / "proba", pyfunc_predict_fn="predict_proba",
                              signature=infer_signature(frame, model.predict_proba(frame)))
    return model, root


def test_result_types_inferred_and_requested(spark, frame, classifier):
    model, root = classifier
    labels, proba = str(root / "labels"), str(root / "proba")
    udfs = {
        "inferred_label": mlcask.pyfunc.spark_udf(spark, labels),  # long, from the output column
        "as_double": mlcask.pyfunc.spark_udf(spark, labels, result_type="double"),
        "as_string": mlcask.pyfunc.spark_udf(spark, labels, result_type="string"),
        "all_probas": mlcask.pyfunc.spark_udf(spark, proba, result_type="array<double>"),
        # A (-1, 2) tensor output: one array per row (MLflow infers array<array<double>> and fails).
        "inferred_probas": mlcask.pyfunc.spark_udf(spark, proba),
        "first_proba": mlcask.pyfunc.spark_udf(spark, proba, result_type="float"),
        "struct_probas": mlcask.pyfunc.spark_udf(spark, proba, result_type="p0 double, p1 double"),
    }
    assert udfs["inferred_label"].returnType.simpleString() == "bigint"
    assert udfs["inferred_probas"].returnType.simpleString() == "array<double>"
    assert udfs["struct_probas"].returnType.simpleString() == "struct<p0:double,p1:double>"
    df = spark.createDataFrame(frame)
    out = df.select(*[udf("a", "b", "c").alias(name) for name, udf in udfs.items()]).toPandas()
    expected_labels, expected_proba = model.predict(frame), model.predict_proba(frame)
    assert out.inferred_label.tolist() == expected_labels.tolist()
    assert out.as_double.tolist() == expected_labels.astype(float).tolist()
    assert out.as_string.tolist() == [str(v) for v in expected_labels]
    np.testing.assert_allclose(np.stack(out.all_probas.to_numpy()), expected_proba)
    np.testing.assert_allclose(np.stack(out.inferred_probas.to_numpy()), expected_proba)
    np.testing.assert_allclose(out.first_proba, expected_proba[:, 0], rtol=1e-6)
    np.testing.assert_allclose([[row["p0"], row["p1"]] for row in out.struct_probas], expected_proba)


class TwoOutputs(mlcask.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        scale = (params or {}).get("scale", 1.0)
        return pd.DataFrame({"label": (model_input["a"] > 0.5).astype("int64"), "score": model_input["a"] * scale})


def test_multi_output_model_gives_a_struct_and_params_reach_predict(spark, frame, tmp_path):
    outputs = TwoOutputs().predict(None, frame)
    path = tmp_path / "two"
    mlcask.pyfunc.save_model(path, python_model=TwoOutputs(),
                             signature=infer_signature(frame, outputs, params={"scale": 1.0}))
    udf = mlcask.pyfunc.spark_udf(spark, str(path), params={"scale": 3})  # an int for a double param
    assert udf.returnType.simpleString() == "struct<label:bigint,score:double>"
    out = spark.createDataFrame(frame).select(udf("a", "b", "c").alias("p")).toPandas()
    assert [row["label"] for row in out.p] == outputs.label.tolist()
    np.testing.assert_allclose([row["score"] for row in out.p], frame.a * 3)
    with pytest.raises(MlcaskException, match=r"Invalid parameters found.*scale"):
        mlcask.pyfunc.spark_udf(spark, str(path), params={"scale": "high"})


class TensorModel(mlcask.pyfunc.PythonModel):
    """Takes a (n, 2, 3) tensor; returns x[:, 1, 0], which is element 3 of each row in C order."""

    def predict(self, context, model_input, params=None):
        return model_input[:, 1, 0]


class Unsigned(mlcask.pyfunc.PythonModel):
    """No signature: gets the columns named "0", "1", ...; returns column "1"."""

    def predict(self, context, model_input, params=None):
        return model_input["1"].to_numpy()


def test_tensor_inputs_are_reshaped_and_unsigned_models_get_positional_names(spark, tmp_path, caplog):
    from mlcask.types import Schema, TensorSpec

    tensor = tmp_path / "tensor"
    signature = mlcask.models.ModelSignature(inputs=Schema([TensorSpec(np.dtype("float64"), (-1, 2, 3))]))
    mlcask.pyfunc.save_model(tensor, python_model=TensorModel(), signature=signature)
    unsigned = tmp_path / "unsigned"
    mlcask.pyfunc.save_model(unsigned, python_model=Unsigned(), signature=False)
    tensor_udf = mlcask.pyfunc.spark_udf(spark, str(tensor), result_type="double")
    with caplog.at_level("WARNING"):
        unsigned_udf = mlcask.pyfunc.spark_udf(spark, str(unsigned))
    assert "'result_type' is set to 'double' type" in caplog.text
    rows = [([float(10 * i + j) for j in range(6)], float(i), float(-i)) for i in range(8)]
    df = spark.createDataFrame(rows, "values array<double>, x double, y double")
    out = df.select(tensor_udf("values").alias("t"), unsigned_udf("x", "y").alias("u")).toPandas()
    assert out.t.tolist() == [10.0 * i + 3 for i in range(8)]
    assert out.u.tolist() == [float(-i) for i in range(8)]


def _only_flavor(path, flavor: str) -> None:
    path.mkdir()
    (path / "MLmodel").write_text(f"flavors:\n  {flavor}:\n    data: model\n")


def test_driver_errors_before_any_job(spark, regressor, tmp_path, monkeypatch):
    from mlcask.exceptions import ModelNotFoundError, UnsafeModelError

    path = str(regressor[1])
    with pytest.raises(MlcaskException, match=r"env_manager 'conda' is not supported by mlcask"):
        mlcask.pyfunc.spark_udf(spark, path, env_manager="conda")
    with pytest.raises(MlcaskException, match=r"Invalid value for `env_manager`: pip\. Must be one of"):
        mlcask.pyfunc.spark_udf(spark, path, env_manager="pip")
    for bad in ("date", "map<int, double>", "array<timestamp>"):
        with pytest.raises(MlcaskException, match=r"(?s)Invalid 'spark_udf' result type: .*Primitive types:.*- boolean"):
            mlcask.pyfunc.spark_udf(spark, path, result_type=bad)
    with pytest.raises(MlcaskException, match=r"Invalid 'spark_udf' result type 'array<'.*cannot parse"):
        mlcask.pyfunc.spark_udf(spark, path, result_type="array<")
    with pytest.raises(MlcaskException, match=r"result_type must be a pyspark.sql.types.DataType or a DDL string"):
        mlcask.pyfunc.spark_udf(spark, path, result_type=5)
    _only_flavor(tmp_path / "spark_only", "spark")
    with pytest.raises(MlcaskException, match=r'Model does not have the "python_function" flavor') as info:
        mlcask.pyfunc.spark_udf(spark, str(tmp_path / "spark_only"))
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(ModelNotFoundError):
        mlcask.pyfunc.spark_udf(spark, str(tmp_path / "nowhere"))
    # A custom model saved unsigned runs code at load: refused on the driver, as any load.
    monkeypatch.setenv("MLCASK_SIGNING", "0")
    mlcask.pyfunc.save_model(tmp_path / "unsigned", python_model=Unsigned(), signature=False)
    with pytest.raises(UnsafeModelError, match=r"Refusing to load"):
        mlcask.pyfunc.spark_udf(spark, str(tmp_path / "unsigned"))
    monkeypatch.setenv("MLCASK_ALLOW_PICKLE", "1")  # the caller allows it: the driver loads, workers will too
    unsigned = mlcask.pyfunc.spark_udf(spark, str(tmp_path / "unsigned"), result_type="double")
    with pytest.raises(MlcaskException, match=r"Attempting to apply udf on zero columns"):
        unsigned()


def test_bad_columns_fail_with_one_line_naming_the_column(spark, frame, regressor):
    from pyspark.errors import PythonException

    udf = mlcask.pyfunc.spark_udf(spark, str(regressor[1]))
    strings = spark.createDataFrame(frame.head(4).astype({"b": str}))
    with pytest.raises(PythonException) as info:
        strings.select(udf("a", "b", "c")).collect()
    last = str(info.value).strip().splitlines()[-1]
    assert "spark_udf: the input columns do not match the model's signature" in last
    assert "column b" in last and "double" in last and "str" in last, last
    # One column that may have been a struct: only the task can tell it is too few.
    with pytest.raises(PythonException, match=r"Missing: \['b', 'c'\]"):
        strings.select(udf("a")).collect()


def test_runs_and_models_uris_resolve_on_the_driver(spark, frame, tracking):
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(frame, frame.a)
    with mlcask.start_run() as run:
        mlcask.sklearn.log_model(model, name="model", registered_model_name="spark-udf-model",
                                 signature=infer_signature(frame, frame.a.rename("y")))
    by_run = mlcask.pyfunc.spark_udf(spark, f"runs:/{run.info.run_id}/model")
    by_version = mlcask.pyfunc.spark_udf(spark, "models:/spark-udf-model/1")
    out = spark.createDataFrame(frame).select(by_run().alias("r"), by_version().alias("v")).toPandas()
    np.testing.assert_allclose(out.r, model.predict(frame))
    np.testing.assert_allclose(out.v, model.predict(frame))


class StructsAndTensors(mlcask.pyfunc.PythonModel):
    """Per row: a list of (a, b) tuples and a Row, or (GRID set) a fixed 2x3 tensor."""

    def predict(self, context, model_input, params=None):
        from pyspark.sql import Row

        if os.environ.get("GRID"):
            return list(np.arange(6, dtype="float64").reshape(1, 2, 3).repeat(len(model_input), axis=0))
        return {"pairs": [[(int(i), "x"), Row(a=7, b="y")] for i in model_input["id"]]}


def test_signature_of_a_spark_dataframe_and_tuple_structs_and_fixed_tensors(spark, tmp_path):
    from mlcask.types import Schema, TensorSpec

    data = spark.createDataFrame([(1, "p", [1.0], {"k": 2.0})], "id long, s string, v array<double>, m map<string, double>")
    inputs = infer_signature(data).inputs
    assert inputs.input_names() == ["id", "s", "v", "m"]
    assert [t.to_dict() for t in inputs.inputs[2:]] == [
        {"type": "array", "items": {"type": "double"}, "name": "v", "required": True},
        {"type": "object", "properties": {"k": {"type": "double", "required": True}}, "name": "m", "required": True}]
    pairs = pd.DataFrame({"pairs": [[{"a": 1, "b": "x"}]]})
    mlcask.pyfunc.save_model(tmp_path / "pairs", python_model=StructsAndTensors(),
                             signature=infer_signature(data.select("id"), pairs))
    grid = mlcask.models.ModelSignature(inputs=Schema([TensorSpec(np.dtype("int64"), (-1,))]),
                                        outputs=Schema([TensorSpec(np.dtype("float64"), (2, 3))]))
    mlcask.pyfunc.save_model(tmp_path / "grid", python_model=StructsAndTensors(), signature=grid)
    pairs_udf = mlcask.pyfunc.spark_udf(spark, str(tmp_path / "pairs"))
    grid_udf = mlcask.pyfunc.spark_udf(spark, str(tmp_path / "grid"), extra_env={"GRID": "1"})
    result = spark.range(2).select(pairs_udf("id").alias("pairs"), grid_udf("id").alias("grid"))
    assert result.schema.simpleString() == "struct<pairs:array<struct<a:bigint,b:string>>,grid:array<array<double>>>"
    rows = result.collect()
    assert [[(p.a, p.b) for p in row.pairs] for row in rows] == [[(0, "x"), (7, "y")], [(1, "x"), (7, "y")]]
    assert rows[1].grid == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_the_shipped_archive_holds_the_folders_files_not_what_links_point_at(spark, tmp_path):
    import zipfile

    from pyspark import SparkFiles

    from mlcask.pyfunc.spark_cache import ship_model

    folder = tmp_path / "model"
    (folder / "data").mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}\n")
    (folder / "data" / "weights.bin").write_bytes(b"w")
    secret = tmp_path / "secret"
    (secret / "inner").mkdir(parents=True)
    (secret / "key.txt").write_text("private")
    (secret / "inner" / "more.txt").write_text("private")
    (folder / "link.txt").symlink_to(secret / "key.txt")
    (folder / "linked_dir").symlink_to(secret, target_is_directory=True)
    name = ship_model(spark, folder)
    assert ship_model(spark, folder) == name  # shipped once per application
    with zipfile.ZipFile(SparkFiles.get(name)) as archive:
        assert sorted(archive.namelist()) == ["MLmodel", "data/weights.bin"]
