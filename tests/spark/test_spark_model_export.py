"""mlcask.spark: save, load and log Spark ML models in MLflow's layout; the pyfunc wrapper."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

import mlcask
import mlcask.pyfunc
import mlcask.spark
from mlcask.exceptions import InvalidArgumentError, ModelFormatError, UnsafeModelError
from mlcask.models.integrity import ModelIntegrityError
from mlcask.models.signature import ModelSignature
from mlcask.types.schema import Array, ColSpec, DataType, Schema, SparkMLVector

pytestmark = pytest.mark.spark

TRAIN = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 0.5, 2.5], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0],
                      "label": [0.0, 0.0, 1.0, 1.0, 0.0, 1.0]})
TEST = pd.DataFrame({"a": [0.0, 3.0, 1.5], "b": [1.0, 0.0, 0.5]})


@pytest.fixture(scope="module")
def pipeline_model(spark):
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import VectorAssembler

    stages = [VectorAssembler(inputCols=["a", "b"], outputCol="features"), LogisticRegression(maxIter=5)]
    return Pipeline(stages=stages).fit(spark.createDataFrame(TRAIN))


@pytest.fixture(scope="module")
def features(spark):
    """TRAIN's features as an ``array<double>`` column and as a vector column."""
    from pyspark.ml.functions import array_to_vector

    arrays = pd.DataFrame({"features": [[a, b] for a, b in zip(TRAIN.a, TRAIN.b)], "label": TRAIN.label})
    vectors = spark.createDataFrame(arrays).withColumn("features", array_to_vector("features"))
    return arrays, vectors


def _predictions(model, spark, frame, column="prediction"):
    return [row[0] for row in model.transform(spark.createDataFrame(frame)).select(column).collect()]


def test_pipeline_round_trip_in_mlflows_layout(pipeline_model, spark, tmp_path):
    info = mlcask.spark.save_model(pipeline_model, tmp_path / "m", input_example=TEST.head(2))
    folder = tmp_path / "m"
    meta = yaml.safe_load((folder / "MLmodel").read_text())
    import pyspark

    assert meta["flavors"]["spark"] == {"pyspark_version": pyspark.__version__, "model_data": "sparkml",
                                        "model_class": "pyspark.ml.pipeline.PipelineModel", "code": None}
    pyfunc_conf = meta["flavors"]["python_function"]
    assert (pyfunc_conf["loader_module"], pyfunc_conf["data"]) == ("mlflow.spark", "sparkml")
    assert any(p.name == "metadata" for p in (folder / "sparkml").iterdir())
    assert f"pyspark=={pyspark.__version__}" in (folder / "requirements.txt").read_text().splitlines()
    # The signature inferred from the example, as MLflow infers it: its columns, one unnamed output.
    assert info.signature == ModelSignature(Schema([ColSpec(DataType.double, "a"), ColSpec(DataType.double, "b")]),
                                            Schema([ColSpec(DataType.double)]))
    assert json.loads((folder / "input_example.json").read_text())["columns"] == ["a", "b"]

    loaded = mlcask.spark.load_model(folder)
    assert [type(s).__name__ for s in loaded.stages] == ["VectorAssembler", "LogisticRegressionModel"]
    expected = _predictions(pipeline_model, spark, TEST)
    assert _predictions(loaded, spark, TEST) == expected
    pyfunc_model = mlcask.pyfunc.load_model(folder)
    assert pyfunc_model.predict(TEST) == expected
    assert type(pyfunc_model.get_raw_model()).__name__ == "PipelineModel"


def test_single_model_is_saved_as_a_one_stage_pipeline(features, spark, tmp_path):
    from pyspark.ml.classification import LogisticRegression

    arrays, vectors = features
    model = LogisticRegression(maxIter=5).fit(vectors)
    mlcask.spark.save_model(model, tmp_path / "m")
    loaded = mlcask.spark.load_model(tmp_path / "m")
    assert [type(s).__name__ for s in loaded.stages] == ["LogisticRegressionModel"]
    expected = [row.prediction for row in model.transform(vectors).collect()]
    # pyfunc takes the features as arrays of doubles (the last stage's featuresCol becomes a vector).
    assert mlcask.pyfunc.load_model(tmp_path / "m").predict(arrays[["features"]]) == expected


