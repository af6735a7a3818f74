"""mlcask.xgboost.autolog: what an autologged XGBoost training logs, and that it never
changes training itself."""

import inspect
import json
import threading
import warnings

import numpy as np
import pytest
import xgboost as xgb

import mlcask
from tests.support import PNG_SIGNATURE, artifact, history, logged_models, only_run, run_scenario_both_ways


@pytest.fixture
def autolog(tracking):
    """XGBoost autologging on (call again with arguments to change them); always off after."""
    mlcask.xgboost.autolog()
    yield mlcask.xgboost.autolog
    mlcask.xgboost.autolog(disable=True)


@pytest.fixture(scope="module")
def data(breast_cancer):
    X, y = breast_cancer
    return X.iloc[:400], y.iloc[:400], X.iloc[400:], y.iloc[400:]


def classifier(**kwargs):
    return xgb.XGBClassifier(**{"n_estimators": 5, "max_depth": 2, "n_jobs": 1, **kwargs})


def test_seed_example_logs_params_metrics_and_a_model_with_the_training_signature(autolog, data):
    X_train, y_train, X_test, y_test = data
    model = classifier(eval_metric="logloss")
    assert model.fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False) is model

    run = only_run()
    assert run.info.status == "FINISHED" and run.data.tags["mlflow.autologging"] == "xgboost"
    params = run.data.params
    assert params["eval_metric"] == "logloss" and params["max_depth"] == "2"
    assert params["objective"] == "binary:logistic"
    assert params["num_boost_round"] == "5" and params["early_stopping_rounds"] == "None"
    assert params["verbose_eval"] == "False"
    expected = model.evals_result()["validation_0"]["logloss"]
    assert history(run.info.run_id, "validation_0-logloss") == list(enumerate(pytest.approx(v) for v in expected))
    assert "best_iteration" not in run.data.metrics  # no early stopping

    loaded = mlcask.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    assert loaded.metadata.get_input_schema().input_names() == list(X_train.columns)
    native = mlcask.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    assert type(native) is xgb.XGBClassifier
    (logged,) = logged_models(run)
    assert logged.name == "model" and logged.params["eval_metric"] == "logloss"


def test_every_eval_metric_at_every_iteration(autolog, data):
    X_train, y_train, X_test, y_test = data
    model = classifier(eval_metric=["logloss", "auc"], n_estimators=4)
    model.fit(X_train, y_train, eval_set=[(X_train, y_train), (X_test, y_test)], verbose=False)
    run = only_run()
    results = model.evals_result()
    keys = {f"{name}-{metric}" for name in results for metric in results[name]}
    assert keys == {"validation_0-logloss", "validation_0-auc", "validation_1-logloss", "validation_1-auc"}
    assert set(run.data.metrics) == keys
    for name, metrics in results.items():
        for metric, values in metrics.items():
            assert history(run.info.run_id, f"{name}-{metric}") == [(i, pytest.approx(v)) for i, v in enumerate(values)]


def test_metrics_are_written_in_batches_not_per_iteration(autolog, data, monkeypatch):
    from mlcask.tracking.client import MlcaskClient

    calls = []
    log_batch = MlcaskClient.log_batch
    monkeypatch.setattr(MlcaskClient, "log_batch", lambda self, run_id, metrics=(), **kw: (
        calls.append(len(metrics)), log_batch(self, run_id, metrics=metrics, **kw))[1])
    X_train, y_train, X_test, y_test = data
    classifier(n_estimators=20, eval_metric="logloss").fit(X_train, y_train, eval_set=[(X_test, y_test)],
                                                            verbose=False)
    assert [n for n in calls if n] == [20]


