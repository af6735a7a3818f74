"""mlcask's fluent API and client against a tracking server (``mlflow server``, and ``mlcask server``
when it exists): experiments, runs, params, metrics and history, tags, searches with paging,
batches beyond MLflow's per-request limits, artifacts through the proxy, logged models, errors."""

from __future__ import annotations

import json
import math
import uuid

import pytest

import mlcask
from mlcask.entities import Metric, Param, RunTag, ViewType
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.tracking import MlflowClient
from mlcask.tracking.rest import RestRegistryStore, RestTrackingStore


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_server_uri_selects_the_rest_stores(remote, monkeypatch):
    client = MlflowClient()
    assert isinstance(client.store, RestTrackingStore)
    assert isinstance(client._registry, RestRegistryStore)
    from mlcask.tracking import context

    context.reset()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", remote.url)
    assert isinstance(MlflowClient().store, RestTrackingStore)
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.setenv("MLCASK_TRACKING_URI", remote.url)
    name = unique("env")
    experiment_id = mlcask.create_experiment(name)
    assert MlflowClient(remote.url).get_experiment_by_name(name).experiment_id == experiment_id


def test_experiments(remote):
    client = MlflowClient()
    name = unique("exp")
    experiment_id = client.create_experiment(name, tags={"team": "a"})
    experiment = client.get_experiment(experiment_id)
    assert (experiment.name, experiment.tags["team"]) == (name, "a")
    assert experiment.artifact_location.startswith("mlflow-artifacts:")
    assert client.get_experiment_by_name(name).experiment_id == experiment_id
    assert client.get_experiment_by_name(unique("missing")) is None
    client.set_experiment_tag(experiment_id, "stage", "dev")
    client.rename_experiment(experiment_id, name + "-renamed")
    renamed = client.get_experiment(experiment_id)
    assert (renamed.name, renamed.tags["stage"]) == (name + "-renamed", "dev")
    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{name}-renamed'")
    assert [e.experiment_id for e in deleted] == [experiment_id]
    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"
    with pytest.raises(MlcaskException) as caught:
        client.create_experiment(name + "-renamed")
    assert caught.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_search_experiments_pages(remote):
    client = MlflowClient()
    prefix = unique("page")
    ids = {client.create_experiment(f"{prefix}-{i}") for i in range(5)}
    seen, token, pages = set(), None, 0
    while True:
        page = client.search_experiments(max_results=2, filter_string=f"name LIKE '{prefix}-%'", page_token=token)
        assert len(page) <= 2
        seen |= {e.experiment_id for e in page}
        pages += 1
        token = page.token
        if token is None:
            break
    assert seen == ids and pages == 3


def test_fluent_run_params_metrics_tags_history(remote):
    mlcask.set_experiment(unique("fluent"))
    with mlcask.start_run(run_name="first") as run:
        mlcask.log_param("alpha", 0.5)
        mlcask.log_params({"depth": 3, "kind": "tree"})
        for step in range(5):
            mlcask.log_metric("loss", 1.0 / (step + 1), step=step)
        mlcask.log_metrics({"acc": 0.9, "nan": math.nan, "inf": math.inf})
        mlcask.set_tag("owner", "me")
        mlcask.set_tags({"a": "1", "b": "2"})
        run_id = run.info.run_id
    client = MlflowClient()
    fetched = client.get_run(run_id)
    assert fetched.info.status == "FINISHED" and fetched.info.end_time
    assert fetched.info.run_name == "first"
    assert fetched.data.params == {"alpha": "0.5", "depth": "3", "kind": "tree"}
    assert fetched.data.metrics["loss"] == pytest.approx(0.2)
    assert math.isnan(fetched.data.metrics["nan"])
    assert fetched.data.metrics["inf"] > 1e300
    assert {"owner": "me", "a": "1", "b": "2"}.items() <= fetched.data.tags.items()
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, pytest.approx(1.0 / (s + 1))) for s in range(5)]
    assert all(m.run_id == run_id for m in history)
    page = client.store.get_metric_history(run_id, "loss", max_results=2)
    assert len(page) == 2 and page.token
    rest = client.store.get_metric_history(run_id, "loss", max_results=10, page_token=page.token)
    assert [m.step for m in rest] == [2, 3, 4] and rest.token is None
    client.delete_tag(run_id, "a")
    assert "a" not in client.get_run(run_id).data.tags


