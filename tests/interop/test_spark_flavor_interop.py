"""The Spark ML flavor both ways with real MLflow 3.17, in ONE child process (Spark's start-up
is paid once): mlcask's models load in ``mlflow.spark.load_model`` and ``mlflow.pyfunc.load_model``
and predict the same; MLflow's (a pipeline and a single model) load in mlcask and predict the same,
with the same MLmodel layout."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

import mlcask.pyfunc
import mlcask.spark
from bench.mlflow_env import run_in_mlflow
from tests.spark_session import child_session_code

pytestmark = [pytest.mark.spark, pytest.mark.interop]

TRAIN = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 0.5, 2.5], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0],
                      "label": [0.0, 0.0, 1.0, 1.0, 0.0, 1.0]})
TEST = pd.DataFrame({"a": [0.0, 3.0, 1.5, 2.2], "b": [1.0, 0.0, 0.5, 1.0]})

CHILD = """
import json, sys
# pyspark.sql.connect takes a `python -c` main module for its doctests and exits 0 without grpc.
sys.modules["__main__"].__file__ = "spark_interop_child.py"
import pandas as pd
import mlflow.pyfunc, mlflow.spark
folder = {folder!r}
test = pd.DataFrame(json.loads({test!r}))
out = {{}}
# mlcask -> MLflow
native = mlflow.spark.load_model(folder + "/by_mlcask")
out["native"] = [r.prediction for r in native.transform(spark.createDataFrame(test)).select("prediction").collect()]
out["pyfunc"] = [float(v) for v in mlflow.pyfunc.load_model(folder + "/by_mlcask").predict(test)]
single = mlflow.pyfunc.load_model(folder + "/single_by_mlcask")
features = pd.DataFrame({{"features": [[a, b] for a, b in zip(test.a, test.b)]}})
out["single_pyfunc"] = [float(v) for v in single.predict(features)]
out["vector_pyfunc"] = [list(v) for v in mlflow.pyfunc.load_model(folder + "/vector_by_mlcask").predict(features)]
# MLflow -> mlcask: the same models saved by MLflow. Requirements are given: MLflow infers them
# in a subprocess that starts Spark again (and falls back to pyspark alone when that is slow).
mlflow.spark.save_model(native, folder + "/by_mlflow", input_example=test.head(2), pip_requirements=["pyspark"])
mlflow.spark.save_model(native.stages[-1], folder + "/single_by_mlflow", pip_requirements=["pyspark"])
print(json.dumps(out), flush=True)
"""


@pytest.fixture(scope="module")
def pipeline_model(spark):
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import VectorAssembler

    stages = [VectorAssembler(inputCols=["a", "b"], outputCol="features"), LogisticRegression(maxIter=5)]
    return Pipeline(stages=stages).fit(spark.createDataFrame(TRAIN))


def _predictions(model, spark, frame):
    return [row.prediction for row in model.transform(spark.createDataFrame(frame)).select("prediction").collect()]


def test_spark_models_cross_both_ways(pipeline_model, spark, tmp_path):
    expected = _predictions(pipeline_model, spark, TEST)
    mlcask.spark.save_model(pipeline_model, tmp_path / "by_mlcask", input_example=TEST.head(2))
    mlcask.spark.save_model(pipeline_model.stages[-1], tmp_path / "single_by_mlcask")
    # Probabilities as the output: a Spark ML vector in the inferred signature, lists out of pyfunc.
    features = pd.DataFrame({"features": [[a, b] for a, b in zip(TEST.a, TEST.b)]})
    probabilities = pipeline_model.stages[-1].copy().setProbabilityCol("prediction").setPredictionCol("")
    mlcask.spark.save_model(probabilities, tmp_path / "vector_by_mlcask", input_example=features.head(2))
    vectors = mlcask.pyfunc.load_model(tmp_path / "vector_by_mlcask").predict(features)
    assert len(vectors) == len(TEST) and all(isinstance(v, list) and len(v) == 2 for v in vectors)
    code = child_session_code() + CHILD.format(folder=str(tmp_path), test=json.dumps(TEST.to_dict(orient="list")))
    theirs = json.loads(run_in_mlflow(code, cwd=tmp_path).strip().splitlines()[-1])
    # mlcask's models in real MLflow: the same predictions, natively and through pyfunc.
    assert theirs == {"native": expected, "pyfunc": expected, "single_pyfunc": expected, "vector_pyfunc": vectors}

    # MLflow's models in mlcask: the same predictions, the same MLmodel layout and signature.
    assert _predictions(mlcask.spark.load_model(tmp_path / "by_mlflow"), spark, TEST) == expected
    assert mlcask.pyfunc.load_model(tmp_path / "by_mlflow").predict(TEST) == expected
    single = mlcask.pyfunc.load_model(tmp_path / "single_by_mlflow")
    assert [type(s).__name__ for s in single.get_raw_model().stages] == ["LogisticRegressionModel"]
    assert single.predict(features) == expected
    ours, mlflows = (yaml.safe_load((tmp_path / name / "MLmodel").read_text()) for name in ("by_mlcask", "by_mlflow"))
    assert ours["flavors"] == mlflows["flavors"]
    assert ours["signature"] == mlflows["signature"]
    assert ours["saved_input_example_info"] == mlflows["saved_input_example_info"]
