"""mlcask.lightgbm.autolog: what an autologged LightGBM training logs, and that it never
changes training itself."""

import inspect
import io
import json
import threading
import warnings

import lightgbm as lgb
import numpy as np
import pytest

import mlcask
from tests.support import PNG_SIGNATURE, artifact, history, logged_models, only_run, run_scenario_both_ways

# LightGBM 4.6+ prefers eval_X/eval_y; eval_set is what most code (and MLflow's docs) uses.
pytestmark = pytest.mark.filterwarnings("ignore:The argument 'eval_set' is deprecated")


@pytest.fixture
def autolog(tracking):
    """LightGBM autologging on (call again with arguments to change them); always off after."""
    mlcask.lightgbm.autolog()
    yield mlcask.lightgbm.autolog
    mlcask.lightgbm.autolog(disable=True)


@pytest.fixture(scope="module")
def data(breast_cancer):
    X, y = breast_cancer
    return X.iloc[:400], y.iloc[:400], X.iloc[400:], y.iloc[400:]


def classifier(**kwargs):
    return lgb.LGBMClassifier(**{"n_estimators": 5, "num_leaves": 7, "n_jobs": 1, "verbose": -1, **kwargs})


def test_fit_logs_params_metrics_and_a_loadable_model(autolog, data):
    X_train, y_train, X_test, y_test = data
    model = classifier()
    assert model.fit(X_train, y_train, eval_set=[(X_test, y_test)]) is model

    run = only_run()
    assert run.info.status == "FINISHED" and run.data.tags["mlflow.autologging"] == "lightgbm"
    params = run.data.params
    assert params["num_leaves"] == "7" and params["objective"] == "binary" and params["num_boost_round"] == "5"
    assert params["keep_training_booster"] == "False" and params["metric"] == "['binary']"
    expected = model.evals_result_["valid_0"]["binary_logloss"]
    assert history(run.info.run_id, "valid_0-binary_logloss") == [(i, pytest.approx(v)) for i, v in enumerate(expected)]
    assert "best_iteration" not in run.data.metrics  # no early stopping

    loaded = mlcask.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    assert loaded.metadata.get_input_schema().input_names() == list(X_train.columns)
    assert type(mlcask.lightgbm.load_model(f"runs:/{run.info.run_id}/model")) is lgb.LGBMClassifier
    (logged,) = logged_models(run)
    assert logged.name == "model" and logged.params["num_leaves"] == "7"


def test_every_metric_of_every_valid_set_at_every_iteration(autolog, data):
    X_train, y_train, X_test, y_test = data
    model = classifier(n_estimators=4)
    model.fit(X_train, y_train, eval_set=[(X_train, y_train), (X_test, y_test)], eval_names=["train", "test"],
              eval_metric=["auc"])
    run = only_run()
    results = model.evals_result_
    keys = {f"{name}-{metric}" for name in results for metric in results[name]}
    assert keys == {"train-binary_logloss", "train-auc", "test-binary_logloss", "test-auc"}
    assert set(run.data.metrics) == keys
    for name, metrics in results.items():
        for metric, values in metrics.items():
            assert history(run.info.run_id, f"{name}-{metric}") == [(i, pytest.approx(v)) for i, v in enumerate(values)]


def test_early_stopping_metrics_and_the_model_predicts_like_the_best_iteration(autolog, data):
    X_train, y_train, X_test, y_test = data
    model = classifier(n_estimators=300, learning_rate=0.8, num_leaves=31, min_child_samples=2)
    model.fit(X_train, y_train, eval_set=[(X_test, y_test)], callbacks=[lgb.early_stopping(3, verbose=False)])
    values = model.evals_result_["valid_0"]["binary_logloss"]
    iterations = len(values)
    assert model.best_iteration_ < iterations < 300  # it did stop early, after its best iteration

    run = only_run()
    metrics = run.data.metrics
    assert metrics["best_iteration"] == model.best_iteration_
    assert metrics["stopped_iteration"] == iterations  # MLflow's LightGBM value (XGBoost's is one less)
    logged = history(run.info.run_id, "valid_0-binary_logloss")
    assert logged[:-1] == [(i, pytest.approx(v)) for i, v in enumerate(values)]
    assert logged[-1] == (iterations, pytest.approx(values[model.best_iteration_ - 1]))

    native = mlcask.lightgbm.load_model(f"runs:/{run.info.run_id}/model")
    best = model.booster_.predict(X_test, num_iteration=model.best_iteration_)
    np.testing.assert_allclose(native.predict_proba(X_test)[:, 1], best, rtol=1e-6)