def test_errors_carry_the_server_code(remote):
    client = MlflowClient()
    with pytest.raises(MlcaskException) as caught:
        client.get_run(uuid.uuid4().hex)
    assert caught.value.error_code == RESOURCE_DOES_NOT_EXIST
    experiment_id = client.create_experiment(unique("errors"))
    run = client.create_run(experiment_id)
    client.log_param(run.info.run_id, "p", "1")
    with pytest.raises(InvalidArgumentError) as changed:
        client.log_param(run.info.run_id, "p", "2")
    assert changed.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlcaskException):
        client.search_runs([experiment_id], filter_string="metrics.x >>> 1")


def test_search_runs_filter_order_and_pages(remote):
    client = MlflowClient()
    experiment_id = client.create_experiment(unique("search"))
    for i in range(5):
        run = client.create_run(experiment_id, run_name=f"r{i}")
        client.log_metric(run.info.run_id, "score", float(i))
        client.log_param(run.info.run_id, "parity", "even" if i % 2 == 0 else "odd")
        client.set_terminated(run.info.run_id)
    found = client.search_runs([experiment_id], "params.parity = 'even'", order_by=["metrics.score DESC"])
    assert [r.data.metrics["score"] for r in found] == [4.0, 2.0, 0.0]
    scores, token = [], None
    while True:
        page = client.search_runs([experiment_id], "", max_results=2, order_by=["metrics.score ASC"],
                                  page_token=token)
        scores += [r.data.metrics["score"] for r in page]
        token = page.token
        if not token:
            break
    assert scores == [0.0, 1.0, 2.0, 3.0, 4.0]
    frame = mlcask.search_runs([experiment_id], filter_string="metrics.score >= 3")
    assert sorted(frame["metrics.score"]) == [3.0, 4.0]


def test_log_batch_beyond_the_per_request_limits(remote):
    client = MlflowClient()
    run = client.create_run(client.create_experiment(unique("batch")))
    run_id = run.info.run_id
    params = [Param(f"p{i}", str(i)) for i in range(150)]
    tags = [RunTag(f"t{i}", str(i)) for i in range(230)]
    metrics = [Metric("m", float(i), 1_700_000_000_000 + i, i) for i in range(2_500)]
    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    fetched = client.get_run(run_id)
    assert len(fetched.data.params) == 150
    assert sum(key.startswith("t") for key in fetched.data.tags) == 230
    assert [m.step for m in client.get_metric_history(run_id, "m")] == list(range(2_500))


def test_artifacts_through_the_proxy(remote, tmp_path):
    (tmp_path / "one.txt").write_text("one")
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.json").write_text('{"a": 1}')
    (folder / "sub" / "b.bin").write_bytes(b"\x00\x01" * 1000)
    mlcask.set_experiment(unique("artifacts"))
    with mlcask.start_run() as run:
        mlcask.log_artifact(str(tmp_path / "one.txt"))
        mlcask.log_artifact(str(tmp_path / "one.txt"), artifact_path="nested/deeper")
        mlcask.log_artifacts(str(folder), artifact_path="tree")
        mlcask.log_text("hello", "notes/hello.txt")
        mlcask.log_dict({"k": [1, 2]}, "conf.yaml")
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    client = MlflowClient()
    run_id = run.info.run_id
    top = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in top] == [("conf.yaml", False), ("nested", True), ("notes", True),
                                                ("one.txt", False), ("tree", True)]
    assert [f.file_size for f in top if f.path == "one.txt"] == [3]
    assert [f.path for f in client.list_artifacts(run_id, "tree")] == ["tree/a.json", "tree/sub"]
    assert client.list_artifacts(run_id, "one.txt") == []
    local = client.download_artifacts(run_id, "tree", str(tmp_path / "out"))
    assert (tmp_path / "out" / "tree" / "sub" / "b.bin").read_bytes() == b"\x00\x01" * 1000
    assert local == str(tmp_path / "out" / "tree")
    single = client.download_artifacts(run_id, "notes/hello.txt", str(tmp_path / "single"))
    assert open(single).read() == "hello"
    with pytest.raises(InvalidArgumentError):
        client.download_artifacts(run_id, "../../etc/passwd", str(tmp_path / "bad"))


