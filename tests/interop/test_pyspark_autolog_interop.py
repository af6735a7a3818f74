"""pyspark.ml autologging against MLflow 3.17's: the same nested pipeline (with post-training
evaluations) and CrossValidator, autologged by each, log the same params, tags, metrics,
artifacts, datasets, child runs and models. One MLflow child process (one Spark start-up)."""

from __future__ import annotations

import textwrap

import pytest

import mlcask.pyspark.ml
from tests.spark_session import child_session_code
from tests.support import run_scenario_both_ways

pytestmark = [pytest.mark.spark, pytest.mark.interop]

SCENARIO = """
{imports}
from pyspark.sql import SparkSession
spark = SparkSession.getActiveSession()
if spark is None:
SESSION
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator, RegressionEvaluator
from pyspark.ml.feature import HashingTF, Tokenizer
from pyspark.ml.linalg import Vectors
from pyspark.ml.regression import LinearRegression
from pyspark.ml.tuning import CrossValidator, ParamGridBuilder

mlflow.set_tracking_uri("{uri}")
autolog_module.autolog(log_input_examples=True)
client = mlflow.MlflowClient()
texts = spark.createDataFrame([(0, "a b c d e spark", 1.0), (1, "b d", 0.0), (2, "spark f g h", 1.0),
                               (3, "hadoop mapreduce", 0.0)] * 4, ["id", "text", "label"])
vectors = spark.createDataFrame([(float(i % 2), Vectors.dense(float(i % 2) + 0.1 * i, float(i % 3)))
                                 for i in range(12)], ["label", "features"])

with mlflow.start_run() as pipeline_run:
    inner = Pipeline(stages=[HashingTF(inputCol="words", outputCol="features", numFeatures=32),
                             LogisticRegression(maxIter=3, regParam=0.01)])
    model = Pipeline(stages=[Tokenizer(inputCol="text", outputCol="words"), inner]).fit(texts)
    evaluator = MulticlassClassificationEvaluator(metricName="accuracy")
    eval_df = texts.limit(8)
    predictions = model.transform(eval_df)
    evaluator.evaluate(predictions)
    evaluator.evaluate(predictions)
    evaluator.evaluate(predictions, params=dict([(evaluator.metricName, "f1")]))

lr = LinearRegression(maxIter=5)
search = CrossValidator(estimator=lr, estimatorParamMaps=ParamGridBuilder().addGrid(lr.regParam, [0.0, 10.0]).build(),
                        evaluator=RegressionEvaluator(metricName="rmse"), numFolds=2, seed=1)
with mlflow.start_run() as search_run:
    search.fit(vectors)


def describe(run_id):
    run = client.get_run(run_id)
    params = dict(run.data.params)
    params.pop("seed", None)  # pyspark's default seed is hash(class name): random per process
    experiment = run.info.experiment_id
    # MLflow 3.17's mlflow.spark.log_model writes the model into the run's artifacts (Model._log_v2); a
    # logged model elsewhere: both count as the run's models here (where it lives is mlcask.spark's)
    models = [m.name for m in client.search_logged_models([experiment], "source_run_id = '" + run_id + "'")]
    artifacts = [a for a in client.list_artifacts(run_id)]
    models += [a.path for a in artifacts if a.is_dir and a.path in ("model", "best_model")]
    # the profile is a 5-second approximate count: it depends on the machine's load
    inputs = [(d.dataset.source_type, d.dataset.schema, [t.value for t in d.tags if t.key == "mlflow.data.context"])
              for d in run.inputs.dataset_inputs]
    return dict(params=params, metrics=sorted(run.data.metrics),
                tags=dict((k, v) for k, v in run.data.tags.items() if not k.startswith("mlflow.")
                          or k == "mlflow.autologging"),
                artifacts=sorted(a.path for a in artifacts if a.path not in models),
                models=sorted(models), inputs=sorted(inputs))


def children(run_id):
    found = client.search_runs([search_run.info.experiment_id], "tags.mlflow.parentRunId = '" + run_id + "'")
    return sorted((describe(r.info.run_id) for r in found), key=lambda d: d["params"]["regParam"])


def json_artifact(run_id, path):
    import json
    with open(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path)) as f:
        return json.load(f)


info = mlflow.models.get_model_info("runs:/" + pipeline_run.info.run_id + "/model")
printed = dict(
    pipeline=describe(pipeline_run.info.run_id),
    search=describe(search_run.info.run_id),
    children=children(search_run.info.run_id),
    pipeline_info=json_artifact(pipeline_run.info.run_id, "estimator_info.json"),
    metric_info=json_artifact(pipeline_run.info.run_id, "metric_info.json"),
    search_info=json_artifact(search_run.info.run_id, "estimator_info.json"),
    best=json_artifact(search_run.info.run_id, "best_parameters.json"),
    signature=info.signature.to_dict(),
    example=mlflow.models.Model.load("runs:/" + pipeline_run.info.run_id + "/model").saved_input_example_info,
)
"""


def test_same_pipeline_and_search_log_the_same_as_mlflow(tmp_path, tracking_state, spark):
    session = textwrap.indent(child_session_code(), "    ")
    scenario = SCENARIO.replace("SESSION\n", session)
    # The child runs as `python -c`: its __main__ has no __file__, which pyspark.sql.connect (imported by
    # mlflow.spark) takes for a doctest run and exits the process (status 0) when grpc is missing.
    # MLflow infers each model's requirements by loading it in a child that starts Spark again (tens of
    # seconds per model); the comparison is of what autolog logs, not of requirements, so that step is skipped.
    imports = ("import sys\nsys.modules['__main__'].__file__ = 'scenario.py'\n"
               "import mlflow\nimport mlflow.pyspark.ml as autolog_module\nimport mlflow.utils.environment\n"
               "mlflow.utils.environment._infer_requirements = lambda *args, **kwargs: ['pyspark']",
               "import mlcask as mlflow\nimport mlcask.pyspark.ml as autolog_module")
    theirs, ours = run_scenario_both_ways(scenario, tmp_path, tracking_state, imports=imports,
                                          after=lambda: mlcask.pyspark.ml.autolog(disable=True))
    differences = []
    for key in ("pipeline", "search", "children", "pipeline_info", "metric_info", "search_info", "best",
                "signature", "example"):
        if ours[key] != theirs[key]:
            if isinstance(ours[key], dict) and isinstance(theirs[key], dict):
                differences += [(key, sub, ours[key].get(sub), theirs[key].get(sub))
                                for sub in sorted(set(ours[key]) | set(theirs[key]))
                                if ours[key].get(sub) != theirs[key].get(sub)]
            else:
                differences.append((key, ours[key], theirs[key]))
    assert differences == []
    # the names pinned: MLflow's, whatever both logged
    assert ours["pipeline"]["metrics"] == ["accuracy-2_eval_df", "accuracy_eval_df", "f1_eval_df"]
    assert ours["search"]["models"] == ["best_model", "model"]
    assert "best_LinearRegression.regParam" in ours["search"]["params"]
