"""mlcask.pyspark.ml.autolog: what an Estimator.fit logs (params, tags, child runs, post-training
metrics, datasets, the model), what it keeps out (allowlist, size limit), and that it is off by
default and reverts its patches. Few, small Spark jobs: every fit here is on 12-16 rows."""

from __future__ import annotations

import json
import math
import warnings

import pandas as pd
import pytest

import mlcask
import mlcask.pyspark.ml
from tests.support import artifact, logged_models

pytestmark = pytest.mark.spark


@pytest.fixture
def tracking(tracking):
    """The shared SQLite store, with pyspark.ml autologging off before and after. Before: an earlier
    test's mlcask.autolog() turns pyspark.ml on when it is first imported, so import it, then disable."""
    import pyspark.ml  # noqa: F401

    mlcask.pyspark.ml.autolog(disable=True)
    yield tracking
    mlcask.pyspark.ml.autolog(disable=True)


@pytest.fixture(scope="module")
def vectors(spark):
    from pyspark.ml.linalg import Vectors

    rows = [(float(i % 2), Vectors.dense(float(i % 2) + 0.1 * i, float(i % 3))) for i in range(12)]
    return spark.createDataFrame(rows, ["label", "features"]).cache()


@pytest.fixture(scope="module")
def texts(spark):
    rows = [(0, "a b c d e spark", 1.0), (1, "b d", 0.0), (2, "spark f g h", 1.0), (3, "hadoop mapreduce", 0.0)]
    return spark.createDataFrame(rows * 4, ["id", "text", "label"]).cache()


def _runs():
    return mlcask.search_runs(output_format="list", order_by=["attributes.start_time ASC"])


def _json(run, path):
    return json.loads(artifact(run, path))


def _user_tags(run):
    return {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}


def _our_warnings(record):
    return [str(w.message) for w in record if "pyspark.ml autologging" in str(w.message)]


def test_off_by_default_and_disable_restores_the_originals(tracking, vectors):
    from pyspark.ml.base import Estimator, Model
    from pyspark.ml.evaluation import Evaluator
    from pyspark.ml.regression import LinearRegression

    originals = (Estimator.__dict__["fit"], Model.__dict__.get("transform"), Evaluator.__dict__["evaluate"])
    LinearRegression(maxIter=1).fit(vectors)
    assert _runs() == []  # nothing until autolog() is called

    mlcask.pyspark.ml.autolog(log_models=False, log_datasets=False)
    assert getattr(Estimator.fit, "__mlcask_patched__", False)
    assert getattr(Model.transform, "__mlcask_patched__", False)
    mlcask.pyspark.ml.autolog(disable=True)
    assert (Estimator.__dict__["fit"], Model.__dict__.get("transform"), Evaluator.__dict__["evaluate"]) == originals
    LinearRegression(maxIter=1).fit(vectors)
    assert _runs() == []