def test_feature_importance_split_and_gain(autolog, data):
    from PIL import Image

    X_train, y_train, _, _ = data
    model = classifier().fit(X_train, y_train)
    run = only_run()
    for importance_type in ("split", "gain"):
        content = json.loads(artifact(run, f"feature_importance_{importance_type}.json"))
        expected = model.booster_.feature_importance(importance_type=importance_type).tolist()
        assert content == pytest.approx(dict(zip(model.booster_.feature_name(), expected)))
        png = artifact(run, f"feature_importance_{importance_type}.png")
        assert png.startswith(PNG_SIGNATURE)
        image = Image.open(io.BytesIO(png))
        image.verify()
        assert image.size == (640, 480 + 10 * X_train.shape[1])


def test_datasets_are_logged_as_train_and_eval_inputs(autolog, data):
    X_train, y_train, X_test, y_test = data
    classifier().fit(X_train, y_train, eval_set=[(X_test, y_test)])
    inputs = only_run().inputs.dataset_inputs
    contexts = sorted({t.key: t.value for t in i.tags}["mlflow.data.context"] for i in inputs)
    assert contexts == ["eval", "train"]
    profiles = {json.loads(i.dataset.profile)["num_rows"] for i in inputs}
    assert profiles == {len(X_train), len(X_test)}


def test_lightgbm_train_logs_params_metrics_and_the_booster(autolog, data):
    autolog(log_input_examples=True)
    X_train, y_train, X_test, y_test = data
    train_set = lgb.Dataset(X_train, y_train)
    valid_set = lgb.Dataset(X_test, y_test, reference=train_set)
    evals_result = {}
    params = {"objective": "binary", "metric": ["binary_logloss", "auc"], "verbose": -1, "num_threads": 1,
              "num_leaves": 7}
    booster = lgb.train(params, train_set, 4, valid_sets=[valid_set], valid_names=["valid"],
                        callbacks=[lgb.record_evaluation(evals_result)])
    run = only_run()
    assert run.info.status == "FINISHED"
    assert run.data.params == {"objective": "binary", "metric": "['binary_logloss', 'auc']", "verbose": "-1",
                               "num_threads": "1", "num_leaves": "7", "num_boost_round": "4",
                               "keep_training_booster": "False"}
    for metric, values in evals_result["valid"].items():
        assert history(run.info.run_id, f"valid-{metric}") == [(i, pytest.approx(v)) for i, v in enumerate(values)]
    inputs = {i.dataset.name: {t.key: t.value for t in i.tags}["mlflow.data.context"]
              for i in run.inputs.dataset_inputs}
    assert inputs == {"dataset": "train", "valid": "eval"}

    loaded = mlcask.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.predict(X_test), booster.predict(X_test), rtol=1e-6)
    assert isinstance(mlcask.lightgbm.load_model(f"runs:/{run.info.run_id}/model"), lgb.Booster)
    assert loaded.metadata.get_input_schema().input_names() == list(X_train.columns)
    assert loaded.metadata.saved_input_example_info is not None


def test_lightgbm_train_early_stopping(autolog, data):
    X_train, y_train, X_test, y_test = data
    train_set = lgb.Dataset(X_train, y_train)
    evals_result = {}
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1, "learning_rate": 0.8,
                         "min_data_in_leaf": 2}, train_set, 300,
                        valid_sets=[lgb.Dataset(X_test, y_test, reference=train_set)],
                        callbacks=[lgb.early_stopping(3, verbose=False), lgb.record_evaluation(evals_result)])
    values = evals_result["valid_0"]["binary_logloss"]
    metrics = only_run().data.metrics
    assert 0 < booster.best_iteration < len(values) < 300
    assert metrics["best_iteration"] == booster.best_iteration
    assert metrics["stopped_iteration"] == len(values)
    assert metrics["valid_0-binary_logloss"] == pytest.approx(values[booster.best_iteration - 1])


def test_log_models_false_logs_no_model(autolog, data):
    autolog(log_models=False)
    X_train, y_train, _, _ = data
    classifier().fit(X_train, y_train)
    assert logged_models(only_run()) == []


def test_fit_that_raises_fails_the_run_and_the_error_propagates_unchanged(autolog, data):
    class Boom(Exception):
        pass

    error = Boom("at iteration 2")

    def explode(env):
        if env.iteration == 2:
            raise error

    X_train, y_train, X_test, y_test = data
    with pytest.raises(Boom) as info:
        classifier().fit(X_train, y_train, eval_set=[(X_test, y_test)], callbacks=[explode])
    assert info.value is error
    run = only_run()
    assert run.info.status == "FAILED"
    assert mlcask.active_run() is None


