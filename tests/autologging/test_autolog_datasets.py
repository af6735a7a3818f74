"""Autolog datasets as MLflow logs them: scikit-learn, XGBoost and LightGBM record the training
dataset (context "train") and the evaluation ones ("eval"), from pandas or polars frames and
numpy or sparse arrays, with MLflow's digest, schema and profile (compared with real MLflow 3.17)."""

from __future__ import annotations

import json
import warnings

import pytest

import mlcask

# Runs in both interpreters (mlcask's as mlflow, and MLflow's venv): trains and reads the inputs back.
SCENARIOS = r'''
import json
import warnings

import numpy as np
import pandas as pd


def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y, pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"])


def inputs(mlflow, run_id):
    run = mlflow.MlflowClient().get_run(run_id)
    return [{"name": i.dataset.name, "digest": i.dataset.digest, "source_type": i.dataset.source_type,
             "schema": i.dataset.schema, "profile": i.dataset.profile,
             "tags": {t.key: t.value for t in i.tags}} for i in run.inputs.dataset_inputs]


def sklearn_numpy(mlflow):
    from sklearn.linear_model import LogisticRegression

    X, y, _ = data()
    mlflow.sklearn.autolog(log_models=False)
    with mlflow.start_run() as run:
        model = LogisticRegression().fit(X, y)
        model.predict(X[:20])
    mlflow.sklearn.autolog(disable=True)
    return inputs(mlflow, run.info.run_id)


def sklearn_pandas(mlflow):
    from sklearn.tree import DecisionTreeClassifier

    X, y, frame = data()
    mlflow.sklearn.autolog(log_models=False)
    with mlflow.start_run() as run:
        model = DecisionTreeClassifier(max_depth=2).fit(frame, y)
        model.predict(frame.iloc[:30])
    mlflow.sklearn.autolog(disable=True)
    return inputs(mlflow, run.info.run_id)


def xgboost_train(mlflow):
    import xgboost as xgb

    X, y, frame = data()
    mlflow.xgboost.autolog(log_models=False)
    with mlflow.start_run() as run:
        dtrain = xgb.DMatrix(X[:60], label=y[:60])
        dvalid = xgb.DMatrix(X[60:], label=y[60:])
        xgb.train({"objective": "binary:logistic"}, dtrain, 3, evals=[(dtrain, "train"), (dvalid, "valid")],
                  verbose_eval=False)
    mlflow.xgboost.autolog(disable=True)
    return inputs(mlflow, run.info.run_id)


def lightgbm_train(mlflow):
    import lightgbm as lgb

    X, y, frame = data()
    mlflow.lightgbm.autolog(log_models=False)
    with mlflow.start_run() as run:
        train = lgb.Dataset(X[:60], label=y[:60])
        valid = lgb.Dataset(X[60:], label=y[60:], reference=train)
        lgb.train({"objective": "binary", "verbose": -1}, train, 3, valid_sets=[valid], valid_names=["valid"])
    mlflow.lightgbm.autolog(disable=True)
    return inputs(mlflow, run.info.run_id)


def run_all(mlflow):
    warnings.simplefilter("ignore")
    return {name: function(mlflow) for name, function in
            [("sklearn_numpy", sklearn_numpy), ("sklearn_pandas", sklearn_pandas), ("xgboost", xgboost_train),
             ("lightgbm", lightgbm_train)]}
'''

MLFLOW_SCRIPT = SCENARIOS + r'''
import logging
import mlflow
logging.disable(logging.WARNING)
mlflow.set_tracking_uri("sqlite:///mlflow.db")
print(json.dumps(run_all(mlflow)))
'''


def _scenarios() -> dict:
    namespace: dict = {}
    exec(SCENARIOS, namespace)
    return namespace


def _contexts(found):
    return [(i["name"], i["tags"]["mlflow.data.context"]) for i in found]


def _by_context(found):
    return {i["tags"]["mlflow.data.context"]: i for i in found}


def test_sklearn_logs_train_and_eval_with_tensor_schemas(tracking):
    pytest.importorskip("sklearn")
    found = _scenarios()["sklearn_numpy"](mlcask)
    assert sorted(_contexts(found)) == [("dataset", "eval"), ("dataset", "train")]
    train, evaluation = (json.loads(_by_context(found)[c]["schema"])["mlflow_tensorspec"] for c in ("train", "eval"))
    assert json.loads(train["targets"]) == [{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]
    assert evaluation["targets"] is None and train["features"] == evaluation["features"]
    assert json.loads(_by_context(found)["eval"]["profile"])["features_shape"] == [20, 4]


def test_dataset_inputs_come_back_in_logging_order(tracking):
    pytest.importorskip("sklearn")
    found = _scenarios()["sklearn_numpy"](mlcask)
    assert _contexts(found) == [("dataset", "train"), ("dataset", "eval")]


def test_sklearn_logs_a_polars_frame(tracking):
    pl = pytest.importorskip("polars")
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LinearRegression

    X, y, frame = _scenarios()["data"]()
    polars_frame = pl.from_pandas(frame)
    mlcask.sklearn.autolog(log_models=False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with mlcask.start_run() as run:
                LinearRegression().fit(polars_frame, y)
    finally:
        mlcask.sklearn.autolog(disable=True)
    [logged] = mlcask.get_run(run.info.run_id).inputs.dataset_inputs
    assert logged.dataset.digest == str(polars_frame.hash_rows().sum())
    assert json.loads(logged.dataset.profile) == {"num_rows": 80, "num_elements": 320}
    assert [c["name"] for c in json.loads(logged.dataset.schema)["mlflow_colspec"]] == ["f0", "f1", "f2", "f3"]


def test_boosting_logs_train_and_eval_datasets(tracking):
    pytest.importorskip("xgboost")
    pytest.importorskip("lightgbm")
    scenarios = _scenarios()
    xgboost_found = scenarios["xgboost_train"](mlcask)
    assert sorted(_contexts(xgboost_found)) == [("dataset", "train"), ("train", "eval"), ("valid", "eval")]
    digests = {i["name"]: i["digest"] for i in xgboost_found}
    assert digests["dataset"] == digests["train"] != digests["valid"]
    lightgbm_found = scenarios["lightgbm_train"](mlcask)
    assert sorted(_contexts(lightgbm_found)) == [("dataset", "train"), ("valid", "eval")]
    assert json.loads(_by_context(lightgbm_found)["eval"]["profile"])["targets_shape"] == [20]


@pytest.mark.interop
@pytest.mark.slow
def test_autolog_datasets_match_mlflow(tracking, tmp_path):
    pytest.importorskip("xgboost")
    pytest.importorskip("lightgbm")
    from bench.mlflow_env import run_in_mlflow

    theirs = json.loads(run_in_mlflow(MLFLOW_SCRIPT, cwd=tmp_path))
    ours = _scenarios()["run_all"](mlcask)
    assert sorted(ours) == sorted(theirs)

    def key(found):  # the order is test_dataset_inputs_come_back_in_logging_order's
        return (found["tags"]["mlflow.data.context"], found["name"], found["digest"])

    for name in theirs:
        assert sorted(ours[name], key=key) == sorted(theirs[name], key=key), name