def test_nested_pipeline_params_tags_metrics_datasets_and_model(tracking, texts):
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.evaluation import MulticlassClassificationEvaluator
    from pyspark.ml.feature import HashingTF, Tokenizer

    mlcask.pyspark.ml.autolog(log_input_examples=True, log_model_max_size=0, extra_tags={"team": "ml"})
    tokenizer = Tokenizer(inputCol="text", outputCol="words")
    inner = Pipeline(stages=[HashingTF(inputCol="words", outputCol="features", numFeatures=32),
                             LogisticRegression(maxIter=3, regParam=0.01)])
    model = Pipeline(stages=[tokenizer, inner]).fit(texts)

    evaluator = MulticlassClassificationEvaluator(metricName="accuracy")
    eval_df = texts.limit(8)
    accuracy = evaluator.evaluate(model.transform(eval_df))
    predictions = model.transform(eval_df)
    evaluator.evaluate(predictions)  # the same metric again: accuracy-2
    f1 = evaluator.evaluate(predictions, params={evaluator.metricName: "f1"})
    eval_df = texts.limit(4)  # another DataFrame under the same name: eval_df-2
    evaluator.evaluate(model.transform(eval_df))

    (run,) = _runs()
    params = run.data.params
    assert params["stages"] == "['Tokenizer', 'Pipeline_2']"
    assert params["Pipeline_2.stages"] == "['HashingTF', 'LogisticRegression']"
    assert params["Tokenizer.inputCol"] == "text" and params["HashingTF.numFeatures"] == "32"
    assert params["LogisticRegression.maxIter"] == "3" and params["LogisticRegression.regParam"] == "0.01"
    assert params["LogisticRegression.tol"] == "1e-06"  # defaults too
    assert _user_tags(run) == {"estimator_name": "Pipeline", "estimator_class": "pyspark.ml.pipeline.Pipeline",
                               "team": "ml"}
    assert run.data.tags["mlflow.autologging"] == "pyspark.ml"
    assert _json(run, "estimator_info.json") == {"hierarchy": {"name": "Pipeline_1", "stages": [
        {"name": "Tokenizer"}, {"name": "Pipeline_2", "stages": [{"name": "HashingTF"}, {"name": "LogisticRegression"}]}]}}

    metrics = run.data.metrics
    assert set(metrics) == {"accuracy_eval_df", "accuracy-2_eval_df", "f1_eval_df", "accuracy-3_eval_df-2"}
    assert math.isclose(metrics["accuracy_eval_df"], accuracy) and math.isclose(metrics["f1_eval_df"], f1)
    info = _json(run, "metric_info.json")
    assert list(info) == sorted(metrics)
    assert info["f1_eval_df"]["evaluator_class"] == "pyspark.ml.evaluation.MulticlassClassificationEvaluator"
    assert info["f1_eval_df"]["params"]["metricName"] == "f1"
    contexts = [[t.value for t in d.tags if t.key == "mlflow.data.context"][0] for d in run.inputs.dataset_inputs]
    assert contexts[0] == "train" and set(contexts[1:]) == {"eval"}
    train = run.inputs.dataset_inputs[0].dataset
    # a count approximated within 5 s, as MLflow's: "unknown" when a loaded machine got no estimate in time
    assert train.source_type == "code" and json.loads(train.profile)["approx_count"] in (16, "unknown")
    assert [c["name"] for c in json.loads(train.schema)["mlflow_colspec"]] == ["id", "text", "label"]

    (logged,) = logged_models(run)
    assert logged.name == "model"
    uri = f"runs:/{run.info.run_id}/model"
    info = mlcask.models.get_model_info(uri)
    assert info.signature.inputs.to_dict() == [{"type": "string", "name": "text", "required": True}]
    assert info.signature.outputs.to_dict() == [{"type": "double", "required": True}]
    loaded = mlcask.spark.load_model(uri)
    # the model is logged as fitted (a copy: a nested PipelineModel's copy gets a new uid, as in MLflow)
    assert [type(stage).__name__ for stage in loaded.stages] == ["Tokenizer", "PipelineModel"]
    assert loaded.stages[0].uid == tokenizer.uid and loaded.stages[1].stages[1].uid == model.stages[1].stages[1].uid
    example = pd.DataFrame({"text": ["spark f g", "hadoop"]})
    expected = model.transform(texts.sparkSession.createDataFrame(example)).select("prediction").toPandas()
    predicted = mlcask.pyfunc.load_model(uri).predict(example)
    assert list(predicted) == list(expected["prediction"])