def test_logged_models(remote):
    client = MlflowClient()
    experiment_id = client.create_experiment(unique("models"))
    run = client.create_run(experiment_id)
    store = client.store
    params = {f"p{i}": str(i) for i in range(130)}  # more than one request's worth
    model = store.create_logged_model(experiment_id, "clf", run.info.run_id, tags={"t": "1"}, params=params,
                                      model_type="sklearn")
    assert model.model_id.startswith("m-") and model.status == "PENDING"
    assert model.params == params and model.tags["t"] == "1"
    ready = store.finalize_logged_model(model.model_id, "READY")
    assert ready.status == "READY"
    store.set_logged_model_tags(model.model_id, {"stage": "prod", "x y": "z"})
    store.log_logged_model_params(model.model_id, {"extra": "yes"})
    store.delete_logged_model_tag(model.model_id, "x y")
    fetched = store.get_logged_model(model.model_id)
    assert fetched.tags.get("stage") == "prod" and "x y" not in fetched.tags and fetched.params["extra"] == "yes"
    other = store.create_logged_model(experiment_id, "other", run.info.run_id)
    found = store.search_logged_models([experiment_id], "tags.stage = 'prod'")
    assert [m.model_id for m in found] == [model.model_id]
    ordered = store.search_logged_models([experiment_id], order_by=["name DESC"], max_results=1)
    assert [m.name for m in ordered] == ["other"] and ordered.token
    store.delete_logged_model(other.model_id)
    with pytest.raises(MlcaskException) as caught:
        store.get_logged_model(other.model_id)
    assert caught.value.error_code == RESOURCE_DOES_NOT_EXIST


def test_log_table_appends_through_the_proxy(remote):
    client = MlflowClient()
    run = client.create_run(client.create_experiment(unique("table")))
    client.log_table(run.info.run_id, {"a": [1, 2]}, "tables/t.json")
    client.log_table(run.info.run_id, {"a": [3]}, "tables/t.json")
    repository = client.artifact_repository(run.info.run_id)
    assert json.loads(repository.read_bytes("tables/t.json"))["data"] == [[1], [2], [3]]
    with pytest.raises(MlcaskException) as caught:
        repository.read_bytes("tables/missing.json")
    assert caught.value.error_code == RESOURCE_DOES_NOT_EXIST


def test_inputs_and_outputs(remote):
    from mlcask.entities import Dataset, DatasetInput, InputTag

    client = MlflowClient()
    experiment_id = client.create_experiment(unique("inputs"))
    run = client.create_run(experiment_id)
    run_id = run.info.run_id
    model = client.store.create_logged_model(experiment_id, "m", run_id)
    dataset = Dataset("iris", "abc123", "local", '{"uri": "/data/iris.csv"}', schema='{"mlflow_colspec": []}')
    client.store.log_inputs(run_id, datasets=[DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])],
                            models=[model.model_id])
    client.store.log_outputs(run_id, [model.model_id])
    inputs = client.get_run(run_id).inputs
    assert [(d.dataset.name, d.dataset.digest, d.dataset.source) for d in inputs.dataset_inputs] == [
        ("iris", "abc123", '{"uri": "/data/iris.csv"}')]
    assert [(t.key, t.value) for t in inputs.dataset_inputs[0].tags] == [("mlflow.data.context", "training")]
    assert inputs.model_inputs == [model.model_id]


def test_threads_share_the_pooled_client(remote):
    from concurrent.futures import ThreadPoolExecutor

    client = MlflowClient()
    experiment_id = client.create_experiment(unique("threads"))
    runs = [client.create_run(experiment_id).info.run_id for _ in range(8)]

    def log(run_id: str) -> None:
        for step in range(25):
            client.log_metric(run_id, "m", float(step), step=step)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(log, runs))
    assert all([m.step for m in client.get_metric_history(run_id, "m")] == list(range(25)) for run_id in runs)


def test_limits_are_the_servers(remote):
    client = MlflowClient()
    experiment_id = client.create_experiment(unique("limits"))
    with pytest.raises(InvalidArgumentError):
        client.search_runs([experiment_id], max_results=50_001)
    assert client.search_runs([experiment_id], max_results=50_000) == []
