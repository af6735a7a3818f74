"""MLflow's tracking REST API over real HTTP: every endpoint's answer and its refusals."""

from __future__ import annotations

import math
import uuid

import pytest


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def refused(response, status: int, code: str, *fragments: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_code", "message"} and body["error_code"] == code, body
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    return body["message"]


@pytest.fixture
def experiment_id(shared_server) -> str:
    return ok(shared_server.api("POST", "/experiments/create", json={"name": _name("exp")}))["experiment_id"]


@pytest.fixture
def run_id(shared_server, experiment_id) -> str:
    created = ok(shared_server.api("POST", "/runs/create", json={
        "experiment_id": experiment_id, "user_id": "ann", "start_time": 1000, "run_name": "first",
        "tags": [{"key": "team", "value": "a"}]}))
    return created["run"]["info"]["run_id"]


# -- experiments -----------------------------------------------------------------------------------------------------

def test_experiment_lifecycle(shared_server):
    api = shared_server.api
    name = _name("life")
    experiment_id = ok(api("POST", "/experiments/create", json={
        "name": name, "tags": [{"key": "k", "value": "v"}]}))["experiment_id"]
    experiment = ok(api("GET", "/experiments/get", params={"experiment_id": experiment_id}))["experiment"]
    assert experiment["name"] == name and experiment["lifecycle_stage"] == "active"
    assert experiment["artifact_location"] == f"mlflow-artifacts:/{experiment_id}"
    assert experiment["tags"] == [{"key": "k", "value": "v"}]
    assert isinstance(experiment["creation_time"], int)
    by_name = ok(api("GET", "/experiments/get-by-name", params={"experiment_name": name}))["experiment"]
    assert by_name == experiment

    ok(api("POST", "/experiments/update", json={"experiment_id": experiment_id, "new_name": name + "-2"}))
    ok(api("POST", "/experiments/set-experiment-tag", json={"experiment_id": experiment_id, "key": "x",
                                                            "value": "1"}))
    ok(api("POST", "/experiments/delete-experiment-tag", json={"experiment_id": experiment_id, "key": "k"}))
    experiment = ok(api("GET", "/experiments/get", params={"experiment_id": experiment_id}))["experiment"]
    assert experiment["name"] == name + "-2" and experiment["tags"] == [{"key": "x", "value": "1"}]

    ok(api("POST", "/experiments/delete", json={"experiment_id": experiment_id}))
    deleted = ok(api("GET", "/experiments/get", params={"experiment_id": experiment_id}))["experiment"]
    assert deleted["lifecycle_stage"] == "deleted"
    ok(api("POST", "/experiments/restore", json={"experiment_id": experiment_id}))
    restored = ok(api("GET", "/experiments/get", params={"experiment_id": experiment_id}))["experiment"]
    assert restored["lifecycle_stage"] == "active"


def test_search_experiments_get_and_post_with_paging(shared_server):
    api = shared_server.api
    prefix = _name("search")
    for i in range(3):
        ok(api("POST", "/experiments/create", json={"name": f"{prefix}-{i}"}))
    body = {"filter": f"name LIKE '{prefix}-%'", "max_results": 2, "order_by": ["name ASC"]}
    first = ok(api("POST", "/experiments/search", json=body))
    assert [e["name"] for e in first["experiments"]] == [f"{prefix}-0", f"{prefix}-1"]
    second = ok(api("POST", "/experiments/search", json={**body, "page_token": first["next_page_token"]}))
    assert [e["name"] for e in second["experiments"]] == [f"{prefix}-2"] and "next_page_token" not in second
    via_get = ok(api("GET", "/experiments/search", params={**body, "order_by": ["name DESC"]}))
    assert [e["name"] for e in via_get["experiments"]] == [f"{prefix}-2", f"{prefix}-1"]
    deleted = ok(api("GET", "/experiments/search", params={"view_type": "DELETED_ONLY", "filter": body["filter"]}))
    assert deleted == {"experiments": []}


def test_experiment_refusals(shared_server):
    api = shared_server.api
    refused(api("GET", "/experiments/get", params={"experiment_id": "987654"}), 404, "RESOURCE_DOES_NOT_EXIST")
    refused(api("GET", "/experiments/get-by-name", params={"experiment_name": _name("none")}), 404,
            "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name")
    refused(api("POST", "/experiments/create", json={}), 400, "INVALID_PARAMETER_VALUE",
            "Missing value for required parameter 'name'")
    refused(api("POST", "/experiments/create", json={"name": ["a"]}), 400, "INVALID_PARAMETER_VALUE",
            "'name'", "expected a string", "['a']")
    refused(api("POST", "/experiments/create", json={"name": "x", "tags": {"k": "v"}}), 400,
            "INVALID_PARAMETER_VALUE", "'tags'", "expected a list")
    refused(api("POST", "/experiments/create", json={"name": "x", "tags": [{"key": 1}]}), 400,
            "INVALID_PARAMETER_VALUE", "'tags[0].key'")
    name = _name("dup")
    ok(api("POST", "/experiments/create", json={"name": name}))
    refused(api("POST", "/experiments/create", json={"name": name}), 400, "RESOURCE_ALREADY_EXISTS")
    refused(api("GET", "/experiments/search", params={"max_results": "many"}), 400, "INVALID_PARAMETER_VALUE",
            "'max_results'", "expected an integer")
    refused(api("GET", "/experiments/search", params={"view_type": "SOME"}), 400, "INVALID_PARAMETER_VALUE",
            "'view_type'")
    refused(api("POST", "/experiments/search", json={"max_results": 50001}), 400, "INVALID_PARAMETER_VALUE",
            "between 1 and 50000")
    refused(api("POST", "/experiments/delete", json={"experiment_id": "987654"}), 404, "RESOURCE_DOES_NOT_EXIST")
    refused(shared_server.client.post("/api/2.0/mlflow/experiments/create", content=b"{not json"), 400,
            "BAD_REQUEST", "not valid JSON")
    refused(shared_server.client.post("/api/2.0/mlflow/experiments/create", content=b"[1, 2]"), 400,
            "BAD_REQUEST", "must be a JSON object")


@pytest.mark.parametrize("location", [
    "file:///etc", "/etc", "s3://other-bucket/x", "http://169.254.169.254/latest", "mlflow-artifacts://evil:80/x",
    "mlflow-artifacts:/a/../../etc", "gs://bucket/x", "{root}/../escape", "{root}/a/%2e%2e/%2e%2e/x",
])
def test_artifact_location_outside_the_roots_is_refused(shared_server, location):
    location = location.format(root=shared_server.folder / "artifacts")
    message = refused(shared_server.api("POST", "/experiments/create", json={"name": _name("ssrf"),
                                                                            "artifact_location": location}),
                      400, "INVALID_PARAMETER_VALUE", "artifact_location")
    assert "Invalid artifact_location" in message


@pytest.mark.parametrize("location", ["mlflow-artifacts:/team-a", "{root}/team-b", "file://{root}/team-c"])
def test_artifact_location_under_a_root_is_kept(shared_server, location):
    location = location.format(root=shared_server.folder / "artifacts")
    experiment_id = ok(shared_server.api("POST", "/experiments/create", json={
        "name": _name("ok"), "artifact_location": location}))["experiment_id"]
    experiment = ok(shared_server.api("GET", "/experiments/get", params={"experiment_id": experiment_id}))
    assert experiment["experiment"]["artifact_location"].endswith(location.rsplit("/", 1)[-1])


# -- runs ------------------------------------------------------------------------------------------------------------

def test_run_lifecycle(shared_server, experiment_id, run_id):
    api = shared_server.api
    run = ok(api("GET", "/runs/get", params={"run_id": run_id}))["run"]
    info = run["info"]
    assert info["run_id"] == info["run_uuid"] == run_id and info["experiment_id"] == experiment_id
    assert info["status"] == "RUNNING" and info["start_time"] == 1000 and info["user_id"] == "ann"
    assert info["artifact_uri"] == f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"
    assert {"key": "team", "value": "a"} in run["data"]["tags"]
    assert ok(api("GET", "/runs/get", params={"run_uuid": run_id}))["run"]["info"] == info

    updated = ok(api("POST", "/runs/update", json={"run_id": run_id, "status": "FINISHED", "end_time": 2000,
                                                   "run_name": "renamed"}))["run_info"]
    assert updated["status"] == "FINISHED" and updated["end_time"] == 2000 and updated["run_name"] == "renamed"
    ok(api("POST", "/runs/delete", json={"run_id": run_id}))
    assert ok(api("GET", "/runs/get", params={"run_id": run_id}))["run"]["info"]["lifecycle_stage"] == "deleted"
    ok(api("POST", "/runs/restore", json={"run_id": run_id}))
    assert ok(api("GET", "/runs/get", params={"run_id": run_id}))["run"]["info"]["lifecycle_stage"] == "active"


def test_logging_params_metrics_tags(shared_server, run_id):
    api = shared_server.api
    ok(api("POST", "/runs/log-parameter", json={"run_id": run_id, "key": "lr", "value": "0.1"}))
    ok(api("POST", "/runs/log-metric", json={"run_uuid": run_id, "key": "loss", "value": 0.5, "timestamp": 10,
                                             "step": 1}))
    ok(api("POST", "/runs/log-metric", json={"run_id": run_id, "key": "loss", "value": "NaN", "timestamp": "11",
                                             "step": "2"}))
    ok(api("POST", "/runs/set-tag", json={"run_id": run_id, "key": "t", "value": "v"}))
    ok(api("POST", "/runs/set-tag", json={"run_id": run_id, "key": "gone", "value": "v"}))
    ok(api("POST", "/runs/delete-tag", json={"run_id": run_id, "key": "gone"}))
    data = ok(api("GET", "/runs/get", params={"run_id": run_id}))["run"]["data"]
    assert data["params"] == [{"key": "lr", "value": "0.1"}]
    assert data["metrics"] == [{"key": "loss", "value": "NaN", "timestamp": 11, "step": 2}]
    tags = {t["key"]: t["value"] for t in data["tags"]}
    assert tags["t"] == "v" and "gone" not in tags


def test_log_batch_and_history_paging(shared_server, run_id):
    api = shared_server.api
    metrics = [{"key": "acc", "value": i / 10, "timestamp": 100 + i, "step": i} for i in range(5)]
    ok(api("POST", "/runs/log-batch", json={"run_id": run_id, "metrics": metrics,
                                            "params": [{"key": "p", "value": "1"}],
                                            "tags": [{"key": "b", "value": "2"}]}))
    page = ok(api("GET", "/metrics/get-history", params={"run_id": run_id, "metric_key": "acc", "max_results": 3}))
    assert [m["step"] for m in page["metrics"]] == [0, 1, 2]
    assert page["metrics"][1] == {"key": "acc", "value": 0.1, "timestamp": 101, "step": 1}
    rest = ok(api("GET", "/metrics/get-history", params={"run_id": run_id, "metric_key": "acc",
                                                         "max_results": 3, "page_token": page["next_page_token"]}))
    assert [m["step"] for m in rest["metrics"]] == [3, 4] and "next_page_token" not in rest
    everything = ok(api("GET", "/metrics/get-history", params={"run_id": run_id, "metric_key": "acc"}))
    assert len(everything["metrics"]) == 5
    assert ok(api("GET", "/metrics/get-history", params={"run_id": run_id, "metric_key": "none"})) == {
        "metrics": []}


def test_log_batch_limits(shared_server, run_id):
    api = shared_server.api
    metric = {"key": "m", "value": 1, "timestamp": 1}
    refused(api("POST", "/runs/log-batch", json={"run_id": run_id, "metrics": [metric] * 1001}), 400,
            "INVALID_PARAMETER_VALUE", "'metrics'", "at most 1000")
    params = [{"key": f"p{i}", "value": "v"} for i in range(101)]
    refused(api("POST", "/runs/log-batch", json={"run_id": run_id, "params": params}), 400,
            "INVALID_PARAMETER_VALUE", "'params'", "at most 100")
    refused(api("POST", "/runs/log-batch", json={"run_id": run_id, "tags": params}), 400,
            "INVALID_PARAMETER_VALUE", "'tags'", "at most 100")
    refused(api("POST", "/runs/log-batch", json={"run_id": run_id, "metrics": [metric] * 1000,
                                                 "params": params[:50]}), 400, "INVALID_PARAMETER_VALUE", "1000")
    refused(api("POST", "/runs/log-batch", json={"run_id": run_id, "metrics": [{"key": "m", "value": "high",
                                                                                 "timestamp": 1}]}),
            400, "INVALID_PARAMETER_VALUE", "'metrics[0].value'", "expected a number", "'high'")
    refused(api("POST", "/runs/log-batch", json={"run_id": run_id, "metrics": [{"key": "m", "value": 1}]}),
            400, "INVALID_PARAMETER_VALUE", "'metrics[0].timestamp'")
    refused(api("POST", "/runs/log-batch", json={"metrics": [metric]}), 400, "INVALID_PARAMETER_VALUE", "run_id")
    ok(api("POST", "/runs/log-batch", json={"run_id": run_id, "metrics": [metric] * 1000}))


def test_run_refusals(shared_server, run_id):
    api = shared_server.api
    missing = uuid.uuid4().hex
    refused(api("GET", "/runs/get", params={"run_id": missing}), 404, "RESOURCE_DOES_NOT_EXIST", missing)
    refused(api("GET", "/runs/get"), 400, "INVALID_PARAMETER_VALUE", "run_id")
    refused(api("POST", "/runs/create", json={"experiment_id": "987654"}), 404, "RESOURCE_DOES_NOT_EXIST")
    refused(api("POST", "/runs/create", json={"start_time": "yesterday"}), 400, "INVALID_PARAMETER_VALUE",
            "'start_time'", "expected an integer")
    refused(api("POST", "/runs/update", json={"run_id": run_id, "status": "DONE"}), 400,
            "INVALID_PARAMETER_VALUE", "'status'", "RUNNING")
    refused(api("POST", "/runs/log-metric", json={"run_id": run_id, "key": "m", "timestamp": 1}), 400,
            "INVALID_PARAMETER_VALUE", "'value'")
    refused(api("POST", "/runs/log-metric", json={"run_id": missing, "key": "m", "value": 1, "timestamp": 1}),
            404, "RESOURCE_DOES_NOT_EXIST")
    refused(api("POST", "/runs/log-parameter", json={"run_id": run_id, "key": 5, "value": "v"}), 400,
            "INVALID_PARAMETER_VALUE", "'key'")
    refused(api("POST", "/runs/delete", json={}), 400, "INVALID_PARAMETER_VALUE", "'run_id'")
    refused(api("POST", "/runs/delete-tag", json={"run_id": run_id, "key": "never-set"}), 404,
            "RESOURCE_DOES_NOT_EXIST")
    refused(api("GET", "/metrics/get-history", params={"run_id": run_id}), 400, "INVALID_PARAMETER_VALUE",
            "'metric_key'")
    refused(api("GET", "/metrics/get-history", params={"run_id": run_id, "metric_key": "m", "max_results": 0}),
            400, "INVALID_PARAMETER_VALUE", "'max_results'")


def test_search_runs(shared_server, experiment_id):
    api = shared_server.api
    for i in range(4):
        run_id = ok(api("POST", "/runs/create", json={"experiment_id": experiment_id, "start_time": i}))["run"][
            "info"]["run_id"]
        ok(api("POST", "/runs/log-batch", json={"run_id": run_id, "metrics": [
            {"key": "score", "value": i, "timestamp": 1, "step": 0}], "params": [{"key": "i", "value": str(i)}]}))
    body = {"experiment_ids": [experiment_id], "filter": "metrics.score >= 1", "order_by": ["metrics.score DESC"],
            "max_results": 2}
    first = ok(api("POST", "/runs/search", json=body))
    assert [r["data"]["params"][0]["value"] for r in first["runs"]] == ["3", "2"]
    second = ok(api("POST", "/runs/search", json={**body, "page_token": first["next_page_token"]}))
    assert [r["data"]["params"][0]["value"] for r in second["runs"]] == ["1"]
    refused(api("POST", "/runs/search", json={**body, "max_results": 50001}), 400, "INVALID_PARAMETER_VALUE",
            "50000")
    ok(api("POST", "/runs/search", json={**body, "max_results": 50000}))
    refused(api("POST", "/runs/search", json={**body, "filter": "metrics.score >>> 1"}), 400,
            "INVALID_PARAMETER_VALUE")
    refused(api("POST", "/runs/search", json={**body, "experiment_ids": "1"}), 400, "INVALID_PARAMETER_VALUE",
            "'experiment_ids'")
    refused(api("POST", "/runs/search", json={**body, "page_token": "garbage"}), 400, "INVALID_PARAMETER_VALUE")
    deleted = ok(api("POST", "/runs/search", json={"experiment_ids": [experiment_id],
                                                   "run_view_type": "DELETED_ONLY"}))
    assert deleted == {"runs": []}


def test_log_inputs_and_outputs(shared_server, experiment_id, run_id):
    api = shared_server.api
    model_id = ok(api("POST", "/logged-models", json={"experiment_id": experiment_id}))["model"]["info"]["model_id"]
    dataset = {"name": "iris", "digest": "abc123", "source_type": "local", "source": '{"uri": "/d"}',
               "schema": '{"mlflow_colspec": []}'}
    ok(api("POST", "/runs/log-inputs", json={"run_id": run_id, "datasets": [
        {"dataset": dataset, "tags": [{"key": "mlflow.data.context", "value": "training"}]}],
        "models": [{"model_id": model_id}]}))
    ok(api("POST", "/runs/outputs", json={"run_id": run_id, "models": [{"model_id": model_id, "step": 0}]}))
    inputs = ok(api("GET", "/runs/get", params={"run_id": run_id}))["run"]["inputs"]
    assert inputs["dataset_inputs"] == [{"dataset": dataset, "tags": [{"key": "mlflow.data.context",
                                                                       "value": "training"}]}]
    assert inputs["model_inputs"] == [{"model_id": model_id}]
    refused(api("POST", "/runs/log-inputs", json={"run_id": run_id, "datasets": [{"tags": []}]}), 400,
            "INVALID_PARAMETER_VALUE", "'datasets[0].dataset'")
    refused(api("POST", "/runs/log-inputs", json={"run_id": run_id, "datasets": [{"dataset": {"name": "x"}}]}),
            400, "INVALID_PARAMETER_VALUE", "'datasets[0].dataset.digest'")


def test_log_model_history_tag(shared_server, run_id):
    api = shared_server.api
    ok(api("POST", "/runs/log-model", json={"run_id": run_id, "model_json": '{"artifact_path": "m"}'}))
    ok(api("POST", "/runs/log-model", json={"run_id": run_id, "model_json": '{"artifact_path": "n"}'}))
    tags = {t["key"]: t["value"] for t in ok(api("GET", "/runs/get", params={"run_id": run_id}))["run"]["data"]["tags"]}
    assert tags["mlflow.log-model.history"] == '[{"artifact_path": "m"}, {"artifact_path": "n"}]'
    refused(api("POST", "/runs/log-model", json={"run_id": run_id, "model_json": "not json"}), 400,
            "INVALID_PARAMETER_VALUE", "'model_json'")


# -- metrics: bulk interval ------------------------------------------------------------------------------------------

def test_history_bulk_interval_samples_each_run(shared_server, experiment_id):
    api = shared_server.api
    run_ids = []
    for n in (10, 3):
        run_id = ok(api("POST", "/runs/create", json={"experiment_id": experiment_id}))["run"]["info"]["run_id"]
        ok(api("POST", "/runs/log-batch", json={"run_id": run_id, "metrics": [
            {"key": "loss", "value": 1 / (s + 1), "timestamp": s, "step": s} for s in range(n)]}))
        run_ids.append(run_id)
    got = ok(api("GET", "/metrics/get-history-bulk-interval",
                 params={"run_ids": run_ids, "metric_key": "loss", "max_results": 4}))["metrics"]
    by_run = {run_id: [m["step"] for m in got if m["run_id"] == run_id] for run_id in run_ids}
    assert by_run[run_ids[0]] == [0, 3, 6, 9]  # NTILE(4) over 10 rows starts at 0, 3, 6, 8; the last (9) replaces 8
    assert by_run[run_ids[1]] == [0, 1, 2]
    assert math.isclose(got[0]["value"], 1.0) and {"key", "value", "timestamp", "step", "run_id"} == set(got[0])
    ranged = ok(api("GET", "/metrics/get-history-bulk-interval", params={
        "run_ids": run_ids[0], "metric_key": "loss", "start_step": 2, "end_step": 5}))["metrics"]
    assert [m["step"] for m in ranged] == [2, 3, 4, 5]
    refused(api("GET", "/metrics/get-history-bulk-interval", params={"run_ids": run_ids, "metric_key": "loss",
                                                                     "start_step": 2}),
            400, "INVALID_PARAMETER_VALUE", "both must be specified")
    refused(api("GET", "/metrics/get-history-bulk-interval", params={"run_ids": run_ids, "metric_key": "loss",
                                                                     "start_step": 5, "end_step": 2}),
            400, "INVALID_PARAMETER_VALUE", "end_step must be greater")
    refused(api("GET", "/metrics/get-history-bulk-interval", params={"metric_key": "loss"}), 400,
            "INVALID_PARAMETER_VALUE", "'run_ids'")
    refused(api("GET", "/metrics/get-history-bulk-interval", params={"run_ids": ["r"] * 101, "metric_key": "l"}),
            400, "INVALID_PARAMETER_VALUE", "at most 100")
    refused(api("GET", "/metrics/get-history-bulk-interval", params={"run_ids": run_ids, "metric_key": "loss",
                                                                     "max_results": 2501}),
            400, "INVALID_PARAMETER_VALUE", "2500")


# -- artifacts and logged models -------------------------------------------------------------------------------------

def test_artifacts_list_through_the_proxy(shared_server, run_id):
    client = shared_server.client
    info = ok(shared_server.api("GET", "/runs/get", params={"run_id": run_id}))["run"]["info"]
    relative = info["artifact_uri"].removeprefix("mlflow-artifacts:/")
    put = client.put(f"/api/2.0/mlflow-artifacts/artifacts/{relative}/dir/a.txt", content=b"hello")
    assert put.status_code == 200, put.text
    root = ok(shared_server.api("GET", "/artifacts/list", params={"run_id": run_id}))
    assert root == {"root_uri": info["artifact_uri"], "files": [{"path": "dir", "is_dir": True}]}
    inside = ok(shared_server.api("GET", "/artifacts/list", params={"run_id": run_id, "path": "dir"}))
    assert inside["files"] == [{"path": "dir/a.txt", "is_dir": False, "file_size": 5}]
    download = client.get("/get-artifact", params={"run_uuid": run_id, "path": "dir/a.txt"})
    assert download.status_code == 200 and download.content == b"hello"
    assert download.headers["content-type"].startswith("text/plain")
    assert "sandbox" in download.headers["content-security-policy"]
    refused(shared_server.api("GET", "/artifacts/list", params={"run_id": run_id, "path": "../.."}), 400,
            "INVALID_PARAMETER_VALUE")
    refused(client.get("/get-artifact", params={"run_uuid": run_id, "path": "../../../etc/passwd"}), 400,
            "INVALID_PARAMETER_VALUE")


def test_logged_model_lifecycle(shared_server, experiment_id, run_id):
    api, client = shared_server.api, shared_server.client
    created = ok(api("POST", "/logged-models", json={
        "experiment_id": experiment_id, "name": "clf", "model_type": "sklearn", "source_run_id": run_id,
        "params": [{"key": "alpha", "value": "0.5"}], "tags": [{"key": "t", "value": "1"}]}))["model"]
    model_id = created["info"]["model_id"]
    assert created["info"]["status"] == "LOGGED_MODEL_PENDING" and created["info"]["source_run_id"] == run_id
    assert created["data"]["params"] == [{"key": "alpha", "value": "0.5"}]
    path = f"/logged-models/{model_id}"
    assert ok(api("GET", path))["model"]["info"]["name"] == "clf"
    ok(api("POST", f"{path}/params", json={"params": [{"key": "beta", "value": "2"}]}))
    assert ok(api("PATCH", f"{path}/tags", json={"tags": [{"key": "stage", "value": "dev"}]})) == {}
    assert {"key": "stage", "value": "dev"} in ok(api("GET", path))["model"]["info"]["tags"]
    ok(api("DELETE", f"{path}/tags/stage"))
    final = ok(api("PATCH", path, json={"status": "LOGGED_MODEL_READY"}))["model"]
    assert final["info"]["status"] == "LOGGED_MODEL_READY"
    assert {"key": "beta", "value": "2"} in final["data"]["params"]
    assert {t["key"] for t in final["info"].get("tags", [])} == {"t"}

    found = ok(api("POST", "/logged-models/search", json={
        "experiment_ids": [experiment_id], "filter": f"source_run_id = '{run_id}'",
        "order_by": [{"field_name": "creation_timestamp", "ascending": False}], "max_results": 10}))
    assert [m["info"]["model_id"] for m in found["models"]] == [model_id]

    relative = final["info"]["artifact_uri"].removeprefix("mlflow-artifacts:/")
    assert client.put(f"/api/2.0/mlflow-artifacts/artifacts/{relative}/MLmodel", content=b"flavors: {}\n"
                      ).status_code == 200
    listing = ok(api("GET", f"{path}/artifacts/directories"))
    assert listing == {"root_uri": final["info"]["artifact_uri"],
                       "files": [{"path": "MLmodel", "is_dir": False, "file_size": 12}]}
    file = client.get(f"/ajax-api/2.0/mlflow{path}/artifacts/files", params={"artifact_file_path": "MLmodel"})
    assert file.status_code == 200 and file.content == b"flavors: {}\n"
    refused(client.get(f"/ajax-api/2.0/mlflow{path}/artifacts/files"), 400, "BAD_REQUEST", "artifact_file_path")
    refused(client.get(f"/ajax-api/2.0/mlflow{path}/artifacts/files", params={"artifact_file_path": "../x"}),
            400, "INVALID_PARAMETER_VALUE")

    ok(api("DELETE", path))
    refused(api("GET", path), 404, "RESOURCE_DOES_NOT_EXIST")


def test_logged_model_refusals(shared_server, experiment_id):
    api = shared_server.api
    refused(api("POST", "/logged-models", json={}), 400, "INVALID_PARAMETER_VALUE", "'experiment_id'")
    refused(api("POST", "/logged-models", json={"experiment_id": "987654"}), 404, "RESOURCE_DOES_NOT_EXIST")
    refused(api("GET", "/logged-models/m-missing"), 404, "RESOURCE_DOES_NOT_EXIST")
    model_id = ok(api("POST", "/logged-models", json={"experiment_id": experiment_id}))["model"]["info"]["model_id"]
    refused(api("PATCH", f"/logged-models/{model_id}", json={}), 400, "INVALID_PARAMETER_VALUE", "'status'")
    refused(api("PATCH", f"/logged-models/{model_id}", json={"status": "DONE"}), 400, "INVALID_PARAMETER_VALUE",
            "LOGGED_MODEL_READY")
    refused(api("PATCH", f"/logged-models/{model_id}", json={"status": "LOGGED_MODEL_STATUS_UNSPECIFIED"}), 400,
            "INVALID_PARAMETER_VALUE")
    refused(api("DELETE", f"/logged-models/{model_id}/tags/none"), 404, "RESOURCE_DOES_NOT_EXIST")
    refused(api("POST", "/logged-models/search", json={"order_by": ["name"]}), 400, "INVALID_PARAMETER_VALUE",
            "'order_by[0]'", "expected an object")
    refused(api("POST", "/logged-models/search", json={"max_results": 0}), 400, "INVALID_PARAMETER_VALUE",
            "'max_results'")


def test_history_bulk_for_the_ui(shared_server, experiment_id):
    api, client = shared_server.api, shared_server.client
    run_ids = []
    for offset in (0, 10):
        run_id = ok(api("POST", "/runs/create", json={"experiment_id": experiment_id}))["run"]["info"]["run_id"]
        ok(api("POST", "/runs/log-batch", json={"run_id": run_id, "metrics": [
            {"key": "acc", "value": s, "timestamp": offset + 3 - s, "step": s} for s in range(3)]}))
        run_ids.append(run_id)
    got = ok(client.get("/ajax-api/2.0/mlflow/metrics/get-history-bulk",
                        params={"run_id": run_ids, "metric_key": "acc", "max_results": 2}))["metrics"]
    for run_id in run_ids:
        assert [m["step"] for m in got if m["run_id"] == run_id] == [1, 0]  # the first two values, by timestamp
    refused(client.get("/ajax-api/2.0/mlflow/metrics/get-history-bulk", params={"metric_key": "acc"}), 400,
            "INVALID_PARAMETER_VALUE", "at least one run_id")


def test_model_version_artifact_download(shared_server, run_id):
    api, client = shared_server.api, shared_server.client
    info = ok(api("GET", "/runs/get", params={"run_id": run_id}))["run"]["info"]
    relative = info["artifact_uri"].removeprefix("mlflow-artifacts:/")
    assert client.put(f"/api/2.0/mlflow-artifacts/artifacts/{relative}/model/MLmodel", content=b"a: 1\n"
                      ).status_code == 200
    name = _name("mv-artifact")
    ok(api("POST", "/registered-models/create", json={"name": name}))
    ok(api("POST", "/model-versions/create", json={"name": name, "source": f"{info['artifact_uri']}/model",
                                                   "run_id": run_id}))
    file = client.get("/model-versions/get-artifact", params={"name": name, "version": "1", "path": "MLmodel"})
    assert file.status_code == 200, file.text
    assert file.content == b"a: 1\n"
    refused(client.get("/model-versions/get-artifact", params={"name": name, "version": "9", "path": "MLmodel"}),
            404, "RESOURCE_DOES_NOT_EXIST")
    refused(client.get("/model-versions/get-artifact", params={"name": name, "version": "1", "path": "../../x"}),
            400, "INVALID_PARAMETER_VALUE")


def test_nul_characters_are_refused(shared_server, run_id):
    refused(shared_server.api("POST", "/experiments/create", json={"name": "a\x00b"}), 400,
            "INVALID_PARAMETER_VALUE", "'name'", "NUL")
    refused(shared_server.api("POST", "/runs/log-batch", json={"run_id": run_id, "params": [
        {"key": "k", "value": "\x00"}]}), 400, "INVALID_PARAMETER_VALUE", "'params[0].value'")


def test_oversized_body_is_413(shared_server):
    body = b'{"name": "' + b"x" * (16 * 1024 * 1024) + b'"}'
    response = shared_server.client.post("/api/2.0/mlflow/experiments/create", content=body)
    refused(response, 413, "REQUEST_LIMIT_EXCEEDED", "limit")


def test_get_with_a_json_body_as_mlflow_reads_it(shared_server, experiment_id):
    response = shared_server.client.request("GET", "/api/2.0/mlflow/experiments/get",
                                            content=f'{{"experiment_id": "{experiment_id}"}}'.encode())
    assert ok(response)["experiment"]["experiment_id"] == experiment_id