def test_cross_validator_child_runs_best_params_and_models(tracking, vectors):
    from pyspark.ml.evaluation import RegressionEvaluator
    from pyspark.ml.regression import LinearRegression
    from pyspark.ml.tuning import CrossValidator, ParamGridBuilder

    mlcask.pyspark.ml.autolog(log_model_max_size=0, log_datasets=False, registered_model_name="spark-search")
    lr = LinearRegression(maxIter=5)
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.0, 10.0]).build()
    search = CrossValidator(estimator=lr, estimatorParamMaps=grid, evaluator=RegressionEvaluator(metricName="rmse"),
                            numFolds=2, parallelism=2, seed=1)
    with mlcask.start_run() as parent:
        model = search.fit(vectors)

    runs = _runs()
    assert len(runs) == 3  # the search and one child per param map: the candidates' own fits log nothing
    parent_run = mlcask.get_run(parent.info.run_id)
    params = parent_run.data.params
    assert params["estimator"] == "LinearRegression" and params["evaluator"] == "RegressionEvaluator"
    assert params["numFolds"] == "2" and params["RegressionEvaluator.metricName"] == "rmse"
    assert "estimatorParamMaps" not in params and "LinearRegression.maxIter" not in params
    assert params["best_LinearRegression.regParam"] == "0.0"  # the smaller rmse: no regularization here
    assert _json(parent_run, "best_parameters.json") == {"LinearRegression.regParam": 0.0}
    info = _json(parent_run, "estimator_info.json")
    assert info["hierarchy"] == {"name": "CrossValidator", "evaluator": {"name": "RegressionEvaluator"},
                                 "tuned_estimator": {"name": "LinearRegression"}}
    assert info["CrossValidator"]["tuning_parameter_map_list"] == [{"LinearRegression.regParam": 0.0},
                                                                   {"LinearRegression.regParam": 10.0}]
    assert info["CrossValidator"]["tuned_estimator_parameter_map"]["LinearRegression.maxIter"] == 5
    results = pd.read_csv(pd.io.common.BytesIO(artifact(parent_run, "search_results.csv")))
    assert list(results.columns) == ["params", "avg_rmse", "std_rmse", "param.LinearRegression.regParam"]
    assert results["avg_rmse"].tolist() == pytest.approx(model.avgMetrics)

    children = sorted((r for r in runs if r.info.run_id != parent.info.run_id), key=lambda r: r.data.params["regParam"])
    for index, child in enumerate(children):
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.tags["mlflow.autologging"] == "pyspark.ml"
        assert _user_tags(child) == {"estimator_name": "LinearRegression",
                                     "estimator_class": "pyspark.ml.regression.LinearRegression"}
        assert child.data.params["maxIter"] == "5"
        assert child.data.metrics["avg_rmse"] == pytest.approx(model.avgMetrics[index])
        assert child.data.metrics["std_rmse"] == pytest.approx(model.stdMetrics[index])
    assert [c.data.params["regParam"] for c in children] == ["0.0", "10.0"]
    assert sorted(m.name for m in logged_models(parent_run)) == ["best_model", "model"]
    signature = mlcask.models.get_model_info(f"runs:/{parent.info.run_id}/model").signature
    assert signature.inputs.to_dict() == [{"type": "sparkml_vector", "name": "features", "required": True}]
    assert signature.outputs.to_dict() == [{"type": "double", "required": True}]
    (version,) = mlcask.MlflowClient().search_model_versions("name = 'spark-search'")
    assert version.model_id == {m.name: m.model_id for m in logged_models(parent_run)}["model"]  # not best_model
    best = mlcask.spark.load_model(f"runs:/{parent.info.run_id}/best_model")
    assert best.stages[0].uid == model.bestModel.uid


def test_model_over_the_size_limit_is_not_logged(tracking, vectors, monkeypatch):
    from pyspark.ml.classification import LogisticRegression

    from mlcask.exceptions import MlcaskException

    with pytest.raises(MlcaskException, match="`log_model_max_size` must be a number of bytes >= 0"):
        mlcask.pyspark.ml.autolog(log_model_max_size=-1)
    monkeypatch.setenv("MLCASK_PYSPARK_ML_LOG_MODEL_MAX_SIZE", "100")  # bytes: any model is bigger
    mlcask.pyspark.ml.autolog(log_datasets=False, log_post_training_metrics=False)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model = LogisticRegression(maxIter=2).fit(vectors)
    (run,) = _runs()
    assert logged_models(run) == []
    tag = run.data.tags["mlcask.autologging.modelNotLogged"]
    assert tag.startswith("model (") and tag.endswith("over the log_model_max_size limit of 100 bytes")
    (message,) = _our_warnings(record)
    assert "not logging model (" in message and "MLCASK_PYSPARK_ML_LOG_MODEL_MAX_SIZE" in message
    assert model.transform(vectors).count() == 12  # training itself is untouched
    assert run.data.params["maxIter"] == "2"