def test_active_run_is_used_and_left_open(autolog, data):
    X_train, y_train, _, _ = data
    with mlcask.start_run() as run:
        classifier().fit(X_train, y_train)
        assert mlcask.active_run().info.run_id == run.info.run_id
        current = mlcask.get_run(run.info.run_id)
        assert current.info.status == "RUNNING" and current.data.params["num_leaves"] == "7"
    assert only_run().info.run_id == run.info.run_id


def originals():
    import lightgbm.sklearn

    found = {("lightgbm", "train"): lgb.train, ("lightgbm.sklearn", "train"): lightgbm.sklearn.train}
    for cls in (lgb.LGBMModel, lgb.LGBMClassifier, lgb.LGBMRegressor, lgb.LGBMRanker):
        found[(cls.__name__, "fit")] = cls.__dict__.get("fit")
    return found


def test_disable_restores_the_originals_exactly(tracking):
    mlcask.lightgbm.autolog(disable=True)
    before = originals()
    mlcask.lightgbm.autolog()
    try:
        patched = originals()
        assert all(patched[key] is not before[key] for key in before)
    finally:
        mlcask.lightgbm.autolog(disable=True)
    after = originals()
    assert all(after[key] is before[key] for key in before)


def test_patched_functions_keep_names_signatures_and_docstrings(tracking):
    mlcask.lightgbm.autolog(disable=True)
    before = {key: (f.__name__, inspect.signature(f), f.__doc__) for key, f in originals().items()}
    mlcask.lightgbm.autolog()
    try:
        after = {key: (f.__name__, inspect.signature(f), f.__doc__) for key, f in originals().items()}
    finally:
        mlcask.lightgbm.autolog(disable=True)
    assert after == before


def test_a_logging_failure_is_one_warning_and_fit_returns_normally(autolog, data, monkeypatch):
    from mlcask.tracking.client import MlcaskClient

    def broken(*args, **kwargs):
        raise RuntimeError("store is down")

    monkeypatch.setattr(MlcaskClient, "log_batch", broken)
    X_train, y_train, X_test, y_test = data
    model = classifier()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(X_train, y_train, eval_set=[(X_test, y_test)])
    assert result is model
    messages = [str(w.message) for w in caught if "autologging" in str(w.message)]
    assert len(messages) == 1 and "store is down" in messages[0]
    monkeypatch.undo()
    assert only_run().info.status == "FINISHED"
    autolog(disable=True)
    plain = classifier().fit(X_train, y_train, eval_set=[(X_test, y_test)])
    np.testing.assert_array_equal(model.predict_proba(X_test), plain.predict_proba(X_test))


def test_two_threads_log_two_runs(autolog, data):
    X_train, y_train, X_test, y_test = data
    barrier = threading.Barrier(2)
    errors = []

    def train(leaves):
        try:
            barrier.wait(timeout=10)
            classifier(num_leaves=leaves).fit(X_train, y_train, eval_set=[(X_test, y_test)])
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=train, args=(leaves,)) for leaves in (4, 8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    runs = mlcask.search_runs(output_format="list")
    assert sorted(r.data.params["num_leaves"] for r in runs) == ["4", "8"]
    assert all(r.info.status == "FINISHED" and len(history(r.info.run_id, "valid_0-binary_logloss")) == 5
               for r in runs)


def test_umbrella_autolog_turns_lightgbm_on_and_off(tracking, data):
    from mlcask.autologging import get_config

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # integrations not available here may warn
            mlcask.autolog(log_models=False)
        assert get_config("lightgbm")["log_models"] is False
        X_train, y_train, _, _ = data
        classifier().fit(X_train, y_train)
        run = only_run()
        assert run.data.tags["mlflow.autologging"] == "lightgbm" and logged_models(run) == []
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlcask.autolog(disable=True)
        mlcask.lightgbm.autolog(disable=True)
    assert get_config("lightgbm") is None


def test_import_of_the_flavor_stays_lazy():
    import subprocess
    import sys

    code = ("import sys, mlcask.lightgbm as m; assert 'lightgbm' not in sys.modules and "
            "'mlcask.autologging' not in sys.modules; "
            "assert callable(m.autolog) and m.autolog.__name__ == 'autolog'")
    subprocess.run([sys.executable, "-c", code], check=True)


def _model_metrics_view(model, run_id):
    """What MLflow's tests read of an autologged model's metrics: the dict they build from the list
    (the last value per key wins), and which model each value of the run's history belongs to."""
    client = mlcask.MlflowClient()
    owners = {m.model_id for key in client.get_run(run_id).data.metrics
              for m in client.get_metric_history(run_id, key)}
    return {m.key: m.value for m in model.metrics}, owners


def test_train_logs_every_iterations_metrics_for_the_model_it_logs(autolog, data):
    X_train, y_train, X_test, y_test = data
    train_set = lgb.Dataset(X_train, y_train)
    lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1, "learning_rate": 0.8, "min_data_in_leaf": 2},
              train_set, 300, valid_sets=[train_set, lgb.Dataset(X_test, y_test, reference=train_set)],
              valid_names=["train", "valid"], callbacks=[lgb.early_stopping(3, verbose=False)])
    run = only_run()
    model = mlcask.last_logged_model()
    (logged,) = logged_models(run)
    assert model.model_id == logged.model_id and model.status == "READY" and model.name == "model"
    as_dict, owners = _model_metrics_view(model, run.info.run_id)
    assert as_dict == run.data.metrics  # the latest value of every key, early stopping's extra step included
    assert owners == {model.model_id}  # every iteration's value was logged for the model
    iterations = len(history(run.info.run_id, "valid-binary_logloss"))
    assert len(model.metrics) == 2 * iterations + 2  # two keys per iteration, plus stopped/best_iteration
    assert all(m.run_id == run.info.run_id for m in model.metrics)


