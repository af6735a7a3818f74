import json

import numpy as np
import pytest

import mlcask
from mlcask.entities import RunStatus
from mlcask.models import infer_signature


def test_seed_manual_example_logs_into_the_run(tracking, breast_cancer, xgb_classifier):
    X, y = breast_cancer
    with mlcask.start_run() as run:
        info = mlcask.xgboost.log_model(xgb_classifier, artifact_path="classifier",
                                        signature=infer_signature(X, y), input_example=X.head(1))
    assert info.model_uri == f"models:/{info.model_id}" and info.model_id.startswith("m-")
    assert info.run_id == run.info.run_id and info.artifact_path == "classifier"
    assert "xgboost" in info.flavors
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/classifier"):
        loaded = mlcask.pyfunc.load_model(uri)
        np.testing.assert_array_equal(loaded.predict(X.head(20)), xgb_classifier.predict(X.head(20)))
    assert mlcask.MlflowClient().get_logged_model(info.model_id).status == "READY"
    assert isinstance(mlcask.xgboost.load_model(info.model_uri), type(xgb_classifier))
    # A runs:/ path with nothing there: MLflow's sentence first, then where mlcask looked.
    with pytest.raises(mlcask.MlflowException, match=r"^Failed to download artifacts from path 'nope', please ensure "
                                                     r"that the path is correct \(run \w+ has no artifact") as raised:
        mlcask.pyfunc.load_model(f"runs:/{run.info.run_id}/nope")
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_log_model_without_a_run_creates_and_ends_one(tracking, logistic_regression):
    info = mlcask.sklearn.log_model(logistic_regression, name="lr")
    assert mlcask.active_run() is None
    assert mlcask.get_run(info.run_id).info.status == RunStatus.FINISHED


def test_registered_model_name_registers_a_version(tracking, logistic_regression, breast_cancer):
    X, _ = breast_cancer
    first = mlcask.sklearn.log_model(logistic_regression, name="lr", registered_model_name="cancer")
    second = mlcask.sklearn.log_model(logistic_regression, name="lr", registered_model_name="cancer")
    assert (first.registered_model_version, second.registered_model_version) == (1, 2)
    client = mlcask.MlflowClient()
    client.set_registered_model_alias("cancer", "champion", 1)
    for uri in ("models:/cancer/1", "models:/cancer@champion", "models:/cancer/latest"):
        np.testing.assert_array_equal(mlcask.pyfunc.load_model(uri).predict(X.head(5)),
                                      logistic_regression.predict(X.head(5)))
    assert client.get_model_version("cancer", 2).model_id == second.model_id
    dependencies = mlcask.pyfunc.get_model_dependencies("models:/cancer@champion")
    assert "scikit-learn==" in open(dependencies).read()


def test_register_model_from_a_runs_uri(tracking, xgb_classifier):
    with mlcask.start_run() as run:
        info = mlcask.xgboost.log_model(xgb_classifier, name="model")
    version = mlcask.register_model(f"runs:/{run.info.run_id}/model", "xgb")
    assert version.version == "1" and version.model_id == info.model_id and version.run_id == run.info.run_id


def test_custom_pyfunc_log_model(tracking, tmp_path):
    class Doubler(mlcask.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input * 2

    info = mlcask.pyfunc.log_model(name="doubler", python_model=Doubler())
    assert list(mlcask.pyfunc.load_model(info.model_uri).predict(np.array([1, 2]))) == [2, 4]


def test_a_failed_save_marks_the_logged_model_failed(tracking, xgb_classifier):
    with mlcask.start_run():
        with pytest.raises(mlcask.exceptions.InvalidArgumentError, match="model_format"):
            mlcask.xgboost.log_model(xgb_classifier, name="bad", model_format="pkl")
        run_id = mlcask.active_run().info.run_id
    client = mlcask.MlflowClient()
    models = client.search_logged_models([mlcask.get_run(run_id).info.experiment_id])
    assert [m.status for m in models] == ["FAILED"]


def test_unknown_model_uris_are_clear_errors(tracking):
    from mlcask.exceptions import MlcaskException

    with pytest.raises(MlcaskException, match="nosuch"):
        mlcask.pyfunc.load_model("models:/nosuch/1")
    with pytest.raises(mlcask.exceptions.InvalidArgumentError, match="give a version"):
        mlcask.pyfunc.load_model("models:/justaname")


def test_copy_model_version_across_names(tracking, logistic_regression, breast_cancer):
    X, _ = breast_cancer
    mlcask.sklearn.log_model(logistic_regression, name="lr", registered_model_name="staging-model")
    client = mlcask.MlflowClient()
    client.set_registered_model_alias("staging-model", "candidate", 1)
    copied = client.copy_model_version("models:/staging-model@candidate", "prod-model")
    assert (copied.name, copied.version) == ("prod-model", "1")
    np.testing.assert_array_equal(mlcask.pyfunc.load_model("models:/prod-model/1").predict(X.head(3)),
                                  logistic_regression.predict(X.head(3)))
    with pytest.raises(mlcask.exceptions.InvalidArgumentError, match="copy_model_version takes"):
        client.copy_model_version("models:/m-123", "x")


def test_log_model_records_the_model_as_an_output_of_its_run(tracking_state, tmp_path):
    import mlcask
    from tests.support import Doubler

    tracking_state(f"sqlite:///{tmp_path / 'o.db'}", tmp_path / "artifacts")
    with mlcask.start_run() as run:
        info = mlcask.pyfunc.log_model(name="doubler", python_model=Doubler())
    outputs = mlcask.MlflowClient().get_run(run.info.run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(info.model_uri.removeprefix("models:/"), 0)]


def test_register_model_prints_mlflows_messages_and_tags_the_logged_model(tracking, xgb_classifier, capsys):
    with mlcask.start_run():
        info = mlcask.xgboost.log_model(xgb_classifier, name="model")
    first = mlcask.register_model(info.model_uri, "fluent-xgb", tags={"team": "a"}, await_registration_for=5)
    second = mlcask.register_model(info.model_uri, "fluent-xgb", await_registration_for=None)
    err = capsys.readouterr().err
    assert "Successfully registered model 'fluent-xgb'." in err
    assert "Registered model 'fluent-xgb' already exists. Creating a new version of this model..." in err
    assert "Created version '2' of model 'fluent-xgb'." in err
    assert (first.version, second.version, first.status) == ("1", "2", "READY")
    assert first.tags == {"team": "a"}
    listed = json.loads(mlcask.get_logged_model(info.model_id).tags["mlflow.modelVersions"])
    assert listed == [{"name": "fluent-xgb", "version": 1}, {"name": "fluent-xgb", "version": 2}]