def test_early_stopping_metrics_and_the_model_predicts_like_the_best_iteration(autolog, data):
    X_train, y_train, X_test, y_test = data
    model = classifier(n_estimators=200, learning_rate=1.0, max_depth=6, early_stopping_rounds=3,
                       eval_metric="logloss")
    model.fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False)
    values = model.evals_result()["validation_0"]["logloss"]
    iterations = len(values)
    assert model.best_iteration < iterations - 1 < 199  # it did stop early, after its best iteration

    run = only_run()
    metrics = run.data.metrics
    assert metrics["best_iteration"] == model.best_iteration
    assert metrics["stopped_iteration"] == iterations - 1
    assert run.data.params["early_stopping_rounds"] == "3"
    logged = history(run.info.run_id, "validation_0-logloss")
    assert logged[:-1] == [(i, pytest.approx(v)) for i, v in enumerate(values)]
    assert logged[-1] == (iterations, pytest.approx(values[model.best_iteration]))  # MLflow: best again, one step on

    native = mlcask.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    best = model.get_booster().predict(xgb.DMatrix(X_test), iteration_range=(0, model.best_iteration + 1))
    np.testing.assert_allclose(native.predict_proba(X_test)[:, 1], best, rtol=1e-6)
    np.testing.assert_array_equal(mlcask.pyfunc.load_model(f"runs:/{run.info.run_id}/model").predict(X_test),
                                  model.predict(X_test))


def test_feature_importance_json_and_png_for_each_type(autolog, data):
    from PIL import Image

    autolog(importance_types=["weight", "gain"])
    X_train, y_train, _, _ = data
    model = classifier().fit(X_train, y_train)
    run = only_run()
    booster = model.get_booster()
    for importance_type in ("weight", "gain"):
        content = json.loads(artifact(run, f"feature_importance_{importance_type}.json"))
        assert content == pytest.approx(booster.get_score(importance_type=importance_type))
        png = artifact(run, f"feature_importance_{importance_type}.png")
        assert png.startswith(PNG_SIGNATURE)
        import io

        image = Image.open(io.BytesIO(png))
        image.verify()
        assert image.size[0] == 640 and image.size[1] >= 480


def test_without_pillow_only_the_json_is_written(autolog, data, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    X_train, y_train, _, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a debug log, not a warning
        classifier().fit(X_train, y_train)
    names = {f.path for f in mlcask.MlflowClient().list_artifacts(only_run().info.run_id)}
    assert "feature_importance_weight.json" in names and "feature_importance_weight.png" not in names


def test_datasets_are_logged_as_train_and_eval_inputs(autolog, data):
    X_train, y_train, X_test, y_test = data
    classifier().fit(X_train, y_train, eval_set=[(X_train, y_train), (X_test, y_test)], verbose=False)
    inputs = only_run().inputs.dataset_inputs
    found = [(i.dataset.name, {t.key: t.value for t in i.tags}["mlflow.data.context"]) for i in inputs]
    assert sorted(found) == [("dataset", "train"), ("validation_0", "eval"), ("validation_1", "eval")]
    by_name = {i.dataset.name: i.dataset for i in inputs}
    assert by_name["dataset"].digest == by_name["validation_0"].digest != by_name["validation_1"].digest
    assert json.loads(by_name["validation_1"].profile)["features_shape"] == [len(X_test), X_test.shape[1]]


def test_log_datasets_false_logs_no_inputs(autolog, data):
    autolog(log_datasets=False)
    X_train, y_train, _, _ = data
    classifier().fit(X_train, y_train)
    assert only_run().inputs.dataset_inputs == []


def test_xgboost_train_logs_params_metrics_and_the_booster(autolog, data):
    autolog(log_input_examples=True)
    X_train, y_train, X_test, y_test = data
    dtrain, dtest = xgb.DMatrix(X_train, y_train), xgb.DMatrix(X_test, y_test)
    evals_result = {}
    params = {"objective": "binary:logistic", "max_depth": 2, "eval_metric": ["logloss", "auc"], "nthread": 1}
    booster = xgb.train(params, dtrain, 4, evals=[(dtest, "valid")], evals_result=evals_result, verbose_eval=False)
    assert isinstance(booster, xgb.Booster)

    run = only_run()
    assert run.info.status == "FINISHED"
    assert run.data.params == {"objective": "binary:logistic", "max_depth": "2", "eval_metric": "['logloss', 'auc']",
                               "nthread": "1", "num_boost_round": "4", "early_stopping_rounds": "None",
                               "maximize": "None", "verbose_eval": "False", "custom_metric": "None"}
    for metric, values in evals_result["valid"].items():
        assert history(run.info.run_id, f"valid-{metric}") == [(i, pytest.approx(v)) for i, v in enumerate(values)]
    inputs = {i.dataset.name: {t.key: t.value for t in i.tags}["mlflow.data.context"]
              for i in run.inputs.dataset_inputs}
    assert inputs == {"dataset": "train", "valid": "eval"}

    model_dir = mlcask.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(model_dir.predict(X_test), booster.predict(dtest), rtol=1e-6)
    native = mlcask.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    assert isinstance(native, xgb.Booster)
    meta = model_dir.metadata
    assert meta.flavors["xgboost"]["model_class"] == "xgboost.core.Booster"
    assert meta.get_input_schema().input_names() == list(X_train.columns)
    assert meta.saved_input_example_info is not None  # log_input_examples=True: the first rows


def test_xgboost_train_early_stopping(autolog, data):
    X_train, y_train, X_test, y_test = data
    dtrain, dtest = xgb.DMatrix(X_train, y_train), xgb.DMatrix(X_test, y_test)
    evals_result = {}
    booster = xgb.train({"objective": "binary:logistic", "eta": 1.0, "max_depth": 6, "nthread": 1}, dtrain, 200,
                        evals=[(dtest, "valid")], early_stopping_rounds=3, evals_result=evals_result,
                        verbose_eval=False)
    values = evals_result["valid"]["logloss"]
    metrics = only_run().data.metrics
    assert metrics["best_iteration"] == booster.best_iteration
    assert metrics["stopped_iteration"] == len(values) - 1
    assert metrics["valid-logloss"] == pytest.approx(values[booster.best_iteration])  # the latest: step len(values)


def test_metric_names_with_at_are_made_valid_as_mlflow_does(autolog, data):
    X_train, y_train, X_test, y_test = data
    model = classifier(eval_metric="error@0.7")
    model.fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False)
    expected = model.evals_result()["validation_0"]["error@0.7"]
    assert history(only_run().info.run_id, "validation_0-error_at_0.7") == [
        (i, pytest.approx(v)) for i, v in enumerate(expected)]