def test_vector_output_and_vector_input_from_the_signature(features, spark, tmp_path):
    from pyspark.ml.classification import LogisticRegression

    arrays, vectors = features
    model = LogisticRegression(maxIter=5, featuresCol="x").setProbabilityCol("prediction").setPredictionCol("")
    model = model.fit(vectors.withColumnRenamed("features", "x"))
    inputs = arrays[["features"]].rename(columns={"features": "x"})
    info = mlcask.spark.save_model(model, tmp_path / "inferred", input_example=inputs.head(2))
    assert info.signature.outputs == Schema([ColSpec(SparkMLVector())])
    assert info.signature.inputs == Schema([ColSpec(Array(DataType.double), "x")])

    signature = ModelSignature(Schema([ColSpec(SparkMLVector(), "x")]), Schema([ColSpec(SparkMLVector())]))
    mlcask.spark.save_model(model, tmp_path / "given", signature=signature)
    expected = [row.prediction.toArray().tolist()
                for row in model.transform(vectors.withColumnRenamed("features", "x")).collect()]
    for name in ("inferred", "given"):
        got = mlcask.pyfunc.load_model(tmp_path / name).predict(inputs)
        assert all(isinstance(v, list) and all(isinstance(x, float) for x in v) for v in got)
        assert [pytest.approx(v) for v in got] == expected
    # Without a signature saying so, vectors stay pyspark's vectors, as in MLflow.
    from pyspark.ml.linalg import DenseVector

    mlcask.spark.save_model(model, tmp_path / "unsigned")
    got = mlcask.pyfunc.load_model(tmp_path / "unsigned").predict(inputs)
    assert all(isinstance(v, DenseVector) for v in got)
    assert [pytest.approx(v.toArray().tolist()) for v in got] == expected


def test_a_transformer_writes_its_output_as_prediction(spark, tmp_path):
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import Binarizer, VectorAssembler

    model = Pipeline(stages=[Binarizer(threshold=1.0, inputCol="a", outputCol="big")]).fit(spark.createDataFrame(TEST))
    mlcask.spark.save_model(model, tmp_path / "binarizer")
    assert mlcask.pyfunc.load_model(tmp_path / "binarizer").predict(TEST) == [0.0, 1.0, 1.0]
    assembler = VectorAssembler(inputCols=["a", "b"], outputCol="features")  # a bare transformer
    mlcask.spark.save_model(assembler, tmp_path / "assembler")
    expected = _predictions(assembler, spark, TEST, column="features")
    assert mlcask.pyfunc.load_model(tmp_path / "assembler").predict(TEST) == expected
    assert assembler.getOutputCol() == "features"  # the saved model changed, not the caller's


def test_log_model_loads_by_runs_and_models_uris(pipeline_model, spark, tracking, tmp_path):
    expected = _predictions(pipeline_model, spark, TEST)
    with mlcask.start_run() as run:
        info = mlcask.spark.log_model(spark_model=pipeline_model, artifact_path="model",
                                      registered_model_name="spark-clf", input_example=TEST.head(1))
    assert info.model_uri == f"models:/{info.model_id}" and info.flavors["spark"]["model_data"] == "sparkml"
    assert info.registered_model_version == 1 and info.signature is not None
    for uri in (f"runs:/{run.info.run_id}/model", info.model_uri, "models:/spark-clf/1"):
        assert _predictions(mlcask.spark.load_model(uri), spark, TEST) == expected
        assert mlcask.pyfunc.load_model(uri).predict(TEST) == expected
    (tmp_path / "copy").mkdir()
    assert _predictions(mlcask.spark.load_model(info.model_uri, dst_path=tmp_path / "copy"), spark, TEST) == expected
    assert (tmp_path / "copy" / "sparkml").is_dir()  # a models:/ model's files go straight into dst_path


def test_import_does_not_load_pyspark():
    import subprocess
    import sys

    code = "import sys, mlcask.spark; assert 'pyspark' not in sys.modules, 'pyspark imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_not_a_spark_model_is_refused_naming_its_type(pipeline_model, spark, tmp_path):
    from pyspark.ml.classification import LogisticRegression as SparkLogisticRegression
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(InvalidArgumentError, match=r"pyspark.ml.Model or pyspark.ml.Transformer .*"
                                                   r"Got sklearn.linear_model._logistic.LogisticRegression\."):
        mlcask.spark.save_model(LogisticRegression(), tmp_path / "m")
    with pytest.raises(InvalidArgumentError, match=r"Got pyspark.ml.classification.LogisticRegression\."):
        mlcask.spark.save_model(SparkLogisticRegression(), tmp_path / "m")  # an estimator, not fitted
    with pytest.raises(mlcask.MlflowException, match="Examples can not be provided as Spark Dataframe"):
        mlcask.spark.save_model(pipeline_model, tmp_path / "m", input_example=spark.createDataFrame(TEST))
    assert not (tmp_path / "m").exists()


