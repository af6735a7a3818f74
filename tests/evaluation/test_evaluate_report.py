"""evaluate's Responsible-AI part: fairness metrics and tables, error cohorts, data balance, the report
artifact and the tags that find it; and the explanations evaluate logs by default."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression

import mlcask
from mlcask.evaluation import evaluate
from mlcask.evaluation.report import REPORT_TAG
from mlcask.exceptions import MlcaskException

FEATURES = [f"f{i}" for i in range(5)]
NO_EXPLAIN = {"log_model_explainability": False}


@pytest.fixture(scope="module")
def frame():
    X, y = make_classification(n_samples=600, n_features=5, n_informative=3, flip_y=0.1, random_state=3)
    data = pd.DataFrame(X, columns=FEATURES).assign(label=y)
    data["sex"] = np.where(np.random.default_rng(0).random(len(data)) < 0.4, "F", "M")  # not a model feature
    return data


@pytest.fixture
def logged(tracking, frame):
    model = xgb.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1).fit(frame[FEATURES], frame["label"])
    with mlcask.start_run():
        info = mlcask.xgboost.log_model(model, name="clf")
    return info, model


def test_sensitive_features_give_group_metrics_tables_and_report(frame, logged):
    info, model = logged
    result = evaluate(f"models:/{info.model_id}", frame, targets="label", model_type="classifier",
                      feature_names=FEATURES, evaluator_config={**NO_EXPLAIN, "sensitive_features": ["sex"]})
    y, pred = frame["label"].to_numpy(), model.predict(frame[FEATURES])
    women = frame["sex"].to_numpy() == "F"
    accuracy_f = float((pred[women] == y[women]).mean())
    accuracy_m = float((pred[~women] == y[~women]).mean())
    assert result.metrics["accuracy_score/sex/F"] == pytest.approx(accuracy_f, rel=1e-12)
    assert result.metrics["accuracy_score_difference/sex"] == pytest.approx(abs(accuracy_f - accuracy_m), rel=1e-9)
    assert {"fairness_metrics", "error_cohorts", "data_balance", "responsible_ai_report"} <= set(result.artifacts)
    cohorts = result.artifacts["error_cohorts"].content
    assert len(cohorts) >= 1 and (cohorts["error_rate"] >= 0).all()
    balance = result.artifacts["data_balance"].content
    counts = balance[(balance["section"] == "feature") & (balance["feature"] == "sex")].set_index("value")["count"]
    assert counts.to_dict() == {"F": int(women.sum()), "M": int((~women).sum())}
    html = result.artifacts["responsible_ai_report"].content
    assert "<script" not in html.lower() and "sex" in html
    run = mlcask.get_run(result.run_id)
    assert run.data.tags[REPORT_TAG] == "responsible_ai_report.html"
    assert run.data.metrics["accuracy_score_ratio/sex"] == pytest.approx(result.metrics["accuracy_score_ratio/sex"])
    tag = mlcask.get_logged_model(info.model_id).tags[REPORT_TAG]
    assert tag == f"runs:/{result.run_id}/responsible_ai_report.html"


def test_metric_prefix_applies_to_the_responsible_ai_files(frame, logged):
    info, _ = logged
    result = evaluate(f"models:/{info.model_id}", frame, targets="label", model_type="classifier",
                      feature_names=FEATURES,
                      evaluator_config={**NO_EXPLAIN, "sensitive_features": "sex", "metric_prefix": "test_"})
    assert "test_accuracy_score/sex/M" in result.metrics
    for name in ("fairness_metrics", "error_cohorts", "data_balance"):
        assert result.artifacts[name].uri.endswith(f"/test_{name}.csv")
    assert mlcask.get_run(result.run_id).data.tags[REPORT_TAG] == "test_responsible_ai_report.html"


def test_log_report_without_sensitive_features(tracking, frame):
    X, y = make_regression(n_samples=300, n_features=3, noise=4.0, random_state=0)
    data = pd.DataFrame(X, columns=list("abc")).assign(target=y)
    model = LinearRegression().fit(data[list("abc")], y)
    result = evaluate(model.predict, data, targets="target", model_type="regressor",
                      evaluator_config={**NO_EXPLAIN, "log_report": True})
    assert not any("/" in key for key in result.metrics)  # no group metrics
    assert {"error_cohorts", "responsible_ai_report"} <= set(result.artifacts)
    assert "fairness_metrics" not in result.artifacts and "data_balance" not in result.artifacts


def test_bad_sensitive_features(frame, logged):
    info, _ = logged
    uri = f"models:/{info.model_id}"
    with pytest.raises(MlcaskException, match="race"):
        evaluate(uri, frame, targets="label", model_type="classifier", feature_names=FEATURES,
                 evaluator_config={**NO_EXPLAIN, "sensitive_features": ["race"]})
    with pytest.raises(MlcaskException, match="sex"):
        evaluate(uri, frame.assign(sex="F"), targets="label", model_type="classifier", feature_names=FEATURES,
                 evaluator_config={**NO_EXPLAIN, "sensitive_features": ["sex"]})
    with pytest.raises(MlcaskException, match="sensitive_features"):
        evaluate(uri, frame, targets="label", model_type="classifier", feature_names=FEATURES,
                 evaluator_config={**NO_EXPLAIN, "sensitive_features": []})


def test_default_evaluation_explains_an_xgboost_model(frame, logged):
    info, _ = logged
    result = evaluate(f"models:/{info.model_id}", frame, targets="label", model_type="classifier",
                      feature_names=FEATURES, evaluator_config={"sensitive_features": ["sex"]})
    assert {"shap_beeswarm_plot", "shap_summary_plot", "shap_feature_importance_plot"} <= set(result.artifacts)
    importance = result.artifacts["feature_importance"].content
    assert set(importance["feature"]) == set(FEATURES)
    assert "feature importance" in result.artifacts["responsible_ai_report"].content.lower()


def test_shap_evaluator_alone_logs_no_metrics(frame, logged):
    info, _ = logged
    result = evaluate(f"models:/{info.model_id}", frame, targets="label", model_type="classifier",
                      feature_names=FEATURES, evaluators="shap")
    assert result.metrics == {}
    assert "shap_summary_plot" in result.artifacts and "roc_curve_plot" not in result.artifacts


def test_a_sensitive_column_the_model_does_not_take_is_left_out_of_its_features(frame, logged):
    info, model = logged  # no signature: the columns come from the fitted model's feature_names_in_
    result = evaluate(info.model_uri, frame, targets="label", model_type="classifier",
                      evaluator_config={**NO_EXPLAIN, "sensitive_features": ["sex"]})
    pred = model.predict(frame[FEATURES])
    assert result.metrics["accuracy_score"] == pytest.approx(float((pred == frame["label"]).mean()), rel=1e-12)
    assert "accuracy_score/sex/M" in result.metrics


def test_a_column_the_model_refuses_is_named_with_the_way_out(frame, logged):
    info, _ = logged
    with pytest.raises(MlcaskException) as caught:
        evaluate(info.model_uri, frame.assign(extra=1.0), targets="label", model_type="classifier",
                 evaluator_config=NO_EXPLAIN)
    message = str(caught.value)
    assert "The model failed to predict on the evaluation data" in message
    assert "'extra'" in message and "feature_names=[...]" in message


@pytest.mark.parametrize("prefix", ["../../evil_", "a/b_", ".hidden_", "tab\t"])
def test_a_metric_prefix_that_is_not_a_plain_name_is_refused_before_anything_is_logged(frame, logged, prefix):
    info, _ = logged
    with mlcask.start_run() as run:
        with pytest.raises(MlcaskException, match="metric_prefix.. must be a string of letters"):
            evaluate(info.model_uri, frame, targets="label", model_type="classifier", feature_names=FEATURES,
                     evaluator_config={**NO_EXPLAIN, "metric_prefix": prefix})
    assert mlcask.get_run(run.info.run_id).data.metrics == {}
    assert mlcask.MlflowClient().list_artifacts(run.info.run_id) == []