def test_allowlist_keeps_other_models_out(tracking, vectors, caplog, tmp_path):
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import StandardScaler

    from mlcask.pyspark.ml import _model

    mlcask.pyspark.ml.autolog(log_model_allowlist=["pyspark.ml.regression.*", "pyspark.ml.pipeline.PipelineModel"],
                              log_datasets=False)
    with caplog.at_level("WARNING", logger="mlcask.pyspark.ml.autolog"):
        model = Pipeline(stages=[StandardScaler(inputCol="features", outputCol="scaled"),
                                 LogisticRegression(maxIter=2, featuresCol="scaled")]).fit(vectors)
    (run,) = _runs()
    assert logged_models(run) == []
    assert "mlcask.autologging.modelNotLogged" not in run.data.tags  # MLflow's behaviour: a warning only
    assert f"Model {model.uid} will not be autologged because it is not allowlisted" in caplog.text
    assert "spark.mlflow.pysparkml.autolog.logModelAllowlistFile" in caplog.text

    # the checks themselves: every model inside a pipeline must be listed; wildcards match prefixes
    assert _model.is_allowed(model, _model.DEFAULT_ALLOWLIST)
    assert not _model.is_allowed(model, frozenset({"pyspark.ml.pipeline.PipelineModel",
                                                   "pyspark.ml.feature.StandardScalerModel"}))
    assert _model.is_allowed(model, frozenset({"pyspark.ml.pipeline.PipelineModel", "pyspark.ml.feature.*",
                                               "pyspark.ml.classification.*"}))
    listed = tmp_path / "allow.txt"
    listed.write_text("# mine\npyspark.ml.classification.LogisticRegressionModel\n\n  pyspark.ml.feature.*  \n")
    assert _model.read_allowlist_file(str(listed)) == {"pyspark.ml.classification.LogisticRegressionModel",
                                                       "pyspark.ml.feature.*"}
    assert _model.read_allowlist_file(listed.as_uri()) == _model.read_allowlist_file(str(listed))
    with pytest.raises(mlcask.exceptions.MlcaskException, match="does not exist"):
        _model.read_allowlist_file(str(tmp_path / "missing.txt"))


def test_default_allowlist_names_real_classes():
    import importlib

    missing = []
    for name in _model_names():
        module, _, cls = name.rpartition(".")
        if not hasattr(importlib.import_module(module), cls):
            missing.append(name)
    assert missing == []


def _model_names():
    from mlcask.pyspark.ml import _model

    return sorted(n for n in _model.DEFAULT_ALLOWLIST if not n.startswith("synapse."))


def test_what_is_not_logged(tracking, vectors, caplog):
    from pyspark.ml.feature import StandardScaler
    from pyspark.ml.regression import LinearRegression

    mlcask.pyspark.ml.autolog(log_models=False, exclusive=True)
    StandardScaler(inputCol="features", outputCol="scaled").fit(vectors)  # a featurizer alone
    lr = LinearRegression()
    with caplog.at_level("WARNING", logger="mlcask.pyspark.ml.autolog"):
        fitted = list(lr.fit(vectors, params=[{lr.maxIter: 1}, {lr.maxIter: 2}]))  # a list of param maps
    assert len(fitted) == 2
    assert "Skip pyspark ML autologging when calling pyspark.ml.regression.LinearRegression.fit with a list" \
        in caplog.text
    caplog.clear()
    mlcask.pyspark.ml.autolog(log_models=False, exclusive=True, silent=True)
    with caplog.at_level("WARNING", logger="mlcask.pyspark.ml.autolog"):
        lr.fit(vectors, params=[{lr.maxIter: 1}])
    assert caplog.text == ""
    with mlcask.start_run() as user_run:  # exclusive: nothing goes into the user's run
        lr.fit(vectors, params={lr.maxIter: 1})
    (run,) = _runs()
    assert run.info.run_id == user_run.info.run_id and run.data.params == {}