def test_fit_links_only_its_step_zero_values_to_the_estimator_model(autolog, data):
    X_train, y_train, X_test, y_test = data
    classifier().fit(X_train, y_train, eval_set=[(X_test, y_test)])
    (model,) = logged_models(only_run())
    # The scikit-learn API logs the estimator after training (as MLflow): log_model links the values at step 0.
    assert [(m.key, m.step) for m in model.metrics] == [("valid_0-binary_logloss", 0)]


def test_a_fit_mocked_around_autolog_is_not_brought_back_when_autolog_is_turned_off(autolog, data):
    from unittest import mock

    mlcask.lightgbm.autolog(disable=True)
    real_fit = lgb.LGBMClassifier.__dict__["fit"]

    def mocked_fit(self, *args, **kwargs):
        return real_fit(self, *args, **kwargs)

    with mock.patch.object(lgb.LGBMClassifier, "fit", mocked_fit):
        autolog()
        assert lgb.LGBMClassifier.__dict__["fit"] is not mocked_fit
    assert lgb.LGBMClassifier.__dict__["fit"] is real_fit  # the mock undid the patch
    mlcask.lightgbm.autolog(disable=True)
    assert lgb.LGBMClassifier.__dict__["fit"] is real_fit  # reverting does not put the mock back
    autolog(registered_model_name="reg")
    X_train, y_train, _, _ = data
    with mlcask.start_run():
        classifier().fit(X_train, y_train)
    assert mlcask.MlflowClient().get_registered_model("reg").latest_versions[0].version == "1"


# Runs as is with ``mlflow`` (MLflow's venv) and with ``mlcask as mlflow``; prints what both must agree on.
_TRAIN_SCENARIO = '''
import json
import lightgbm as lgb
import numpy as np
{imports}

mlflow.set_tracking_uri({uri!r})
rng = np.random.default_rng(0)
X = rng.normal(size=(300, 4))
y = (X[:, 0] + 0.3 * rng.normal(size=300) > 0).astype(int)
train = lgb.Dataset(X[:200], y[:200], free_raw_data=False)
mlflow.lightgbm.autolog()
lgb.train({{"objective": "binary", "verbose": -1, "num_threads": 1, "learning_rate": 0.8, "min_data_in_leaf": 2}},
          train, 60, valid_sets=[train, lgb.Dataset(X[200:], y[200:], reference=train)],
          valid_names=["train", "valid"], callbacks=[lgb.early_stopping(3, verbose=False)])
client = mlflow.MlflowClient()
run = client.get_run(mlflow.last_active_run().info.run_id)
model = mlflow.last_logged_model()
printed = {{
    "keys_steps": sorted([m.key, m.step] for m in model.metrics),
    # (the run's latest value is left out: with several values in one millisecond MLflow picks either)
    "values": sorted([m.key, m.step, m.value] for m in model.metrics),
    # max, not last: values logged in one millisecond come back from MLflow in either order
    "max_step_of_each_key": {{key: max(m.step for m in model.metrics if m.key == key)
                             for key in sorted({{m.key for m in model.metrics}})}},
    "status": str(model.status), "name": model.name,
}}
'''


@pytest.mark.interop
@pytest.mark.slow
def test_train_links_metrics_to_the_model_as_mlflow_does(tmp_path, tracking_state):
    theirs, ours = run_scenario_both_ways(_TRAIN_SCENARIO, tmp_path, tracking_state,
                                          after=lambda: mlcask.lightgbm.autolog(disable=True))
    assert theirs["max_step_of_each_key"]["stopped_iteration"] == 0
    assert ours == theirs