def test_a_quantile_dmatrix_keeps_its_rows_for_the_signature(autolog, data):
    X_train, y_train, _, _ = data
    xgb.train({"objective": "binary:logistic", "nthread": 1}, xgb.QuantileDMatrix(X_train, y_train), 2)
    meta = mlcask.pyfunc.load_model(f"runs:/{only_run().info.run_id}/model").metadata
    assert meta.get_input_schema().input_names() == list(X_train.columns)


def test_a_dmatrix_made_before_autolog_gives_a_model_without_signature(tracking, data):
    X_train, y_train, _, _ = data
    dtrain = xgb.DMatrix(X_train, y_train)  # autologging off: no rows kept
    mlcask.xgboost.autolog()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a logged message, not a warning
            xgb.train({"objective": "binary:logistic", "nthread": 1}, dtrain, 2)
    finally:
        mlcask.xgboost.autolog(disable=True)
    run = only_run()
    assert mlcask.pyfunc.load_model(f"runs:/{run.info.run_id}/model").metadata.signature is None


def test_log_models_false_logs_no_model(autolog, data):
    autolog(log_models=False)
    X_train, y_train, X_test, y_test = data
    classifier(eval_metric="logloss").fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False)
    run = only_run()
    assert logged_models(run) == [] and "validation_0-logloss" in run.data.metrics


def test_model_signature_and_example_follow_the_autolog_arguments(autolog, data):
    autolog(log_input_examples=True, log_model_signatures=False, model_format="json")
    X_train, y_train, _, _ = data
    classifier().fit(X_train, y_train)
    run = only_run()
    meta = mlcask.pyfunc.load_model(f"runs:/{run.info.run_id}/model").metadata
    assert meta.flavors["xgboost"]["model_format"] == "json"
    assert meta.saved_input_example_info is not None
    assert meta.signature is None  # not inferred from the example either, as MLflow's autolog


def test_registered_model_name_registers_each_model(autolog, data):
    autolog(registered_model_name="xgb-auto")
    X_train, y_train, _, _ = data
    classifier().fit(X_train, y_train)
    classifier().fit(X_train, y_train)
    versions = mlcask.MlflowClient().search_model_versions("name = 'xgb-auto'")
    assert sorted(int(v.version) for v in versions) == [1, 2]