def test_stage_names_follow_mlflow_for_repeated_and_wrapped_stages(spark):
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression, OneVsRest
    from pyspark.ml.evaluation import MulticlassClassificationEvaluator
    from pyspark.ml.feature import HashingTF, Tokenizer, VectorAssembler
    from pyspark.ml.tuning import CrossValidator, ParamGridBuilder

    from mlcask.pyspark.ml import _params

    tok1, tok2 = Tokenizer(inputCol="a", outputCol="wa"), Tokenizer(inputCol="b", outputCol="wb")
    tf1, tf2 = HashingTF(inputCol="wa", outputCol="fa"), HashingTF(inputCol="wb", outputCol="fb")
    lor = LogisticRegression(maxIter=4)
    ova = OneVsRest(classifier=lor)
    tuned = Pipeline(stages=[VectorAssembler(inputCols=["fa", "fb"], outputCol="features"), ova])
    search = CrossValidator(estimator=tuned, estimatorParamMaps=ParamGridBuilder().addGrid(lor.regParam, [0.1]).build(),
                            evaluator=MulticlassClassificationEvaluator())
    top = Pipeline(stages=[Pipeline(stages=[tok1, tf1]), Pipeline(stages=[tok2, tf2]), search])

    meta = _params.metadata(top)
    assert meta.hierarchy == {"name": "Pipeline_1", "stages": [
        {"name": "Pipeline_2", "stages": [{"name": "Tokenizer_1"}, {"name": "HashingTF_1"}]},
        {"name": "Pipeline_3", "stages": [{"name": "Tokenizer_2"}, {"name": "HashingTF_2"}]},
        {"name": "CrossValidator", "evaluator": {"name": "MulticlassClassificationEvaluator"},
         "tuned_estimator": {"name": "Pipeline_4", "stages": [
             {"name": "VectorAssembler"}, {"name": "OneVsRest", "classifier": {"name": "LogisticRegression"}}]}}]}
    assert [meta.names[s.uid] for s in meta.searches] == ["CrossValidator"]
    logged = _params.logged_params(top, meta.names)
    assert logged["stages"] == ["Pipeline_2", "Pipeline_3", "CrossValidator"]
    assert logged["Tokenizer_2.inputCol"] == "b" and logged["CrossValidator.estimator"] == "Pipeline_4"
    assert logged["CrossValidator.evaluator"] == "MulticlassClassificationEvaluator"
    assert not any(key.startswith(("OneVsRest.", "LogisticRegression.")) for key in logged)  # in estimator_info
    assert _params.tuning_param_maps(search, meta.names) == [{"LogisticRegression.regParam": 0.1}]

    ova_params = _params.logged_params(ova, _params.metadata(ova).names)
    assert ova_params["classifier"] == "LogisticRegression" and ova_params["LogisticRegression.maxIter"] == 4

    with pytest.raises(TypeError, match="Pipeline stages should be iterable"):
        _params.metadata(Pipeline(stages=lor))
    foreign = CrossValidator(estimator=LogisticRegression(), evaluator=MulticlassClassificationEvaluator(),
                             estimatorParamMaps=ParamGridBuilder().addGrid(lor.maxIter, [1]).build())
    with pytest.raises(ValueError, match="Tuning params should not include params not owned by the tuned estimator"):
        _params.estimator_info(foreign, _params.metadata(foreign))


def test_mlcask_autolog_turns_pyspark_ml_on(tracking, spark):
    from pyspark.ml.base import Estimator

    from mlcask.autologging import get_config

    try:
        mlcask.autolog(log_models=False, log_model_max_size=0)
        assert getattr(Estimator.fit, "__mlcask_patched__", False)
        assert get_config("pyspark.ml")["log_models"] is False and get_config("pyspark.ml")["log_model_max_size"] == 0
    finally:
        mlcask.autolog(disable=True)
    assert get_config("pyspark.ml") is None and not getattr(Estimator.fit, "__mlcask_patched__", False)


def test_pipeline_whose_stages_are_not_a_list_fails_with_mlflows_sentence(tracking, vectors):
    from pyspark.ml import Pipeline
    from pyspark.ml.regression import LinearRegression

    mlcask.pyspark.ml.autolog()
    lr = LinearRegression(maxIter=1)
    with pytest.raises(TypeError, match=rf"^Pipeline stages should be iterable, but found object {lr.uid} \(.*"
                                        r"'LinearRegression' object is not iterable\)$"):
        Pipeline(stages=lr).fit(vectors)
    with pytest.raises(TypeError, match="Pipeline stages should be iterable"):  # nested
        Pipeline(stages=[Pipeline(stages=lr)]).fit(vectors)
    outer = Pipeline(stages=[])
    with pytest.raises(TypeError, match="'LinearRegression' object is not iterable"):  # copy(params) fails: as MLflow
        outer.fit(vectors, params={outer.stages: lr})
    assert _runs() == []


