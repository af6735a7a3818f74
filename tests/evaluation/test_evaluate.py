"""mlcask.evaluation.evaluate: MLflow 3's contract (metrics, artifacts, run, model id, dataset input,
evaluators and configs, extra metrics, custom artifacts) and the bad-input errors."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression

import mlcask
from mlcask.evaluation import EvaluationResult, evaluate, list_evaluators, make_metric
from mlcask.evaluation.result import CsvEvaluationArtifact, ImageEvaluationArtifact
from mlcask.exceptions import MlcaskException

NO_EXPLAIN = {"log_model_explainability": False}
BINARY_KEYS = {"true_negatives", "false_positives", "false_negatives", "true_positives", "example_count",
               "accuracy_score", "recall_score", "precision_score", "f1_score", "log_loss", "roc_auc",
               "precision_recall_auc"}
REGRESSOR_KEYS = {"example_count", "mean_absolute_error", "mean_squared_error", "root_mean_squared_error",
                  "sum_on_target", "mean_on_target", "r2_score", "max_error", "mean_absolute_percentage_error"}
BINARY_PLOTS = {"roc_curve_plot", "precision_recall_curve_plot", "lift_curve_plot", "calibration_curve_plot",
                "confusion_matrix"}


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=400, n_features=5, n_informative=3, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    model = LogisticRegression(max_iter=300).fit(frame, y)
    return frame.assign(label=y), model


@pytest.fixture
def binary_uri(binary, tmp_path):
    data, model = binary
    path = tmp_path / "binary_model"
    mlcask.sklearn.save_model(model, path, serialization_format="skops")
    return str(path)


def _run(run_id):
    return mlcask.tracking.MlflowClient().get_run(run_id)


def test_binary_classifier_logs_mlflow_metrics_and_plots(tracking, binary, binary_uri):
    data, model = binary
    result = evaluate(binary_uri, data, targets="label", model_type="classifier", evaluator_config=NO_EXPLAIN)
    X, y = data.drop(columns="label"), data["label"].to_numpy()
    assert set(result.metrics) == BINARY_KEYS | {"score"}
    y_pred = model.predict(X)
    assert result.metrics["accuracy_score"] == pytest.approx(skm.accuracy_score(y, y_pred), rel=1e-12)
    assert result.metrics["score"] == pytest.approx(model.score(X, y), rel=1e-12)
    assert result.metrics["log_loss"] == pytest.approx(skm.log_loss(y, model.predict_proba(X)), rel=1e-12)
    assert result.metrics["true_positives"] == int(((y_pred == 1) & (y == 1)).sum())
    assert set(result.artifacts) == BINARY_PLOTS
    assert all(isinstance(a, ImageEvaluationArtifact) for a in result.artifacts.values())
    run = _run(result.run_id)
    assert run.info.status == "FINISHED"  # a run of its own, ended
    assert run.data.metrics["f1_score"] == pytest.approx(result.metrics["f1_score"])
    stored = mlcask.tracking.MlflowClient().get_metric_history(result.run_id, "roc_auc")[0]
    assert (stored.dataset_name, stored.model_id) == ("dataset", None) and stored.dataset_digest
    assert [i.dataset.name for i in run.inputs.dataset_inputs] == ["dataset"]
    assert run.inputs.dataset_inputs[0].tags == []  # no context without a metric prefix, as MLflow
    logged = {f.path for f in mlcask.tracking.MlflowClient().list_artifacts(result.run_id)}
    assert logged == {f"{name}.png" for name in BINARY_PLOTS}
    assert result.artifacts["roc_curve_plot"].content.size[0] > 100  # downloaded on first use
    datasets = json.loads(run.data.tags["mlflow.datasets"])
    assert datasets[0]["name"] == "dataset" and len(datasets[0]["hash"]) == 32
    assert datasets[0]["model"] == mlcask.pyfunc.load_model(binary_uri).metadata.model_uuid


def test_active_run_is_reused_and_left_open(tracking, binary, binary_uri):
    data, _ = binary
    with mlcask.start_run() as run:
        result = evaluate(binary_uri, data, targets="label", model_type="classifier", evaluator_config=NO_EXPLAIN)
        assert result.run_id == run.info.run_id
        assert _run(run.info.run_id).info.status == "RUNNING"


def test_metric_prefix_on_metrics_files_and_dataset_context(tracking, binary, binary_uri):
    data, _ = binary
    result = evaluate(binary_uri, data, targets="label", model_type="classifier",
                      evaluator_config={**NO_EXPLAIN, "metric_prefix": "val_"})
    assert set(result.metrics) == {f"val_{k}" for k in BINARY_KEYS | {"score"}}
    assert set(result.artifacts) == BINARY_PLOTS  # names stay MLflow's; the files carry the prefix
    assert result.artifacts["confusion_matrix"].uri.endswith("/val_confusion_matrix.png")
    tags = _run(result.run_id).inputs.dataset_inputs[0].tags
    assert [(t.key, t.value) for t in tags] == [("mlflow.data.context", "val_")]


def test_pos_label_and_sample_weights(tracking, binary):
    data, model = binary
    frame = data.assign(pred=model.predict(data.drop(columns="label")))
    weights = np.linspace(0.5, 2.0, len(frame))
    result = evaluate(None, frame, targets="label", predictions="pred", model_type="classifier",
                      evaluator_config={"pos_label": 0, "sample_weights": weights})
    y, p = frame["label"], frame["pred"]
    assert result.metrics["recall_score"] == pytest.approx(
        skm.recall_score(y, p, pos_label=0, sample_weight=weights), rel=1e-12)
    assert "log_loss" not in result.metrics  # no probabilities without a model


def test_multiclass_per_class_metrics(tracking, iris_classifier, tmp_path):
    X, model = iris_classifier
    mlcask.sklearn.save_model(model, tmp_path / "iris", serialization_format="skops")
    data = X.assign(target=np.repeat([0, 1, 2], 50))
    result = evaluate(str(tmp_path / "iris"), data, targets="target", model_type="classifier",
                      evaluator_config=NO_EXPLAIN)
    assert {"accuracy_score", "f1_score", "log_loss", "roc_auc"} <= set(result.metrics)
    assert "true_positives" not in result.metrics
    table = result.artifacts["per_class_metrics"]
    assert isinstance(table, CsvEvaluationArtifact)
    assert list(table.content["positive_class"]) == [0, 1, 2]
    assert result.metrics["accuracy_score"] == pytest.approx(skm.accuracy_score(data["target"], model.predict(X)))


def test_regressor(tracking, tmp_path):
    X, y = make_regression(n_samples=300, n_features=4, noise=5.0, random_state=0)
    frame = pd.DataFrame(X, columns=list("abcd"))
    model = LinearRegression().fit(frame, y)
    result = evaluate(model.predict, frame.assign(y=y), targets="y", model_type="regressor")
    assert set(result.metrics) == REGRESSOR_KEYS  # a function has no sklearn score
    assert result.metrics["r2_score"] == pytest.approx(skm.r2_score(y, model.predict(frame)), rel=1e-12)
    assert result.metrics["sum_on_target"] == pytest.approx(y.sum())


def test_numpy_data_and_generated_feature_names(tracking, binary):
    data, model = binary
    X = data.drop(columns="label").to_numpy()
    seen = {}

    def predict(frame):
        seen["columns"] = list(frame.columns)
        return model.predict(frame.to_numpy())

    result = evaluate(predict, X, targets=data["label"].to_numpy(), model_type="classifier")
    assert seen["columns"] == ["feature_1", "feature_2", "feature_3", "feature_4", "feature_5"]
    assert result.metrics["example_count"] == len(X)
    with pytest.raises(MlcaskException, match="same length with labels array"):
        evaluate(predict, X, targets=data["label"].to_numpy()[:-1], model_type="classifier")


def test_bad_input_names_the_column(tracking, binary, binary_uri):
    data, _ = binary
    with pytest.raises(MlcaskException, match="targets column 'labels'") as info:
        evaluate(binary_uri, data, targets="labels", model_type="classifier")
    assert "'label'" in str(info.value)  # the columns it does have
    with pytest.raises(MlcaskException, match="predictions column 'pred'"):
        evaluate(None, data, targets="label", predictions="pred", model_type="classifier")
    with pytest.raises(MlcaskException, match=r"feature_names \['nope'\] are not columns"):
        evaluate(binary_uri, data, targets="label", model_type="classifier", feature_names=["f0", "nope"])
    with pytest.raises(MlcaskException, match="targets argument must be specified for classifier"):
        evaluate(binary_uri, data, model_type="classifier")
    with pytest.raises(MlcaskException, match="extra_metrics argument must be specified"):
        evaluate(binary_uri, data, targets="label")
    with pytest.raises(MlcaskException, match="data argument cannot be None"):
        evaluate(binary_uri, None, targets="label", model_type="classifier")
    assert mlcask.search_runs(output_format="list") == []  # nothing was logged for bad input


def test_regressor_on_strings_and_labels_not_the_models_classes(tracking, binary, binary_uri):
    data, _ = binary
    words = data.assign(label=np.where(data["label"] == 1, "yes", "no"))
    with pytest.raises(MlcaskException, match="targets column 'label' holds str values"):
        evaluate(None, words.assign(p=1.0), targets="label", predictions="p", model_type="regressor")
    with pytest.raises(MlcaskException, match=r"labels in the targets column 'label' \(\['no', 'yes'\]\) do not "
                                              r"match the model's classes \(\[0, 1\]\)"):
        evaluate(binary_uri, words, targets="label", model_type="classifier")


def test_model_id_links_metrics_and_inputs(tracking, binary):
    data, model = binary
    with mlcask.start_run():
        info = mlcask.sklearn.log_model(model, name="clf", serialization_format="skops")
    result = evaluate(f"models:/{info.model_id}", data, targets="label", model_type="classifier",
                      evaluator_config=NO_EXPLAIN)
    stored = mlcask.tracking.MlflowClient().get_metric_history(result.run_id, "accuracy_score")
    assert [m.model_id for m in stored] == [info.model_id]
    assert [getattr(m, "model_id", m) for m in _run(result.run_id).inputs.model_inputs] == [info.model_id]
    logged = mlcask.get_logged_model(info.model_id)
    assert logged.metrics and {m.key for m in logged.metrics} >= {"accuracy_score"}
    with pytest.raises(MlcaskException, match="contradicts the model_id"):
        evaluate(f"models:/{info.model_id}", data, targets="label", model_type="classifier", model_id="m-other")


def test_evaluators_and_configs_resolve_as_mlflow(tracking, binary, binary_uri):
    from mlcask.evaluation.evaluator import resolve_evaluators_and_configs as resolve

    assert list_evaluators() == ["default", "classifier", "regressor", "shap"]
    assert resolve(None, {"pos_label": 1}, "classifier") == [("classifier", {"pos_label": 1}),
                                                              ("shap", {"pos_label": 1})]
    assert resolve(None, {"classifier": {"a": 1}}, "classifier") == [("classifier", {"a": 1}), ("shap", {})]
    assert resolve(None, {"default": {"a": 1}}, "classifier") == [("classifier", {"a": 1}), ("shap", {"a": 1})]
    assert resolve(None, {"log_model_explainability": False}, "regressor") == [
        ("regressor", {"log_model_explainability": False})]
    assert resolve("default", None, "regressor") == [("regressor", {}), ("shap", {})]
    assert resolve(None, None, None) == [("default", {})]
    with pytest.raises(MlcaskException, match="Could not find a registered model evaluator for: mine"):
        resolve(["classifier", "mine"], None, "classifier")
    with pytest.raises(MlcaskException, match="evaluator_config must be a dict containing mapping"):
        resolve(["classifier"], {"pos_label": 1}, "classifier")
    data, _ = binary
    with pytest.raises(MlcaskException, match="could not be evaluated by any of the registered evaluators"):
        evaluate(binary_uri, data, targets="label", model_type="classifier", evaluators="regressor")


def test_extra_metrics_and_eval_results_table(tracking, binary, binary_uri):
    data, _ = binary

    def wrong(predictions, targets):
        from mlcask.evaluation import MetricValue

        scores = (predictions != targets).astype(float).tolist()
        return MetricValue(scores=scores, aggregate_results={"mean": float(np.mean(scores))})

    def doubled(metrics):
        return metrics["accuracy_score"].aggregate_results["accuracy_score"] * 2

    result = evaluate(binary_uri, data, targets="label", model_type="classifier", evaluator_config=NO_EXPLAIN,
                      extra_metrics=[make_metric(eval_fn=wrong, greater_is_better=False),
                                     make_metric(eval_fn=doubled, greater_is_better=True)])
    assert result.metrics["wrong/mean"] == pytest.approx(1 - result.metrics["accuracy_score"])
    assert result.metrics["doubled"] == pytest.approx(2 * result.metrics["accuracy_score"])
    table = result.tables["eval_results_table"]
    assert list(table.columns[-3:]) == ["label", "outputs", "wrong/score"]
    assert len(table) == len(data)
    plain = evaluate(binary_uri, data, targets="label", model_type="classifier", evaluator_config=NO_EXPLAIN,
                     extra_metrics=[make_metric(eval_fn=doubled, greater_is_better=True)])
    assert "eval_results_table" not in plain.artifacts  # only per-row scores make the table, as MLflow


def test_model_type_none_computes_extra_metrics_only(tracking, binary):
    data, model = binary
    frame = data.assign(pred=model.predict(data.drop(columns="label")))

    def agreement(predictions, targets):
        return float((predictions == targets).mean())

    result = evaluate(None, frame, targets="label", predictions="pred",
                      extra_metrics=[make_metric(eval_fn=agreement, greater_is_better=True)])
    assert set(result.metrics) == {"agreement"}
    assert result.artifacts == {}


def test_custom_artifacts(tracking, binary, binary_uri):
    data, _ = binary

    def artifacts(eval_df, builtin_metrics, artifacts_dir):
        assert set(eval_df.columns) == {"prediction", "target"}
        path = f"{artifacts_dir}/notes.txt"
        with open(path, "w") as f:
            f.write("seen")
        return {"head": eval_df.head(3), "summary": {"acc": builtin_metrics["accuracy_score"].aggregate_results},
                "notes": path, "array": np.arange(4)}

    result = evaluate(binary_uri, data, targets="label", model_type="classifier", evaluator_config=NO_EXPLAIN,
                      custom_artifacts=[artifacts])
    assert result.artifacts["head"].uri.endswith("/head.csv")
    assert list(result.artifacts["head"].content.columns) == ["prediction", "target"]
    assert result.artifacts["summary"].uri.endswith("/summary.json")
    assert result.artifacts["notes"].content == "seen"
    assert list(result.artifacts["array"].content) == [0, 1, 2, 3]
    logged = {f.path for f in mlcask.tracking.MlflowClient().list_artifacts(result.run_id)}
    assert {"head.csv", "summary.json", "notes.txt", "array.npy"} <= logged


def test_result_save_and_load(tracking, binary, binary_uri, tmp_path):
    data, _ = binary

    def table(eval_df, _metrics, _dir):
        return {"head": eval_df.head(2)}

    result = evaluate(binary_uri, data, targets="label", model_type="classifier", evaluator_config=NO_EXPLAIN,
                      custom_artifacts=[table])
    result.save(tmp_path / "saved")
    meta = json.loads((tmp_path / "saved" / "artifacts_metadata.json").read_text())
    assert meta["head"]["class_name"] == "mlflow.models.evaluation.artifacts.CsvEvaluationArtifact"
    loaded = EvaluationResult.load(tmp_path / "saved")
    assert loaded.metrics == pytest.approx(result.metrics)
    assert loaded.artifacts["head"].content.equals(result.artifacts["head"].content)
    assert loaded.artifacts["roc_curve_plot"].content.size == result.artifacts["roc_curve_plot"].content.size


def test_logs_mlflow_messages(tracking, binary, binary_uri, caplog):
    data, _ = binary
    with caplog.at_level(logging.INFO, logger="mlcask.evaluation"):
        evaluate(binary_uri, data, targets="label", model_type="classifier", evaluator_config=NO_EXPLAIN)
    assert "The evaluation dataset is inferred as binary dataset, positive label is 1, negative label is 0." \
        in caplog.text


def test_importing_the_package_is_cheap():
    import subprocess
    import sys

    code = ("import sys, mlcask.evaluation as e; e.evaluate; "
            "print(sorted(m for m in ('sklearn', 'matplotlib', 'fairlearn', 'shap') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_multi_output_model_and_other_columns_in_the_table(tracking, binary):
    data, model = binary
    X = data.drop(columns="label")

    def two_outputs(frame):
        return pd.DataFrame({"pred": model.predict(frame), "conf": model.predict_proba(frame).max(axis=1)})

    def confidence(predictions, conf):
        from mlcask.evaluation import MetricValue

        return MetricValue(scores=list(conf), aggregate_results={"mean": float(np.mean(conf))})

    extra = [make_metric(eval_fn=confidence, greater_is_better=True)]
    result = evaluate(two_outputs, data, targets="label", predictions="pred", extra_metrics=extra)
    assert result.metrics["confidence/mean"] == pytest.approx(float(model.predict_proba(X).max(axis=1).mean()))
    table = result.tables["eval_results_table"]
    assert {"conf", "pred", "confidence/score"} <= set(table.columns)
    with pytest.raises(MlcaskException, match="Output column name is not specified for the multi-output model"):
        evaluate(two_outputs, data, targets="label", extra_metrics=extra)


def test_lightgbm_model_gives_probability_metrics(tracking, binary, tmp_path):
    import lightgbm as lgb

    data, _ = binary
    X, y = data.drop(columns="label"), data["label"]
    model = lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, y)
    mlcask.lightgbm.save_model(model, tmp_path / "lgb")
    result = evaluate(str(tmp_path / "lgb"), data, targets="label", model_type="classifier",
                      evaluator_config=NO_EXPLAIN)
    assert result.metrics["log_loss"] == pytest.approx(skm.log_loss(y, model.predict_proba(X)), rel=1e-12)


def test_mlcask_datasets_as_data(tracking, binary, binary_uri):
    from mlcask.data import from_numpy, from_pandas

    data, model = binary
    named = from_pandas(data, targets="label", name="holdout")
    result = evaluate(binary_uri, named, model_type="classifier", evaluator_config=NO_EXPLAIN)
    stored = mlcask.tracking.MlflowClient().get_metric_history(result.run_id, "f1_score")[0]
    assert (stored.dataset_name, stored.dataset_digest) == ("holdout", named.digest)
    with pytest.raises(MlcaskException, match="top-level targets parameter should not be specified"):
        evaluate(binary_uri, named, targets="label", model_type="classifier")
    with pytest.raises(MlcaskException, match="targets column name must be specified in the provided Dataset"):
        evaluate(binary_uri, from_pandas(data), model_type="classifier")
    frame = data.assign(pred=model.predict(data.drop(columns="label")))
    with pytest.raises(MlcaskException, match="predictions parameter should not be specified in the Dataset"):
        evaluate(binary_uri, from_pandas(frame, targets="label", predictions="pred"), model_type="classifier")
    static = evaluate(None, from_pandas(frame, targets="label", predictions="pred"), model_type="classifier")
    assert static.metrics["accuracy_score"] == pytest.approx(result.metrics["accuracy_score"])
    arrays = from_numpy(data.drop(columns="label").to_numpy(), targets=data["label"].to_numpy())
    via_numpy = evaluate(lambda frame: model.predict(frame.to_numpy()), arrays, model_type="classifier")
    assert via_numpy.metrics["accuracy_score"] == pytest.approx(result.metrics["accuracy_score"])