def test_fit_that_raises_fails_the_run_and_the_error_propagates_unchanged(autolog, data):
    class Boom(Exception):
        pass

    error = Boom("at iteration 2")

    class Explode(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            if epoch == 2:
                raise error
            return False

    X_train, y_train, X_test, y_test = data
    model = classifier(eval_metric="logloss", callbacks=[Explode()])
    with pytest.raises(Boom) as info:
        model.fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False)
    assert info.value is error
    run = only_run()
    assert run.info.status == "FAILED"
    assert [step for step, _ in history(run.info.run_id, "validation_0-logloss")] == [0, 1]  # flushed
    assert mlcask.active_run() is None


def test_active_run_is_used_and_left_open(autolog, data):
    X_train, y_train, _, _ = data
    with mlcask.start_run() as run:
        classifier().fit(X_train, y_train)
        assert mlcask.active_run().info.run_id == run.info.run_id
        current = mlcask.get_run(run.info.run_id)
        assert current.info.status == "RUNNING" and current.data.params["max_depth"] == "2"
        assert "mlflow.autologging" not in current.data.tags
    assert only_run().info.run_id == run.info.run_id


def test_exclusive_does_not_log_into_a_user_run(autolog, data):
    autolog(exclusive=True)
    X_train, y_train, _, _ = data
    with mlcask.start_run() as run:
        classifier().fit(X_train, y_train)
    assert mlcask.get_run(run.info.run_id).data.params == {}
    classifier().fit(X_train, y_train)  # no user run: logged
    assert len(mlcask.search_runs(output_format="list")) == 2


def originals():
    import xgboost.sklearn

    found = {("xgboost", "train"): xgb.train, ("xgboost.sklearn", "train"): xgboost.sklearn.train,
             ("DMatrix", "__init__"): xgb.DMatrix.__dict__["__init__"],
             ("QuantileDMatrix", "__init__"): xgb.QuantileDMatrix.__dict__["__init__"]}
    for cls in (xgb.XGBModel, xgb.XGBClassifier, xgb.XGBRegressor, xgb.XGBRanker, xgb.XGBRFClassifier,
                xgb.XGBRFRegressor):
        found[(cls.__name__, "fit")] = cls.__dict__.get("fit")
    return found


def test_disable_restores_the_originals_exactly(tracking):
    mlcask.xgboost.autolog(disable=True)
    before = originals()
    assert before[("XGBRegressor", "fit")] is None  # inherited: must stay inherited
    mlcask.xgboost.autolog()
    try:
        patched = originals()
        assert patched[("xgboost", "train")] is not before[("xgboost", "train")]
        assert patched[("XGBClassifier", "fit")] is not before[("XGBClassifier", "fit")]
        assert patched[("XGBRegressor", "fit")] is None
    finally:
        mlcask.xgboost.autolog(disable=True)
    after = originals()
    assert all(after[key] is before[key] for key in before)


def test_patched_functions_keep_names_signatures_and_docstrings(tracking):
    mlcask.xgboost.autolog(disable=True)
    before = {key: (f.__name__, inspect.signature(f), f.__doc__) for key, f in originals().items() if f}
    mlcask.xgboost.autolog()
    try:
        after = {key: (f.__name__, inspect.signature(f), f.__doc__) for key, f in originals().items() if f}
    finally:
        mlcask.xgboost.autolog(disable=True)
    assert after == before


def test_a_logging_failure_is_one_warning_and_fit_returns_normally(autolog, data, monkeypatch):
    from mlcask.tracking.client import MlcaskClient

    def broken(*args, **kwargs):
        raise RuntimeError("store is down")

    monkeypatch.setattr(MlcaskClient, "log_batch", broken)
    X_train, y_train, X_test, y_test = data
    model = classifier(eval_metric="logloss")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False)
    assert result is model
    messages = [str(w.message) for w in caught if "autologging" in str(w.message)]
    assert len(messages) == 1 and "store is down" in messages[0]
    monkeypatch.undo()
    assert only_run().info.status == "FINISHED"
    autolog(disable=True)
    plain = classifier(eval_metric="logloss").fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False)
    np.testing.assert_array_equal(model.predict_proba(X_test), plain.predict_proba(X_test))