def test_grid_over_another_estimators_params_is_fitted_unlogged_with_mlflows_error_as_warning(tracking, vectors):
    # MLflow raises this ValueError only in its own autologging test mode; otherwise it warns and fits unlogged
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.evaluation import RegressionEvaluator
    from pyspark.ml.regression import LinearRegression
    from pyspark.ml.tuning import CrossValidator, ParamGridBuilder

    mlcask.pyspark.ml.autolog()
    lr, other = LinearRegression(maxIter=1), LinearRegression(maxIter=2)
    search = CrossValidator(estimator=lr, estimatorParamMaps=ParamGridBuilder().addGrid(other.maxIter, [1]).build(),
                            evaluator=RegressionEvaluator(), numFolds=2)
    with pytest.warns(UserWarning, match="Tuning params should not include params not owned by the tuned estimator, "
                                         f"but found a param {other.uid}__maxIter"):
        model = Pipeline(stages=[search]).fit(vectors)
    assert isinstance(model, PipelineModel)
    assert _runs() == []


def test_mlflow_named_helpers_return_what_autolog_logs(tracking, vectors):
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression, OneVsRest
    from pyspark.ml.evaluation import RegressionEvaluator
    from pyspark.ml.feature import StandardScaler
    from pyspark.ml.regression import LinearRegression
    from pyspark.ml.tuning import CrossValidator, ParamGridBuilder

    from mlcask.pyspark import ml
    from mlcask.pyspark.ml import _model

    lr = LinearRegression(maxIter=3)
    search = CrossValidator(estimator=lr, estimatorParamMaps=ParamGridBuilder().addGrid(lr.regParam, [0.0, 1.0]).build(),
                            evaluator=RegressionEvaluator())
    top = Pipeline(stages=[StandardScaler(inputCol="features", outputCol="scaled"), search])
    meta = ml._gen_estimator_metadata(top)
    assert meta.hierarchy == {"name": "Pipeline", "stages": [
        {"name": "StandardScaler"}, {"name": "CrossValidator", "evaluator": {"name": "RegressionEvaluator"},
                                     "tuned_estimator": {"name": "LinearRegression"}}]}
    assert meta.uid_to_indexed_name_map == {top.uid: "Pipeline", top.getStages()[0].uid: "StandardScaler",
                                            search.uid: "CrossValidator", lr.uid: "LinearRegression",
                                            search.getEvaluator().uid: "RegressionEvaluator"}
    assert meta.param_search_estimators == [search]
    names = meta.uid_to_indexed_name_map
    params = ml._get_instance_param_map(top, names)
    assert params["stages"] == ["StandardScaler", "CrossValidator"] and params["CrossValidator.estimator"] == "LinearRegression"
    assert params["StandardScaler.inputCol"] == "features" and "LinearRegression.maxIter" not in params
    nested = ml._get_instance_param_map_recursively(lr, 1, names)
    assert nested["LinearRegression.maxIter"] == 3 and all(k.startswith("LinearRegression.") for k in nested)
    assert ml._get_instance_param_map_recursively(lr, 0, names)["maxIter"] == 3
    assert ml._get_tuning_param_maps(search, names) == [{"LinearRegression.regParam": 0.0},
                                                        {"LinearRegression.regParam": 1.0}]
    assert ml._get_warning_msg_for_fit_call_with_a_list_of_params(lr).startswith(
        "Skip pyspark ML autologging when calling pyspark.ml.regression.LinearRegression.fit with a list of params,")

    mlcask.pyspark.ml.autolog(log_models=False, log_model_allowlist=[" pyspark.ml.regression.* "])
    assert ml._log_model_allowlist == {"pyspark.ml.regression.*"}
    fitted = LinearRegression(maxIter=1).fit(vectors)
    ova = OneVsRest(classifier=LogisticRegression(maxIter=1)).fit(vectors)
    assert ml._should_log_model(fitted) and not ml._should_log_model(ova)
    assert ml._get_warning_msg_for_skip_log_model(ova).startswith(f"Model {ova.uid} will not be autologged because")
    mlcask.pyspark.ml.autolog(log_models=False)
    assert ml._log_model_allowlist == set(_model.DEFAULT_ALLOWLIST)
    assert ml._should_log_model(fitted) and ml._should_log_model(ova)
