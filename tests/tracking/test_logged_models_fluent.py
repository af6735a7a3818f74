"""The fluent API of MLflow 3's logged models: last_logged_model, search_logged_models,
initialize/finalize/get, external models, model tags and params, the active model, and
metrics linked to logged models."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
import yaml

import mlcask
from mlcask.entities import LoggedModelStatus
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.tracking.artifacts import get_artifact_repository
from tests.support import run_scenario_both_ways


class Echo(mlcask.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def test_last_logged_model_is_none_then_the_latest_initialized_model(tracking):
    assert mlcask.last_logged_model() is None
    first = mlcask.initialize_logged_model(name="first", tags={"t": 1}, params={"p": 2}, model_type="agent")
    assert first.status == LoggedModelStatus.PENDING and first.status.to_int() == 1
    assert first.tags["t"] == "1" and first.tags["mlflow.source.type"] == "LOCAL" and "mlflow.user" in first.tags
    assert first.params == {"p": "2"} and first.model_type == "agent" and first.experiment_id == "0"
    assert mlcask.last_logged_model().model_id == first.model_id
    second = mlcask.initialize_logged_model()
    assert second.name and second.name != "first"  # a random name, as MLflow's
    assert mlcask.last_logged_model().model_id == second.model_id


def test_log_model_sets_the_last_logged_model_and_links_later_metrics(tracking):
    with mlcask.start_run() as run:
        info = mlcask.pyfunc.log_model(name="echo", python_model=Echo())
        mlcask.log_metric("after", 1.0)
        mlcask.log_metric("other_step", 2.0, step=3)
    last = mlcask.last_logged_model()
    assert last.model_id == info.model_id and last.status == LoggedModelStatus.READY
    assert last.source_run_id == run.info.run_id and last.name == "echo"
    assert [(m.key, m.step, m.run_id) for m in last.metrics] == [("after", 0, run.info.run_id)]


def test_initialize_uses_the_active_run_and_finalize_sets_the_status(tracking):
    with mlcask.start_run() as run:
        model = mlcask.initialize_logged_model(name="m")
    assert model.source_run_id == run.info.run_id
    assert mlcask.finalize_logged_model(model.model_id, LoggedModelStatus.READY).status == "READY"
    assert mlcask.get_logged_model(model.model_id).status == LoggedModelStatus.READY
    failed = mlcask.initialize_logged_model(name="f")
    assert mlcask.finalize_logged_model(failed.model_id, "FAILED").status == LoggedModelStatus.FAILED
    with pytest.raises(InvalidArgumentError, match="READY or FAILED"):
        mlcask.finalize_logged_model(failed.model_id, "PENDING")


def test_the_experiment_of_a_new_model_is_mlflows(tracking, monkeypatch):
    experiment_id = mlcask.create_experiment("elsewhere")
    with mlcask.start_run(experiment_id=experiment_id) as run:
        assert mlcask.initialize_logged_model().experiment_id == experiment_id  # the active run's
    # no active run: the experiment of fluent calls (here the Default one), not the source run's, as in MLflow
    model = mlcask.initialize_logged_model(source_run_id=run.info.run_id)
    assert model.experiment_id == "0" and model.source_run_id == run.info.run_id
    mlcask.set_experiment(experiment_id=experiment_id)
    assert mlcask.create_external_model().experiment_id == experiment_id
    assert mlcask.initialize_logged_model(experiment_id="0").experiment_id == "0"
    # only when there is no such experiment (MLflow: Databricks jobs), the source run's
    monkeypatch.setattr(mlcask.tracking.fluent, "_get_experiment_id", lambda: None)
    assert mlcask.initialize_logged_model(source_run_id=run.info.run_id).experiment_id == experiment_id


def test_create_external_model_is_ready_tagged_and_holds_an_mlmodel(tracking):
    model = mlcask.create_external_model(name="ext", params={"k": 1})
    assert model.status == LoggedModelStatus.READY
    assert model.tags["mlflow.model.isExternal"] == "true" and model.params == {"k": "1"}
    assert mlcask.last_logged_model().model_id == model.model_id
    repository = get_artifact_repository(model.artifact_location, mlcask.get_tracking_uri())
    meta = yaml.safe_load(repository.read_bytes("MLmodel"))
    assert meta["model_id"] == model.model_id and meta["metadata"] == {"mlflow.model.isExternal": True}


def test_search_logged_models_as_a_list_and_as_mlflows_frame(tracking):
    a = mlcask.initialize_logged_model(name="a", params={"alpha": "0.1"})
    b = mlcask.create_external_model(name="b")
    assert [m.name for m in mlcask.search_logged_models(output_format="list")] == ["b", "a"]  # newest first
    assert [m.model_id for m in mlcask.search_logged_models(filter_string="name = 'a'", output_format="list")] == [
        a.model_id]
    ordered = mlcask.search_logged_models(order_by=[{"field_name": "creation_time", "ascending": True}],
                                          output_format="list")
    assert [m.name for m in ordered] == ["a", "b"]
    assert len(mlcask.search_logged_models(max_results=1, output_format="list")) == 1
    frame = mlcask.search_logged_models()
    assert list(frame.columns) == ["artifact_location", "creation_timestamp", "experiment_id",
                                   "last_updated_timestamp", "metrics", "model_id", "model_type", "name", "params",
                                   "source_run_id", "status", "status_message", "tags"]
    assert list(frame["model_id"]) == [b.model_id, a.model_id]
    assert list(frame["status"]) == ["READY", "PENDING"] and frame["params"][1] == {"alpha": "0.1"}
    with pytest.raises(MlcaskException, match="Unsupported output format: 'csv'. Supported string values are "
                                              "'pandas' or 'list'"):
        mlcask.search_logged_models(output_format="csv")


def test_search_logged_models_follows_pages(tracking):
    ids = {mlcask.initialize_logged_model(name=f"m{i}").model_id for i in range(5)}
    client = mlcask.MlflowClient()
    page = client.search_logged_models(["0"], max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_logged_models(["0"], max_results=10, page_token=page.token)
    assert {m.model_id for m in [*page, *rest]} == ids
    assert {m.model_id for m in mlcask.search_logged_models(output_format="list")} == ids


def test_model_tags_and_params(tracking):
    model = mlcask.initialize_logged_model(name="m")
    mlcask.set_logged_model_tags(model.model_id, {"stage": "prod", "n": 3})
    mlcask.log_model_params({"lr": 0.1}, model_id=model.model_id)
    stored = mlcask.get_logged_model(model.model_id)
    assert stored.tags["stage"] == "prod" and stored.tags["n"] == "3" and stored.params == {"lr": "0.1"}
    mlcask.delete_logged_model_tag(model.model_id, "stage")
    assert "stage" not in mlcask.get_logged_model(model.model_id).tags
    with pytest.raises(MlcaskException, match="No tag with key 'stage' found for model with ID") as missing:
        mlcask.delete_logged_model_tag(model.model_id, "stage")
    assert missing.value.error_code == RESOURCE_DOES_NOT_EXIST
    with pytest.raises(MlcaskException, match="Logged model with ID 'm-nope' not found"):
        mlcask.get_logged_model("m-nope")
    with pytest.raises(InvalidArgumentError, match="`model_id` must be a non-empty string, but got None"):
        mlcask.log_model_params({"lr": 1})


def test_the_active_model_receives_metrics_and_params(tracking):
    with mlcask.set_active_model(name="agent") as active:
        assert mlcask.get_active_model_id() == active.model_id and active.status == LoggedModelStatus.READY
        with mlcask.start_run() as run:
            mlcask.log_metric("quality", 0.8)
            mlcask.log_metrics({"speed": 3.0})
        mlcask.log_model_params({"temperature": 0.2})
    assert mlcask.get_active_model_id() is None
    model = mlcask.get_logged_model(active.model_id)
    history = mlcask.MlflowClient().get_metric_history(run.info.run_id, "quality")
    assert [m.model_id for m in history] == [active.model_id]
    assert model.params == {"temperature": "0.2"}
    assert mlcask.get_run(run.info.run_id).inputs.model_inputs == [active.model_id]
    again = mlcask.set_active_model(name="agent")  # the existing model of that name, not a new one
    assert again.model_id == active.model_id and mlcask.get_active_model_id() == active.model_id
    mlcask.clear_active_model()
    assert mlcask.get_active_model_id() is None


def test_set_active_model_errors(tracking):
    with pytest.raises(InvalidArgumentError, match="Either name or model_id must be provided"):
        mlcask.set_active_model()
    model = mlcask.initialize_logged_model(name="right")
    with pytest.raises(InvalidArgumentError, match="has name 'right', which does not match the provided name 'x'"):
        mlcask.set_active_model(name="x", model_id=model.model_id)
    assert mlcask.set_active_model(model_id=model.model_id).model_id == model.model_id
    mlcask.clear_active_model()


def test_metrics_with_model_id_and_dataset_link_both_to_the_run(tracking):
    dataset = mlcask.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0]}), name="eval")
    model = mlcask.initialize_logged_model(name="m")
    with mlcask.start_run() as run:
        mlcask.log_metric("acc", 0.9, model_id=model.model_id, dataset=dataset)
        mlcask.log_metrics({"f1": 0.7}, model_id=model.model_id, dataset=dataset)
    history = mlcask.MlflowClient().get_metric_history(run.info.run_id, "acc")
    assert [(m.model_id, m.dataset_name, m.dataset_digest) for m in history] == [
        (model.model_id, "eval", dataset.digest)]
    stored = mlcask.get_run(run.info.run_id)
    assert [i.dataset.name for i in stored.inputs.dataset_inputs] == ["eval"]  # logged once
    assert stored.inputs.model_inputs == [model.model_id]
    assert mlcask.search_logged_models(filter_string="metrics.acc > 0.5", output_format="list")[0].model_id == \
        model.model_id


def test_last_logged_model_is_per_thread(tracking):
    mine = mlcask.initialize_logged_model(name="main")
    seen = {}

    def other():
        seen["before"] = mlcask.last_logged_model()
        seen["own"] = mlcask.initialize_logged_model(name="thread").model_id
        seen["after"] = mlcask.last_logged_model().model_id

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen["before"] is None and seen["after"] == seen["own"]
    assert mlcask.last_logged_model().model_id == mine.model_id


def test_unreadable_models_are_refused_with_mlflows_messages(tracking):
    with pytest.raises(InvalidArgumentError, match="Failed to get logged model with ID m-nope. You may not have "
                                                   "access to the logged model"):
        mlcask.set_logged_model_tags("m-nope", {"t": "v"})
    with pytest.raises(InvalidArgumentError, match="You may not have access to the logged model"):
        mlcask.log_model_params({"p": 1}, model_id="m-nope")
    for call in (lambda: mlcask.get_logged_model(""), lambda: mlcask.finalize_logged_model(None, "READY"),
                 lambda: mlcask.MlflowClient().delete_logged_model_tag("", "k")):
        with pytest.raises(InvalidArgumentError, match="`model_id` must be a non-empty string"):
            call()


def test_client_logs_and_lists_a_logged_models_artifacts(tracking, tmp_path):
    client = mlcask.MlflowClient()
    model = client.create_logged_model(experiment_id="0")
    (tmp_path / "file").write_text("a")
    client.log_model_artifact(model.model_id, str(tmp_path / "file"))
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "deep.txt").write_text("bbb")
    client.log_model_artifacts(model.model_id, folder)
    listed = sorted((f.path, f.is_dir, f.file_size) for f in client.list_logged_model_artifacts(model.model_id))
    assert listed == [("file", False, 1), ("sub", True, None)]
    assert [f.path for f in client.list_logged_model_artifacts(model.model_id, "sub")] == ["sub/deep.txt"]


def test_client_log_batch_and_log_metric_link_to_the_active_model(tracking):
    from mlcask.entities import Metric

    client = mlcask.MlflowClient()
    with mlcask.set_active_model(name="linked") as active:
        run = client.create_run("0")
        client.log_batch(run.info.run_id, metrics=[Metric("batch", 1.0, 1, 0)])
        client.log_metric(run.info.run_id, "single", 2.0)
        other = mlcask.initialize_logged_model(name="other")
        client.log_metric(run.info.run_id, "explicit", 3.0, model_id=other.model_id)
    history = {key: [m.model_id for m in client.get_metric_history(run.info.run_id, key)]
               for key in ("batch", "single", "explicit")}
    assert history == {"batch": [active.model_id], "single": [active.model_id], "explicit": [other.model_id]}


class _Doubles(mlcask.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input * 2


def test_an_external_model_is_refused_by_pyfunc_until_a_model_is_logged_into_it(tracking, tmp_path):
    model = mlcask.create_external_model(name="ext")
    with pytest.raises(MlcaskException, match="This model's artifacts are external.*cannot be loaded") as info:
        mlcask.pyfunc.load_model(f"models:/{model.model_id}")
    assert info.value.error_code == "BAD_REQUEST"
    logged = mlcask.pyfunc.log_model(python_model=_Doubles(), model_id=model.model_id)
    loaded = mlcask.pyfunc.load_model(logged.model_uri)
    assert loaded.predict(pd.DataFrame({"x": [1, 2]}))["x"].tolist() == [2, 4]
    assert "mlflow.model.isExternal" not in mlcask.get_logged_model(model.model_id).tags
    assert "mlflow.model.isExternal" not in (mlcask.models.Model.load(logged.model_uri).metadata or {})


# Runs as is with ``mlflow`` (MLflow's venv) and with ``mlcask as mlflow``; fills ``printed`` with what
# both must agree on: the order of a model's metrics and the dataset of a value logged with a
# dataset entity read back from the run's inputs.
_METRICS_SCENARIO = '''
{imports}
Metric = mlflow.entities.Metric

mlflow.set_tracking_uri({uri!r})
client = mlflow.MlflowClient()
with mlflow.start_run() as run:
    run_id = run.info.run_id
    source = HTTPDatasetSource(url="some_uri")
    mlflow.log_input(MetaDataset(source=source, name="my_dataset", digest="12345678"), context="eval")
    entity = mlflow.get_run(run_id).inputs.dataset_inputs[0].dataset
    model = mlflow.initialize_logged_model("m")
    client.log_batch(run_id, metrics=[Metric("b", 1.0, 3000, 0, model_id=model.model_id),
                                      Metric("a", 5.0, 2000, 5, model_id=model.model_id),
                                      Metric("a", 1.0, 3000, 1, model_id=model.model_id)])
    mlflow.log_metric("a", 2.0, step=9, timestamp=1000, model_id=model.model_id)
    mlflow.log_metric("a", 3.0, step=2, timestamp=4000, model_id=model.model_id)
    mlflow.log_metric("accuracy", 0.95, dataset=entity, model_id=model.model_id, timestamp=5000)
    mlflow.log_metric("recall", 0.8, dataset=entity)
metrics = mlflow.get_logged_model(model.model_id).metrics
printed = {{
    "order": [[m.key, m.value, m.step, m.timestamp] for m in metrics],
    "last_per_key": {{m.key: m.value for m in metrics}},
    "datasets": {{m.key: [m.dataset_name, m.dataset_digest] for m in metrics}},
    "run": mlflow.get_run(run_id).data.metrics,
}}
'''


def test_a_models_metrics_come_back_in_the_order_they_were_logged(tracking):
    from mlcask.entities import Metric

    client = mlcask.MlflowClient()
    with mlcask.start_run() as run:
        model = mlcask.initialize_logged_model("m")
        client.log_batch(run.info.run_id, metrics=[Metric("b", 1.0, 3000, 0, model_id=model.model_id),
                                                   Metric("a", 5.0, 2000, 5, model_id=model.model_id)])
        mlcask.log_metric("a", 2.0, step=9, timestamp=1000, model_id=model.model_id)
        mlcask.log_metric("a", 3.0, step=2, timestamp=4000, model_id=model.model_id)
        mlcask.log_metric("linked", 7.0)  # a run value, linked at step 0 by log_model: after those above
        mlcask.pyfunc.log_model(name="m", python_model=Echo(), model_id=model.model_id)
    metrics = mlcask.get_logged_model(model.model_id).metrics
    assert [(m.key, m.step) for m in metrics] == [("b", 0), ("a", 5), ("a", 9), ("a", 2), ("linked", 0)]
    # MLflow's tests build {key: value} from the list: the most recently logged value wins, as in MLflow
    assert {m.key: m.value for m in metrics} == {"b": 1.0, "a": 3.0, "linked": 7.0}
    assert mlcask.get_run(run.info.run_id).data.metrics["a"] == 2.0  # the run's latest: the highest step


def test_log_metric_takes_a_dataset_entity_read_back_from_the_run(tracking):
    from mlcask.data.http_dataset_source import HTTPDatasetSource
    from mlcask.data.meta_dataset import MetaDataset

    with mlcask.start_run() as run:
        mlcask.log_input(MetaDataset(source=HTTPDatasetSource(url="u"), name="my_dataset", digest="12345678"),
                         context="eval")
        entity = mlcask.get_run(run.info.run_id).inputs.dataset_inputs[0].dataset
        model = mlcask.initialize_logged_model("m")
        mlcask.log_metric("accuracy", 0.95, dataset=entity, model_id=model.model_id)
        mlcask.log_metric("recall", 0.8, dataset=entity)
    assert mlcask.get_run(run.info.run_id).data.metrics == {"accuracy": 0.95, "recall": 0.8}
    (value,) = mlcask.get_logged_model(model.model_id).metrics
    assert (value.key, value.dataset_name, value.dataset_digest) == ("accuracy", "my_dataset", "12345678")
    assert [i.dataset.name for i in mlcask.get_run(run.info.run_id).inputs.dataset_inputs] == ["my_dataset"]


@pytest.mark.interop
@pytest.mark.slow
def test_a_models_metrics_order_and_datasets_are_mlflows(tmp_path, tracking_state):
    def imports(package):
        return (f"{'import mlflow' if package == 'mlflow' else 'import mlcask as mlflow'}\n"
                f"from {package}.data.http_dataset_source import HTTPDatasetSource\n"
                f"from {package}.data.meta_dataset import MetaDataset\nimport json")

    theirs, ours = run_scenario_both_ways(_METRICS_SCENARIO, tmp_path, tracking_state,
                                          imports=(imports("mlflow"), imports("mlcask")))
    assert theirs["last_per_key"] == {"b": 1.0, "a": 3.0, "accuracy": 0.95}
    assert ours == theirs