def test_a_model_logging_failure_keeps_the_rest(autolog, data, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(mlcask.xgboost, "log_model", broken)
    X_train, y_train, _, _ = data
    with pytest.warns(UserWarning, match="model: OSError: disk full"):
        model = classifier().fit(X_train, y_train)
    assert isinstance(model, xgb.XGBClassifier)
    run = only_run()
    assert run.info.status == "FINISHED" and run.data.params["max_depth"] == "2"


def test_two_threads_log_two_runs(autolog, data):
    X_train, y_train, X_test, y_test = data
    barrier = threading.Barrier(2)
    errors = []

    def train(depth):
        try:
            barrier.wait(timeout=10)
            classifier(max_depth=depth, eval_metric="logloss").fit(X_train, y_train, eval_set=[(X_test, y_test)],
                                                                    verbose=False)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=train, args=(depth,)) for depth in (2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    runs = mlcask.search_runs(output_format="list")
    assert sorted(r.data.params["max_depth"] for r in runs) == ["2", "3"]
    assert all(r.info.status == "FINISHED" and len(history(r.info.run_id, "validation_0-logloss")) == 5
               for r in runs)
    assert all(len(logged_models(r)) == 1 for r in runs)


def test_umbrella_autolog_turns_xgboost_on_and_off(tracking, data):
    from mlcask.autologging import get_config

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # integrations not available here may warn
            mlcask.autolog(log_models=False, extra_tags={"team": "a"})
        assert get_config("xgboost")["log_models"] is False
        X_train, y_train, _, _ = data
        classifier().fit(X_train, y_train)
        run = only_run()
        assert run.data.tags["team"] == "a" and run.data.tags["mlflow.autologging"] == "xgboost"
        assert logged_models(run) == []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlcask.autolog(disable=True)
        assert get_config("xgboost") is None
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlcask.autolog(disable=True)
        mlcask.xgboost.autolog(disable=True)


def test_a_pipeline_step_is_left_to_sklearn_autologging(autolog, data):
    from mlcask.autologging.patching import nested_scope

    X_train, y_train, _, _ = data
    with nested_scope("sklearn"):  # as inside an autologged scikit-learn fit
        classifier().fit(X_train, y_train)
    assert mlcask.search_runs(output_format="list") == []


def test_import_of_the_flavor_stays_lazy():
    import subprocess
    import sys

    code = ("import sys, mlcask.xgboost as m; assert 'xgboost' not in sys.modules and "
            "'mlcask.autologging' not in sys.modules; "
            "assert callable(m.autolog) and m.autolog.__name__ == 'autolog'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_big_sparse_training_data_is_not_densified_for_its_dataset(monkeypatch):
    import scipy.sparse as sp

    from mlcask.autologging import boosting

    monkeypatch.setattr(boosting, "_MAX_DENSE_ELEMENTS", 1000)
    data = sp.random(20_000, 30, density=0.05, format="csr", dtype=np.float32, random_state=0)
    toarray = type(data).toarray

    def only_small(self, *args, **kwargs):
        assert self.shape[0] <= 10_000, "the whole matrix was densified"
        return toarray(self, *args, **kwargs)

    monkeypatch.setattr(type(data), "toarray", only_small)
    dataset = boosting.dataset_from(data, "big")
    assert dataset.profile == {"features_shape": [20_000, 30], "features_size": 600_000,
                                           "features_nbytes": 2_400_000}
    assert dataset.name == "big" and dataset.digest == boosting.dataset_from(data, "big").digest


def test_train_logs_every_iterations_metrics_for_the_model_it_logs(autolog, data):
    X_train, y_train, X_test, y_test = data
    dtrain, dtest = xgb.DMatrix(X_train, y_train), xgb.DMatrix(X_test, y_test)
    xgb.train({"objective": "binary:logistic", "eta": 1.0, "max_depth": 6, "nthread": 1}, dtrain, 200,
              evals=[(dtrain, "train"), (dtest, "valid")], early_stopping_rounds=3, verbose_eval=False)
    run = only_run()
    model = mlcask.last_logged_model()
    (logged,) = logged_models(run)
    assert model.model_id == logged.model_id and model.status == "READY" and model.name == "model"
    # MLflow's tests compare {key: value} over the model's metrics with the run's latest values
    assert {m.key: m.value for m in model.metrics} == run.data.metrics
    client = mlcask.MlflowClient()
    iterations = len(history(run.info.run_id, "valid-logloss"))
    assert {m.model_id for m in client.get_metric_history(run.info.run_id, "train-logloss")} == {model.model_id}
    assert len(model.metrics) == 2 * iterations + 2  # two keys per iteration, plus stopped/best_iteration


def test_train_without_log_models_creates_no_model(autolog, data):
    autolog(log_models=False)
    X_train, y_train, _, _ = data
    dtrain = xgb.DMatrix(X_train, y_train)
    xgb.train({"objective": "binary:logistic", "nthread": 1}, dtrain, 3, evals=[(dtrain, "train")])
    run = only_run()
    assert mlcask.last_logged_model() is None and logged_models(run) == []
    assert {m.model_id for m in mlcask.MlflowClient().get_metric_history(run.info.run_id, "train-logloss")} == {None}


def test_a_fit_mocked_around_autolog_is_not_brought_back_when_autolog_is_turned_off(autolog, data):
    from unittest import mock

    mlcask.xgboost.autolog(disable=True)
    real_fit = xgb.XGBClassifier.__dict__["fit"]

    def mocked_fit(self, *args, **kwargs):
        return real_fit(self, *args, **kwargs)

    # XGBRegressor inherits XGBModel.fit: the mock gives it one of its own, which autolog then patches
    with mock.patch.object(xgb.XGBClassifier, "fit", mocked_fit), mock.patch.object(xgb.XGBRegressor, "fit", mocked_fit):
        autolog()
        assert xgb.XGBRegressor.__dict__["fit"] is not mocked_fit
    assert "fit" not in xgb.XGBRegressor.__dict__  # the mock's exit removed it
    mlcask.xgboost.autolog(disable=True)
    assert xgb.XGBClassifier.__dict__["fit"] is real_fit and "fit" not in xgb.XGBRegressor.__dict__
    autolog(registered_model_name="reg")
    X_train, y_train, _, _ = data
    with mlcask.start_run():
        xgb.XGBRegressor(n_estimators=3, n_jobs=1).fit(X_train, y_train)
    assert mlcask.MlflowClient().get_registered_model("reg").latest_versions[0].version == "1"


# Runs as is with ``mlflow`` (MLflow's venv) and with ``mlcask as mlflow``; fills ``printed`` with what
# both must agree on.
_TRAIN_SCENARIO = '''
import numpy as np
import xgboost as xgb
{imports}

mlflow.set_tracking_uri({uri!r})
rng = np.random.default_rng(0)
X = rng.normal(size=(300, 4))
y = (X[:, 0] + 0.3 * rng.normal(size=300) > 0).astype(int)
mlflow.xgboost.autolog()
dtrain, dvalid = xgb.DMatrix(X[:200], y[:200]), xgb.DMatrix(X[200:], y[200:])
xgb.train({{"objective": "binary:logistic", "eta": 1.0, "max_depth": 6, "nthread": 1}}, dtrain, 60,
          evals=[(dtrain, "train"), (dvalid, "valid")], early_stopping_rounds=3, verbose_eval=False)
run = mlflow.get_run(mlflow.last_active_run().info.run_id)
model = mlflow.last_logged_model()
printed = {{
    "keys_steps": sorted([m.key, m.step] for m in model.metrics),
    # (the run's latest value is left out: with several values in one millisecond MLflow picks either)
    "values": sorted([m.key, m.step, m.value] for m in model.metrics),
    # max, not last: values logged in one millisecond come back from MLflow in either order
    "max_step_of_each_key": {{key: max(m.step for m in model.metrics if m.key == key)
                             for key in sorted({{m.key for m in model.metrics}})}},
    "status": str(model.status), "name": model.name, "params": model.params,
}}
'''


@pytest.mark.interop
@pytest.mark.slow
def test_train_links_metrics_to_the_model_as_mlflow_does(tmp_path, tracking_state):
    theirs, ours = run_scenario_both_ways(_TRAIN_SCENARIO, tmp_path, tracking_state,
                                          after=lambda: mlcask.xgboost.autolog(disable=True))
    assert theirs["max_step_of_each_key"]["best_iteration"] == 0
    assert ours == theirs