def test_missing_folder_and_missing_data_are_clear_errors(pipeline_model, tmp_path):
    import shutil

    with pytest.raises(mlcask.MlflowException, match="nowhere"):
        mlcask.spark.load_model(tmp_path / "nowhere")
    mlcask.spark.save_model(pipeline_model, tmp_path / "m")
    shutil.rmtree(tmp_path / "m" / "sparkml")
    (tmp_path / "m" / "mlcask-manifest.json").unlink()
    for load in (mlcask.spark.load_model, mlcask.pyfunc.load_model):
        with pytest.raises(ModelFormatError, match=r"Spark ML data folder is missing: expected '.*m/sparkml'"):
            load(tmp_path / "m")


def test_readme_a_custom_python_stage_is_refused_unless_trusted(spark, tmp_path, monkeypatch):
    from pyspark.ml import Pipeline

    from tests.spark.custom_stage import AddOne

    model = Pipeline(stages=[AddOne(inputCol="a", outputCol="prediction")]).fit(spark.createDataFrame(TEST))
    mlcask.spark.save_model(model, tmp_path / "m")
    assert type(mlcask.spark.load_model(tmp_path / "m").stages[0]) is AddOne  # signed here: trusted
    (tmp_path / "m" / "mlcask-manifest.json").unlink()  # unsigned now, as a folder from elsewhere
    monkeypatch.delenv("MLCASK_ALLOW_PICKLE", raising=False)
    for load in (mlcask.spark.load_model, mlcask.pyfunc.load_model):
        with pytest.raises(UnsafeModelError, match=r"'tests\.spark\.custom_stage\.AddOne'.*allow_pickle=True"):
            load(tmp_path / "m")
    loaded = mlcask.spark.load_model(tmp_path / "m", allow_pickle=True)
    assert [type(s).__name__ for s in loaded.stages] == ["AddOne"]
    assert mlcask.pyfunc.load_model(tmp_path / "m", allow_pickle=True).predict(TEST) == [1.0, 4.0, 2.5]


def test_changed_sparkml_file_is_refused(pipeline_model, tmp_path):
    mlcask.spark.save_model(pipeline_model, tmp_path / "m")
    metadata = next(p for p in (tmp_path / "m" / "sparkml" / "metadata").iterdir() if p.name.startswith("part-"))
    metadata.write_text(metadata.read_text().replace("PipelineModel", "PipelineModeX"))
    with pytest.raises(ModelIntegrityError, match="changed file 'sparkml/metadata/part-"):
        mlcask.spark.load_model(tmp_path / "m")


def test_malformed_metadata_is_a_format_error(pipeline_model, tmp_path):
    """Unsigned folders (as from elsewhere) whose pipeline metadata names no class, a stage
    uid that leads out of the model, or hides behind a compression suffix."""
    mlcask.spark.save_model(pipeline_model, tmp_path / "m")
    (tmp_path / "m" / "mlcask-manifest.json").unlink()
    metadata = next(p for p in (tmp_path / "m" / "sparkml" / "metadata").iterdir() if p.name.startswith("part-"))
    text = metadata.read_text()
    original = json.loads(text)
    escaping = {**original, "paramMap": {"stageUids": [original["paramMap"]["stageUids"][0], "../../../../tmp/x"]}}
    for content, message in (("{}\n", "names no class"), ("not json\n", "is not JSON"),
                             (json.dumps(escaping), r"stage uid '\.\./\.\./\.\./\.\./tmp/x', which is not a plain name")):
        metadata.write_text(content)
        with pytest.raises(ModelFormatError, match=message):
            mlcask.spark.load_model(tmp_path / "m")
    metadata.write_text(text)
    mlcask.spark.load_model(tmp_path / "m")  # as saved: loads (pyspark.ml classes, no manifest needed)
    metadata.rename(metadata.with_name(metadata.name + ".gz"))
    with pytest.raises(ModelFormatError, match="is compressed"):
        mlcask.spark.load_model(tmp_path / "m")
    metadata.with_name(metadata.name + ".gz").rename(metadata)
    metadata.write_text(text.replace("PipelineModel", "PipelineModeI"))  # Spark's own checksum fails now
    with pytest.raises(ModelFormatError, match=r"Spark ML could not load the model in '.*sparkml': .*Checksum"):
        mlcask.spark.load_model(tmp_path / "m")


def test_bad_input_is_a_clear_error_on_the_driver(pipeline_model, tmp_path):
    mlcask.spark.save_model(pipeline_model, tmp_path / "m")  # no signature: Spark itself finds the problem
    model = mlcask.pyfunc.load_model(tmp_path / "m")
    with pytest.raises(mlcask.MlflowException, match=r"could not score the input: .*No such struct field `b`") \
            as raised:
        model.predict(TEST[["a"]])
    assert "\tat org.apache" not in str(raised.value)  # no JVM stack trace
    with pytest.raises(mlcask.MlflowException, match=r"could not score the input: .*Data type"):
        model.predict(pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"]}))
