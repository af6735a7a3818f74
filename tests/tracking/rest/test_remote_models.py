"""The model registry, ``log_model`` and ``load_model`` against a tracking server: registered models,
versions, aliases, tags, stages, searches; models logged through the artifact proxy with a signature
and an input example, loaded back from ``models:/name@alias`` and ``models:/m-...`` through the private
download cache, verified; sklearn autolog."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pytest

import mlcask
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, MlcaskException
from mlcask.models import infer_signature
from mlcask.models.integrity import ModelIntegrityError
from mlcask.tracking import MlflowClient, downloads


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def cache_folder() -> Path:
    return Path(os.environ["MLCASK_MODEL_CACHE"])


def test_registry_calls(remote):
    client = MlflowClient()
    run = client.create_run(client.create_experiment(unique("registry")))
    name = unique("model")
    created = client.create_registered_model(name, tags={"team": "a"}, description="first")
    assert (created.name, created.description, created.tags) == (name, "first", {"team": "a"})
    source = f"{run.info.artifact_uri}/model"
    v1 = client.create_model_version(name, source, run.info.run_id, tags={"k": "v"})
    v2 = client.create_model_version(name, source, run.info.run_id, description="second")
    assert (v1.version, v2.version) == ("1", "2") and v1.tags == {"k": "v"}
    client.set_registered_model_alias(name, "champion", v1.version)
    by_alias = client.get_model_version_by_alias(name, "champion")
    assert by_alias.version == "1" and "champion" in by_alias.aliases
    assert client.get_registered_model(name).aliases == {"champion": "1"}
    client.set_model_version_tag(name, "2", "quality", "good")
    client.delete_model_version_tag(name, "1", "k")
    assert client.get_model_version(name, "2").tags == {"quality": "good"}
    assert client.get_model_version(name, "1").tags == {}
    staged = client._registry.transition_model_version_stage(name, "2", "Staging")
    assert staged.current_stage == "Staging"
    assert [v.version for v in client.get_latest_versions(name, ["Staging"])] == ["2"]
    assert client.update_model_version(name, "1", description="changed").description == "changed"
    client.set_registered_model_tag(name, "owner", "me")
    client.delete_registered_model_tag(name, "team")
    assert client.get_registered_model(name).tags == {"owner": "me"}
    assert client.update_registered_model(name, description="new").description == "new"
    assert client.get_model_version_download_uri(name, "1") == source
    versions = client.search_model_versions(f"name = '{name}'")
    assert sorted(v.version for v in versions) == ["1", "2"]
    page = client.search_registered_models(f"name = '{name}'", max_results=1)
    assert [m.name for m in page] == [name]
    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(MlcaskException) as caught:
        client.get_model_version_by_alias(name, "champion")
    assert caught.value.error_code in (RESOURCE_DOES_NOT_EXIST, "INVALID_PARAMETER_VALUE")
    copy_name = unique("copy")
    copied = client.copy_model_version(f"models:/{name}/2", copy_name)
    assert (copied.name, copied.version, copied.source) == (copy_name, "1", f"models:/{name}/2")
    renamed = client.rename_registered_model(copy_name, copy_name + "-x")
    assert renamed.name == copy_name + "-x"
    client.delete_model_version(name, "1")
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["2"]
    client.delete_registered_model(name)
    with pytest.raises(MlcaskException) as missing:
        client.get_registered_model(name)
    assert missing.value.error_code == RESOURCE_DOES_NOT_EXIST


def test_search_registered_models_pages(remote):
    client = MlflowClient()
    prefix = unique("paged")
    names = {client.create_registered_model(f"{prefix}-{i}").name for i in range(3)}
    seen, token = set(), None
    while True:
        page = client.search_registered_models(f"name LIKE '{prefix}-%'", max_results=2, page_token=token)
        seen |= {m.name for m in page}
        token = page.token
        if not token:
            break
    assert seen == names


@pytest.fixture
def iris_model():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    return LogisticRegression(max_iter=300).fit(X, y), X


def test_log_model_register_and_load_from_the_server(remote, iris_model):
    model, X = iris_model
    name = unique("iris")
    mlcask.set_experiment(unique("log-model"))
    with mlcask.start_run():
        info = mlcask.sklearn.log_model(model, name="model", signature=infer_signature(X, model.predict(X)),
                                        input_example=X.head(3), registered_model_name=name)
    assert info.model_uri.startswith("models:/m-")
    client = MlflowClient()
    logged = client.get_logged_model(info.model_uri.removeprefix("models:/"))
    assert logged.status == "READY" and logged.artifact_location.startswith("mlflow-artifacts:")
    files = {f.path for f in mlcask.tracking.artifacts.get_artifact_repository(
        logged.artifact_location, remote.url).list_artifacts()}
    assert {"MLmodel", "input_example.json", "serving_input_example.json", "requirements.txt"} <= files
    client.set_registered_model_alias(name, "champion", info.registered_model_version)

    expected = model.predict(X.head(5))
    by_alias = mlcask.pyfunc.load_model(f"models:/{name}@champion")
    assert np.array_equal(np.asarray(by_alias.predict(X.head(5))).ravel(), expected)
    by_id = mlcask.sklearn.load_model(info.model_uri)
    assert np.array_equal(by_id.predict(X.head(5)), expected)
    by_run = mlcask.pyfunc.load_model(f"runs:/{logged.source_run_id}/model")
    assert np.array_equal(np.asarray(by_run.predict(X.head(5))).ravel(), expected)
    assert by_alias.metadata.signature is not None
    entry = downloads.model_cache_folder(logged.artifact_location, remote.url)
    versions = [p for p in entry.iterdir() if not p.name.startswith(".")]
    assert len(versions) == 1 and (versions[0] / "MLmodel").is_file()
    assert (entry.stat().st_mode & 0o777) == 0o700 and (cache_folder().stat().st_mode & 0o777) == 0o700

    # The cached copy is verified like a local folder on every load: a changed file there is refused.
    (versions[0] / "requirements.txt").write_text("tampered==1\n")
    with pytest.raises(ModelIntegrityError):
        mlcask.pyfunc.load_model(f"models:/{name}@champion")


def test_register_model_from_a_remote_run(remote, iris_model):
    model, X = iris_model
    name = unique("registered")
    mlcask.set_experiment(unique("register"))
    with mlcask.start_run() as run:
        mlcask.sklearn.log_model(model, name="model")
    version = mlcask.register_model(f"runs:/{run.info.run_id}/model", name)
    assert version.version == "1" and version.run_id == run.info.run_id
    loaded = mlcask.sklearn.load_model(f"models:/{name}/1")
    assert np.array_equal(loaded.predict(X.head(3)), model.predict(X.head(3)))


def test_tampered_download_is_refused(remote, iris_model, tmp_path):
    from mlcask.tracking.artifacts import get_artifact_repository
    from mlcask.tracking.downloads import download_model

    model, X = iris_model
    mlcask.set_experiment(unique("tamper"))
    with mlcask.start_run():
        info = mlcask.sklearn.log_model(model, name="model")
    logged = MlflowClient().get_logged_model(info.model_uri.removeprefix("models:/"))
    first = download_model(logged.artifact_location, remote.url)
    assert download_model(logged.artifact_location, remote.url) == first  # unchanged remote: the cached copy
    repository = get_artifact_repository(logged.artifact_location, remote.url)
    repository.write_bytes("requirements.txt", b"evil==1.0\n")  # changed on the server, manifest not
    with pytest.raises(ModelIntegrityError):
        download_model(logged.artifact_location, remote.url)
    assert download_model.__module__ == "mlcask.tracking.downloads"


def test_sklearn_autolog_to_the_server(remote, iris_model):
    from sklearn.tree import DecisionTreeClassifier

    _, X = iris_model
    y = (X.iloc[:, 0] > X.iloc[:, 0].median()).astype(int)
    mlcask.set_experiment(unique("autolog"))
    mlcask.sklearn.autolog()
    try:
        with mlcask.start_run() as run:
            DecisionTreeClassifier(max_depth=2).fit(X, y)
    finally:
        mlcask.sklearn.autolog(disable=True)
    fetched = MlflowClient().get_run(run.info.run_id)
    assert fetched.data.params["max_depth"] == "2"
    assert "training_accuracy_score" in fetched.data.metrics
    models = MlflowClient().search_logged_models([run.info.experiment_id])
    assert models and models[0].source_run_id == run.info.run_id
